"""channels/tracker_store.py on a real SQLite file: the rows it writes are the rows Rasa's own
store writes, messages typed outside the form are masked on any turn, what the form still
needs is kept verbatim, the event broker still hears every turn, and a normal turn never
pays for a checkpoint. (The whole-conversation behaviour is in test_conversation_privacy.py.)"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rasa.core.brokers.sql import SQLEventBroker
from rasa.core.tracker_store import SQLTrackerStore as RasaSQLTrackerStore
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.events import ActionExecuted, BotUttered, Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config

from channels.tracker_store import SQLTrackerStore
from tests.conftest import ROOT
from tests.conversations import DANA
from tests.form_events import details, form_start, session_start, stop, user
from tests.test_conversation_privacy import DOMAIN, converse_with_store, midway, sqlite_store


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "conversations.sqlite3"


@pytest.fixture
def store(db: Path) -> Iterator[SQLTrackerStore]:
    created = sqlite_store(db)
    yield created
    created.engine.dispose()


def stored_rows(db: Path) -> list[dict[str, Any]]:
    """Rasa's `events` table as written, in order, without the row ids."""
    engine = sa.create_engine(f"sqlite:///{db}", future=True)
    with engine.connect() as connection:
        query = "SELECT sender_id, type_name, timestamp, intent_name, action_name, data FROM events ORDER BY id"
        rows = [dict(row) for row in connection.execute(sa.text(query)).mappings()]
    engine.dispose()
    return rows


def stored_user_texts(db: Path) -> list[str]:
    return [json.loads(row["data"])["text"] for row in stored_rows(db) if row["type_name"] == "user"]


def save_once(into: TrackerStore, sender: str, events: list[Event]) -> None:
    tracker = DialogueStateTracker.from_events(sender, events, slots=DOMAIN.slots)
    asyncio.run(into.save(tracker))


def test_the_rows_written_are_the_rows_rasas_own_store_writes(tmp_path):
    """Same columns as Rasa's save (reports and Rasa's queries read intent_name and action_name)."""
    events = [*session_start(), *user("hi", "greet"), ActionExecuted("utter_greet"), BotUttered("Hello!")]
    ours, rasas = sqlite_store(tmp_path / "ours.sqlite3"), RasaSQLTrackerStore(DOMAIN, db=str(tmp_path / "rasa.db"))
    for each in (ours, rasas):
        save_once(each, "visitor", events)
        each.engine.dispose()
    written = stored_rows(tmp_path / "ours.sqlite3")
    assert written == stored_rows(tmp_path / "rasa.db")
    assert ("user", "greet", None) in [(row["type_name"], row["intent_name"], row["action_name"]) for row in written]
    assert ("action", None, "utter_greet") in [(r["type_name"], r["intent_name"], r["action_name"]) for r in written]


def test_contact_details_typed_outside_the_form_are_masked_on_a_turn_without_a_new_session(store, db):
    """A new session redacts anyway; a later turn must mask on its own."""
    question = f"can I study online? write to {DANA.email} or call {DANA.phone}"
    tracker = converse_with_store(store, "visitor", [*session_start(), *user("hi", "greet")], user(question))
    assert tracker.latest_message is not None
    assert tracker.latest_message.text == "can I study online? write to [email] or call [phone]"
    assert stored_user_texts(db) == ["hi", "can I study online? write to [email] or call [phone]"]


def test_what_the_form_asked_for_is_stored_verbatim_while_the_form_needs_it(store, db):
    """The email and phone typed at their questions stay (the form reads them back); a phone
    number typed in the same turn outside the form's fields does not."""
    aside = [*user(f"or my office, {DANA.phone}", "ask_contact")]
    converse_with_store(store, "visitor", [*session_start(), *form_start()], details(DANA) + aside)
    texts = stored_user_texts(db)
    assert texts[-4:] == [DANA.name, DANA.email, DANA.phone, "or my office, [phone]"]


def test_the_event_broker_hears_each_new_event_once(tmp_path, db):
    broker = SQLEventBroker(db=str(tmp_path / "broker.sqlite3"))
    config = read_endpoint_config(str(ROOT / "endpoints.yml"), "tracker_store")
    config.kwargs["db"] = str(db)
    broadcasting = TrackerStore.create(config, domain=DOMAIN, event_broker=broker)
    assert isinstance(broadcasting, SQLTrackerStore)
    converse_with_store(broadcasting, "visitor", [*session_start(), *user("hi", "greet")], user("how long is it?"))
    broadcasting.engine.dispose()
    with broker.engine.connect() as connection:
        published = [json.loads(data) for (data,) in connection.execute(sa.text("SELECT data FROM events ORDER BY id"))]
    broker.engine.dispose()
    assert [event.get("text") for event in published if event["event"] == "user"] == ["hi", "how long is it?"]
    assert {event["sender_id"] for event in published} == {"visitor"}


def test_only_a_redacting_save_checkpoints_the_write_ahead_log(store):
    converse_with_store(store, "visitor", *midway())
    statements: list[str] = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    converse_with_store(store, "visitor", user("how long is it?", "ask_duration"))
    assert not [sql for sql in statements if "wal_checkpoint" in sql.lower()]
    converse_with_store(store, "visitor", stop())
    assert len([sql for sql in statements if "wal_checkpoint" in sql.lower()]) == 1


def test_the_domain_may_be_given_positionally_as_to_rasas_store(db):
    created = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(db))
    assert created.domain is DOMAIN
    created.engine.dispose()
