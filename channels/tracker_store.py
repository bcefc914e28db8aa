"""Rasa's SQL tracker store, with SQLite in write-ahead-log mode on a kept connection.

Profiling the Rasa server under load (README "Benchmark") put half its time in this store
with SQLite, all of it on the server's event loop, so every visitor waits for it:
- SQLite's defaults (rollback journal, synchronous=FULL) cost several fsyncs per saved turn.
  In WAL mode with synchronous=NORMAL a commit is one append to the log: conversations still
  survive a restart or crash of the Rasa server (only a power cut or OS crash can lose the
  last turns), and readers no longer wait for writers;
- SQLAlchemy 1.4 opens and closes a new SQLite connection for every session (NullPool), and
  closing the last connection checkpoints and deletes the log. A pool keeps one open.
Other databases (PostgreSQL...) are used exactly as by Rasa's SQL store.

endpoints.yml: `tracker_store: {type: channels.tracker_store.SQLTrackerStore, dialect: ..., db: ...}`
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from rasa.core import tracker_store

SQLITE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL")


def _set_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


class SQLTrackerStore(tracker_store.SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            # The server calls the store from its event loop thread only; the pool may
            # hand a connection to another thread, which is safe one session at a time.
            engine = sa.create_engine(self.engine.url, poolclass=sa.pool.QueuePool, connect_args={"check_same_thread": False})
            sa.event.listen(engine, "connect", _set_pragmas)
            self.engine.dispose()
            self.engine = engine
            self.sessionmaker.configure(bind=engine)
