"""actions/privacy/conversations.py, the conversation store as the action server and staff
reach it, on real SQLite files: where it is found, which conversations it reports, what it
redacts and deletes and the counts it gives back. (Whole sweeps are in test_retention.py.)"""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore as RasaSQLTrackerStore

from actions.privacy import conversations as module
from actions.privacy.conversations import (
    ConversationStore,
    checkpoint,
    endpoints_file,
    events,
    redact_conversation,
    set_sqlite_pragmas,
    store_url,
)
from actions.privacy.personal_slots import placeholder

T0 = 1_700_000_000.0  # a fixed clock: every event below is stamped relative to it


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "conversations.sqlite3"


@pytest.fixture
def conversations(db: Path):
    store = ConversationStore(f"sqlite:///{db}")
    yield store
    store.dispose()


def write(db: Path, sender: str, *stored: dict[str, Any], at: float = T0) -> None:
    """Events as the Rasa server's store writes them into its `events` table (WAL mode)."""
    engine = sa.create_engine(f"sqlite:///{db}", future=True)
    sa.event.listen(engine, "connect", set_sqlite_pragmas)
    events.metadata.create_all(engine)
    with engine.begin() as connection:
        for data in stored:
            connection.execute(
                events.insert().values(sender_id=sender, type_name=data["event"], timestamp=at, data=json.dumps(data))
            )
    engine.dispose()


def slot(name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "name": name, "value": value}


def said(text: str) -> dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": "inform"}}}


def stored(db: Path, sender: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(f"sqlite:///{db}", future=True)
    with engine.connect() as connection:
        rows = connection.execute(sa.select(events.c.data).where(events.c.sender_id == sender).order_by(events.c.id))
        found = [json.loads(data) for (data,) in rows]
    engine.dispose()
    return found


def form_left_with(email: str) -> list[dict[str, Any]]:
    """A form that asked for the email, got it, and was left unfinished."""
    return [slot("requested_slot", "lead_email"), said(email), slot("lead_email", email)]


# Where the store is


def test_the_endpoints_file_is_endpoints_yml_unless_set(monkeypatch, tmp_path):
    monkeypatch.delenv("ENDPOINTS_FILE", raising=False)
    assert endpoints_file() == Path("endpoints.yml")
    monkeypatch.setenv("ENDPOINTS_FILE", "")
    assert endpoints_file() == Path("endpoints.yml")
    monkeypatch.setenv("ENDPOINTS_FILE", str(tmp_path / "other.yml"))
    assert endpoints_file() == tmp_path / "other.yml"


def test_a_section_without_dialect_or_db_gets_rasas_defaults(tmp_path):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text("tracker_store:\n  type: SQL\n")
    assert str(store_url(endpoints)) == str(RasaSQLTrackerStore.get_db_url())  # sqlite:///rasa.db


def test_the_store_is_opened_from_the_endpoints_file_the_environment_names(monkeypatch, tmp_path, db):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(f"tracker_store:\n  type: channels.tracker_store.SQLTrackerStore\n  db: {db}\n")
    monkeypatch.setenv("ENDPOINTS_FILE", str(endpoints))
    write(db, "visitor", said("hi"))
    store = ConversationStore.from_endpoints()
    assert store is not None
    assert store.engine.url.database == str(db) and store.existing(["visitor"]) == ["visitor"]
    store.dispose()


def test_the_store_waits_for_the_rasa_servers_writes_rather_than_failing(conversations, db):
    """The Rasa server writes to the same file: a lock is waited for (30 s), not an error."""
    write(db, "visitor", said("hi"))
    with conversations.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
        assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1


# Which conversations


def test_idle_since_means_the_last_event_is_strictly_older(conversations, db):
    write(db, "visitor", said("hi"), at=T0)
    at = datetime.fromtimestamp(T0, timezone.utc)
    assert conversations.idle_since(at) == []
    assert conversations.idle_since(datetime.fromtimestamp(T0 + 1, timezone.utc)) == ["visitor"]


def test_only_real_values_of_personal_slots_count_as_held(conversations, db):
    write(db, "left", *form_left_with("dana@example.org"))
    write(db, "asked", slot("requested_slot", "lead_email"), slot("lead_email", None))
    write(db, "redacted", slot("requested_slot", "lead_phone"), slot("lead_phone", placeholder("phone")))
    senders = ["left", "asked", "redacted", "unknown"]
    assert conversations.holding_personal_values(senders) == ["left"]
    assert conversations.holding_personal_values(["asked"]) == []
    assert conversations.holding_personal_values([]) == []


def test_existing_reports_the_stored_conversations_only(conversations, db):
    assert conversations.existing(["a"]) == []  # no file yet: nothing, and no file made
    assert not db.exists()
    write(db, "a", said("hi"))
    write(db, "b", said("hi"), said("bye"))
    assert conversations.existing(["b", "a", "missing", "a"]) == ["a", "b"]
    assert conversations.existing([]) == []


# Redaction


def test_redact_counts_each_conversation_it_changed(conversations, db):
    write(db, "left-1", *form_left_with("dana@example.org"))
    write(db, "left-2", *form_left_with("sam@example.org"))
    write(db, "chat", said("hi"))
    assert conversations.redact(["left-1", "chat", "left-2"]) == 2
    assert [event.get("value") for event in stored(db, "left-1") if event["event"] == "slot"] == [
        "lead_email",
        placeholder("email"),
    ]
    assert conversations.redact(["left-1", "chat", "left-2"]) == 0  # idempotent


def test_redact_conversation_says_false_when_nothing_changed(db):
    write(db, "chat", said("hi"))
    engine = sa.create_engine(f"sqlite:///{db}", future=True)
    with engine.begin() as connection:
        assert redact_conversation(connection, "chat") is False
    engine.dispose()


def test_a_checkpoint_blocked_by_a_reader_is_logged(db, caplog):
    """A reader holding the old pages keeps the log; the operator is told, without any value."""
    write(db, "visitor", said("dana@example.org"))
    engine = sa.create_engine(f"sqlite:///{db}", future=True, connect_args={"timeout": 0})
    sa.event.listen(engine, "connect", set_sqlite_pragmas)
    reader = sqlite3.connect(db, timeout=0, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM events").fetchone()  # a read transaction, left open
    with engine.begin() as connection:
        connection.execute(events.update().values(data="{}"))
    with caplog.at_level(logging.WARNING, logger=module.__name__):
        checkpoint(engine)
    reader.close()
    engine.dispose()
    [record] = [r for r in caplog.records if r.name == module.__name__]
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith("conversation store: ") and "blocked by a reader" in record.getMessage()


# Deletion


def test_delete_counts_the_events_deleted(conversations, db):
    write(db, "a", said("hi"), said("bye"))
    write(db, "b", said("hi"))
    write(db, "kept", said("hi"))
    assert conversations.delete(["a", "b", "a"]) == 3
    assert conversations.existing(["a", "b", "kept"]) == ["kept"]
    assert conversations.delete(["a"]) == 0


def test_deleting_many_conversations_binds_at_most_500_senders_per_statement(conversations, db):
    senders = [f"visitor-{n:04}" for n in range(1001)]
    engine = sa.create_engine(f"sqlite:///{db}", future=True)
    events.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            events.insert(), [{"sender_id": s, "type_name": "user", "timestamp": T0, "data": "{}"} for s in senders]
        )
    engine.dispose()
    bound: list[int] = []

    def note(_conn: Any, _cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
        if sql.lstrip().upper().startswith("DELETE"):
            bound.append(len(parameters))

    sa.event.listen(conversations.engine, "before_cursor_execute", note)
    assert conversations.delete(senders) == 1001
    assert bound == [500, 500, 1]
    assert conversations.existing(senders) == []


def test_a_postgresql_store_is_never_taken_for_a_missing_sqlite_file():
    """An unreachable PostgreSQL store fails loudly (the sweep logs it, staff see exit 1) rather
    than look empty; its connections are checked before use (pre-ping), as Rasa's server
    restarts do not break them. Nothing listens on port 1: refused at once, no server needed."""
    store = ConversationStore("postgresql://rasa:secret@127.0.0.1:1/rasa")
    with pytest.raises(sa.exc.OperationalError):  # not a ProgrammingError: no SQLite options given
        store.idle_since(datetime.fromtimestamp(T0, timezone.utc))
    with pytest.raises(sa.exc.OperationalError):
        store.existing(["visitor"])
    assert store.engine.pool._pre_ping
    store.dispose()
