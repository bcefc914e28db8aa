"""Contact details leave the conversation store (issue 9): our tracker store on a real SQLite
file, then the real Rasa and action servers over REST on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config

from actions.knowledge import load_knowledge
from channels.tracker_store import SQLTrackerStore
from tests.conftest import ROOT
from tests.conversations import DANA, HEALTH_IT, Person, Scripts
from tests.form_events import details, file_traces, form_start, session_start, stop, summary_and_submit, traces, user
from tests.replies import load_replies
from tests.servers import (
    action_server,
    converse,
    postgres_server,
    project_endpoints,
    rasa_process,
    rasa_server,
    say,
    texts,
)

DOMAIN = Domain.load(str(ROOT / "domain.yml"))


def sqlite_store(db: Path) -> SQLTrackerStore:
    """The store endpoints.yml names, on a file of the test's own."""
    config = read_endpoint_config(str(ROOT / "endpoints.yml"), "tracker_store")
    config.kwargs["db"] = str(db)
    created = TrackerStore.create(config, domain=DOMAIN)
    assert isinstance(created, SQLTrackerStore)
    return created


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "conversations.sqlite3"


@pytest.fixture
def store(db: Path) -> Iterator[SQLTrackerStore]:
    created = sqlite_store(db)
    yield created
    created.engine.dispose()


def store_files(db: Path) -> list[Path]:
    """The database file and, when they exist, its write-ahead log and shared-memory index."""
    return [path for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if path.exists()]


def converse_with_store(store: SQLTrackerStore, sender: str, *turns: list[Event]) -> DialogueStateTracker:
    """Each turn read from the store, its events added, and saved: as the Rasa server does."""

    async def run() -> DialogueStateTracker:
        tracker = await store.get_or_create_tracker(sender, append_action_listen=False)
        for events in turns:
            tracker = await store.retrieve(sender) or tracker
            for event in events:
                event.timestamp = time.time()  # made now, as Rasa makes a turn's events
                tracker.update(event)
            await store.save(tracker)
        found = await store.retrieve(sender)
        assert found is not None
        return found

    return asyncio.run(run())


def midway(person: Person = DANA) -> list[list[Event]]:
    """Turns up to the program question: the name, email and phone given."""
    return [[*session_start(), *form_start()], details(person)]


# The store, on a real SQLite file


def test_the_details_stay_while_the_form_is_open(store, db):
    tracker = converse_with_store(store, "visitor", *midway())
    assert (tracker.get_slot("lead_name"), tracker.get_slot("lead_phone")) == (DANA.name, DANA.stored_phone)
    assert tracker.active_loop_name == "inquiry_form"
    assert file_traces(DANA, store_files(db))  # the search finds them while they are needed


@pytest.mark.parametrize("ending", [summary_and_submit(DANA), stop()], ids=["lead saved", "form stopped"])
def test_no_trace_in_the_files_once_the_form_ends(store, db, ending):
    tracker = converse_with_store(store, "visitor", *midway(), ending)
    assert file_traces(DANA, store_files(db)) == []
    said = [event.text for event in tracker.events if getattr(event, "text", None)]
    assert "[name]" in said and "[email]" in said and "[phone]" in said
    store.engine.dispose()  # closing the kept connection writes nothing back
    assert file_traces(DANA, store_files(db)) == []


def test_no_trace_in_the_files_when_the_form_ends_after_a_restart(store, db):
    """The restart wrote the details into the database file itself (closing the last
    connection checkpoints the log): the redaction must overwrite them there too."""
    converse_with_store(store, "visitor", *midway())
    store.engine.dispose()
    assert not Path(f"{db}-wal").exists() and file_traces(DANA, [db])
    converse_with_store(sqlite_store(db), "visitor", stop())
    assert file_traces(DANA, store_files(db)) == []


def test_a_new_session_redacts_a_form_left_unfinished(store, db):
    converse_with_store(store, "visitor", *midway(), [*session_start(), *user("hi", "greet")])
    assert file_traces(DANA, store_files(db)) == []


def test_a_lead_that_failed_to_save_keeps_the_details_to_confirm_again(store, db):
    failed = [event for event in summary_and_submit(DANA) if not isinstance(event, SlotSet) or event.value is not None]
    tracker = converse_with_store(store, "visitor", *midway(), failed)
    assert tracker.active_loop_name is None and tracker.get_slot("lead_email") == DANA.email
    assert file_traces(DANA, store_files(db))


def test_contact_details_typed_outside_the_form_are_stored_masked(store, db):
    question = f"can I study online? write to {DANA.email} or call {DANA.phone}"
    tracker = converse_with_store(store, "visitor", [*session_start(), *user(question, "ask_delivery")])
    assert tracker.latest_message is not None
    assert tracker.latest_message.text == "can I study online? write to [email] or call [phone]"
    assert file_traces(DANA, store_files(db)) == []


def test_other_visitors_conversations_are_left_alone(store):
    converse_with_store(store, "other", *midway())
    converse_with_store(store, "visitor", *midway(), stop())
    other = asyncio.run(store.retrieve("other"))
    assert other is not None and other.get_slot("lead_email") == DANA.email


def test_a_normal_turn_only_appends(store, monkeypatch):
    """The redaction runs when a form ends or a session starts, never on an ordinary turn."""
    converse_with_store(store, "visitor", [*session_start(), *user("hi", "greet")])
    redactions: list[str] = []
    redact = store._redact_stored_events

    def noting(session: Any, sender_id: str) -> bool:
        redactions.append(sender_id)
        return redact(session, sender_id)

    monkeypatch.setattr(store, "_redact_stored_events", noting)
    statements: list[str] = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    converse_with_store(store, "visitor", user("how long is it?", "ask_duration"), *midway()[1:])
    writes = [sql.split()[0].upper() for sql in statements if not sql.lstrip().upper().startswith(("SELECT", "PRAGMA"))]
    assert writes and set(writes) == {"INSERT"} and redactions == []
    converse_with_store(store, "visitor", stop())
    assert redactions == ["visitor"]


# The real servers over REST


def raw_sqlite_traces(workdir: Path) -> list[str]:
    return file_traces(DANA, [path for path in workdir.iterdir() if path.name.startswith("conversations.sqlite3")])


@pytest.fixture(scope="module")
def scripts() -> Scripts:
    return Scripts(load_knowledge(), load_replies())


def form_turns(scripts: Scripts, repeat: bool = False) -> list[tuple[str, Any]]:
    """Dana's inquiry; `repeat`: Dana's second today, which updates the first."""
    return scripts.form(DANA, scripts.program(HEALTH_IT), repeat=repeat)


def stopped_turns(scripts: Scripts) -> list[tuple[str, Any]]:
    """The name, email and phone given, then "never mind" and "yes": the form stops."""
    return [
        *form_turns(scripts)[:4],
        ("never mind", scripts.say("reply_confirm_stop")),
        ("yes", scripts.say("reply_inquiry_cancelled", phone=scripts.kb.admissions.phone)),
    ]


@pytest.mark.slow
def test_over_rest_no_trace_in_the_sqlite_files_after_saved_stopped_and_restarted_forms(tmp_path, scripts):
    form = form_turns(scripts)
    with action_server(tmp_path) as actions:
        with rasa_server(tmp_path, actions) as url:
            converse(url, f"saved-{uuid.uuid4()}", form)
            converse(url, f"stopped-{uuid.uuid4()}", stopped_turns(scripts))
            restarted, again = f"restarted-{uuid.uuid4()}", form_turns(scripts, repeat=True)
            converse(url, restarted, again[:3])  # the name and email given
            assert raw_sqlite_traces(tmp_path)  # kept while the form is open
        with rasa_server(tmp_path, actions) as url:  # a new Rasa server process, same store
            converse(url, restarted, again[3:])  # the form still knows the name and email
    assert raw_sqlite_traces(tmp_path) == []


@pytest.mark.slow
def test_over_rest_no_trace_in_the_postgresql_table(tmp_path, scripts):
    with postgres_server() as postgres, action_server(tmp_path) as actions:
        url = sa.engine.make_url(postgres.url)
        endpoints = postgres_endpoints(actions, url)
        with rasa_process(tmp_path, endpoints) as (_, webhook):
            converse(webhook, f"saved-{uuid.uuid4()}", form_turns(scripts))
            converse(webhook, f"stopped-{uuid.uuid4()}", stopped_turns(scripts))
            midway_sender = f"open-{uuid.uuid4()}"
            converse(webhook, midway_sender, form_turns(scripts)[:4])
            assert traces(DANA, dumped_events(postgres.url))  # kept while the form is open
            converse(webhook, midway_sender, form_turns(scripts, repeat=True)[4:])
            assert DANA.stored_phone not in texts(say(webhook, midway_sender, "how long is it?"))
        assert traces(DANA, dumped_events(postgres.url)) == []


def postgres_endpoints(action_url: str, url: sa.engine.URL) -> str:
    """endpoints.yml with the tracker store on PostgreSQL, as its comment describes."""
    text = project_endpoints(action_url, Path("unused"))
    sqlite = 'dialect: "sqlite"\n  db: "unused"'
    assert sqlite in text
    postgres = (
        f'dialect: "postgresql"\n  url: "{url.host}"\n  port: {url.port}\n  db: "{url.database}"\n'
        f'  username: "{url.username}"'
    )
    return text.replace(sqlite, postgres)


def dumped_events(database_url: str) -> str:
    """Every column of every row of the `events` table, as text."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT * FROM events ORDER BY id").all()
    finally:
        engine.dispose()
    assert rows
    return "\n".join(" ".join(str(value) for value in row) for row in rows)
