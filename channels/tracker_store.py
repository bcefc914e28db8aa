"""Rasa's SQL tracker store, with SQLite in write-ahead-log mode on a kept connection.

Profiling the Rasa server under load (README "Benchmark") put half its time in this store
with SQLite, all of it on the server's event loop, so every visitor waits for it:
- SQLite's defaults (rollback journal, synchronous=FULL) cost several fsyncs per saved turn.
  In WAL mode with synchronous=NORMAL a commit is one append to the log: conversations still
  survive a restart or crash of the Rasa server (only a power cut or OS crash can lose the
  last turns), and readers no longer wait for writers;
- SQLAlchemy 1.4 opens and closes a new SQLite connection for every session (NullPool), and
  closing the last connection checkpoints and deletes the log. A pool keeps one open;
- saving a turn first counts the conversation's stored events (to know which are new),
  although the turn began by reading exactly those events. With SQLite (one Rasa server
  per file) the count from that read is used, once; any other save counts as Rasa does.
Other databases (PostgreSQL...) are used exactly as by Rasa's SQL store.

endpoints.yml: `tracker_store: {type: channels.tracker_store.SQLTrackerStore, dialect: ..., db: ...}`
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from rasa.core import tracker_store
from rasa.shared.core.trackers import DialogueStateTracker

SQLITE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL")
# Conversations read and not yet saved (one per visitor being answered right now).
MAX_REMEMBERED_COUNTS = 10_000


def _set_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


class SQLTrackerStore(tracker_store.SQLTrackerStore):
    engine: sa.engine.Engine  # set by Rasa's __init__, which declares no type for it

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stored_counts: OrderedDict[str, int] | None = None
        if self.engine.dialect.name == "sqlite":
            self._stored_counts = OrderedDict()
            # The server calls the store from its event loop thread only; the pool may
            # hand a connection to another thread, which is safe one session at a time.
            engine = sa.create_engine(
                self.engine.url, poolclass=sa.pool.QueuePool, connect_args={"check_same_thread": False}
            )
            sa.event.listen(engine, "connect", _set_pragmas)
            self.engine.dispose()
            self.engine = engine
            self.sessionmaker.configure(bind=engine)

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> DialogueStateTracker | None:
        tracker = await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        if self._stored_counts is None:
            return tracker
        self._stored_counts.pop(sender_id, None)
        if tracker is not None and not fetch_events_from_all_sessions:
            # Exactly the events _additional_events would count: this session's, as stored.
            self._stored_counts[sender_id] = len(tracker.events)
            while len(self._stored_counts) > MAX_REMEMBERED_COUNTS:
                self._stored_counts.popitem(last=False)
        return tracker

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator:
        stored = self._stored_counts.pop(tracker.sender_id, None) if self._stored_counts is not None else None
        if stored is None:
            return super()._additional_events(session, tracker)
        return itertools.islice(tracker.events, stored, len(tracker.events))
