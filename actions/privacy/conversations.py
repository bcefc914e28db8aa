"""Rasa's conversation store (its SQL `events` table), as the action server and staff reach it.

Retention, erasure and the expired-session sweep run in the action server and the staff
command line, not in the Rasa server; they find the store where the Rasa server does, in the
`tracker_store` section of the endpoints file (ENDPOINTS_FILE, default endpoints.yml), with
its URL built as Rasa builds it, so there is one setting. The Rasa server's own store
(channels/tracker_store.py) redacts a conversation with the same `redact_conversation`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from actions.privacy.personal_slots import PERSONAL_SLOTS, placeholder
from actions.privacy.redaction import redact_events

logger = logging.getLogger(__name__)

ENDPOINTS_FILE_ENV = "ENDPOINTS_FILE"
DEFAULT_ENDPOINTS_FILE = "endpoints.yml"
# The tracker store types that keep conversations in Rasa's SQL `events` table.
SQL_STORE_TYPES = ("sql", "channels.tracker_store.SQLTrackerStore")
# secure_delete: space freed by a redaction or deletion is zeroed, not left with the old text.
SQLITE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA secure_delete=ON")

# Rasa's `events` table (rasa.core.tracker_store.SQLTrackerStore.SQLEvent), the columns used here
# and by the staff report (actions/insights/source.py).
events = sa.Table(
    "events",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)


def set_sqlite_pragmas(connection: Any, _record: Any) -> None:
    """SQLAlchemy "connect" listener for every connection to a SQLite conversation store."""
    cursor = connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def endpoints_file() -> Path:
    return Path(os.environ.get(ENDPOINTS_FILE_ENV) or DEFAULT_ENDPOINTS_FILE)


def store_url(endpoints: Path) -> sa.engine.URL | str | None:
    """The SQL conversation store's URL from the endpoints file; None when conversations are
    not kept in SQL (no tracker store: in memory; Redis...). Rasa expands ${VARIABLES} there too."""
    if not endpoints.exists():
        return None
    config = yaml.safe_load(os.path.expandvars(endpoints.read_text(encoding="utf-8"))) or {}
    section = config.get("tracker_store") or {}
    if str(section.get("type", "")).lower() not in {kind.lower() for kind in SQL_STORE_TYPES}:
        return None
    return rasa_db_url(
        dialect=section.get("dialect", "sqlite"),
        host=section.get("url"),
        port=section.get("port"),
        db=section.get("db", "rasa.db"),
        username=section.get("username"),
        password=section.get("password"),
        query=section.get("query"),
    )


def rasa_db_url(
    dialect: str,
    host: str | None,
    port: int | None,
    db: str,
    username: str | None,
    password: str | None,
    query: Mapping[str, Any] | None,
) -> sa.engine.URL | str:
    """As rasa.core.tracker_store.SQLTrackerStore.get_db_url builds it (Rasa 3.6): a host that is
    a whole URL is used as is; a host may carry its port. (login_db only matters to Rasa, which
    creates `db` through it.)"""
    if host and "://" in host:
        return host
    if host:
        from urllib import parse

        parsed = parse.urlsplit(f"scheme://{host}")
        port = parsed.port or port
        host = parsed.hostname or host
    return sa.engine.URL.create(dialect, username, password, host, port, database=db, query=dict(query or {}))


def redact_conversation(connection: sa.engine.Connection, sender_id: str) -> bool:
    """Rewrites the visitor's stored events without their contact details, in the caller's
    transaction; whether any changed. Rows keep their ids and number, so Rasa's count of
    stored events stays right."""
    rows = connection.execute(
        sa.select(events.c.id, events.c.data).where(events.c.sender_id == sender_id).order_by(events.c.id)
    ).all()
    stored = [json.loads(row.data) for row in rows]
    changed = False
    for row, before, after in zip(rows, stored, redact_events(stored, PERSONAL_SLOTS), strict=True):
        if after != before:
            connection.execute(events.update().where(events.c.id == row.id).values(data=json.dumps(after)))
            changed = True
    return changed


def checkpoint(engine: sa.engine.Engine) -> None:
    """SQLite: copies the write-ahead log into the database file and empties it, so the page
    images from before a redaction or deletion are gone from disk. Other databases: nothing."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        busy, _log_pages, _copied = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    if busy:
        # A reader held the log: its old pages stay until the next checkpoint.
        logger.warning("conversation store: a checkpoint was blocked by a reader")


class ConversationStore:
    """Whole conversations (all of a sender's events): find old ones, redact, delete."""

    def __init__(self, url: sa.engine.URL | str) -> None:
        parsed = sa.engine.make_url(url)
        # SQLite: a file the Rasa server has not made yet is not created here (as an empty one).
        self._sqlite_file = Path(parsed.database or "") if parsed.get_backend_name() == "sqlite" else None
        options = {"connect_args": {"timeout": 30}} if self._sqlite_file else {"pool_pre_ping": True}
        self.engine = sa.create_engine(parsed, future=True, **options)
        if self._sqlite_file:
            sa.event.listen(self.engine, "connect", set_sqlite_pragmas)

    @classmethod
    def from_endpoints(cls, endpoints: Path | None = None) -> ConversationStore | None:
        """The store the Rasa server uses; None when it keeps no SQL conversations."""
        url = store_url(endpoints or endpoints_file())
        return cls(url) if url is not None else None

    def _has_table(self) -> bool:
        """Rasa creates the table on its first start: before that there is nothing to manage."""
        if self._sqlite_file is not None and not self._sqlite_file.is_file():
            return False
        with self.engine.connect() as connection:
            return sa.inspect(connection).has_table("events")

    def idle_since(self, cutoff: datetime) -> list[str]:
        """Senders whose last event is older than `cutoff`."""
        if not self._has_table():
            return []
        last = sa.func.max(events.c.timestamp)
        query = sa.select(events.c.sender_id).group_by(events.c.sender_id).having(last < cutoff.timestamp())
        with self.engine.connect() as connection:
            return list(connection.execute(query).scalars())

    def holding_personal_values(self, sender_ids: Iterable[str]) -> list[str]:
        """Of these senders, those whose stored personal slots still hold a value (a form left
        unfinished); a redacted conversation holds only placeholders."""
        wanted = set(sender_ids)
        if not wanted:
            return []
        # Only the personal slots' events are read and parsed, not whole conversations.
        named = sa.or_(*(events.c.data.like(f'%"{slot}"%') for slot in PERSONAL_SLOTS))
        query = sa.select(events.c.sender_id, events.c.data).where(events.c.type_name == "slot", named)
        holding: set[str] = set()
        with self.engine.connect() as connection:
            for sender_id, data in connection.execute(query):
                if sender_id in wanted and sender_id not in holding and _holds_personal_value(json.loads(data)):
                    holding.add(sender_id)
        return sorted(holding)

    def redact(self, sender_ids: Iterable[str]) -> int:
        """Redact each conversation, one transaction each; how many changed."""
        changed = 0
        for sender_id in sender_ids:
            with self.engine.begin() as connection:
                changed += redact_conversation(connection, sender_id)
        if changed:
            checkpoint(self.engine)
        return changed

    def existing(self, sender_ids: Iterable[str]) -> list[str]:
        """Of these senders, those with a stored conversation."""
        wanted = sorted(set(sender_ids))
        if not wanted or not self._has_table():
            return []
        query = sa.select(events.c.sender_id).distinct().where(events.c.sender_id.in_(wanted))
        with self.engine.connect() as connection:
            return sorted(connection.execute(query).scalars())

    def delete(self, sender_ids: Iterable[str]) -> int:
        """Delete these conversations, every event of each, in one transaction; how many events."""
        ids = sorted(set(sender_ids))
        if not ids or not self._has_table():
            return 0
        deleted = 0
        with self.engine.begin() as connection:
            for start in range(0, len(ids), 500):  # bound the number of parameters per statement
                chunk = ids[start : start + 500]
                deleted += connection.execute(events.delete().where(events.c.sender_id.in_(chunk))).rowcount
        checkpoint(self.engine)
        return int(deleted)

    def dispose(self) -> None:
        self.engine.dispose()


def _holds_personal_value(event: Mapping[str, Any]) -> bool:
    slot = event.get("name")
    if slot not in PERSONAL_SLOTS:
        return False
    value = event.get("value")
    return value is not None and value != placeholder(PERSONAL_SLOTS[slot])
