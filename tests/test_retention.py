"""Retention (issue 9): the conversation store found where Rasa finds it, the expired-session
sweep, the purge (library, background worker and staff command) with an injected clock, the
retention settings, and the retention migration (0003) on a database holding leads."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from rasa.core.tracker_store import SQLTrackerStore as RasaSQLTrackerStore

from actions.inquiry import migrate, runtime
from actions.inquiry.store import DELIVERED, LeadStore, utc_now
from actions.privacy.conversations import ConversationStore, store_url
from actions.privacy.personal_slots import PERSONAL_SLOTS, placeholder
from actions.privacy.retention import RetentionPolicy, RetentionWorker, purge, redact_expired, session_expiry
from tests.conversations import DANA, Person
from tests.form_events import file_traces, session_start, stop, user
from tests.servers import ROOT, quiet_env
from tests.test_conversation_privacy import converse_with_store, midway, sqlite_store, store_files
from tests.test_lead_store import empty_database, make_lead, postgres_url  # noqa: F401 (fixtures)

SAM = Person("Sam Okonkwo-Reyes", "sam.okonkwo@example.org", "423 555 0142", "+14235550142")
EXPIRY = session_expiry()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "conversations.sqlite3"


@pytest.fixture
def rasa_store(db: Path):
    """The Rasa server's store (channels/tracker_store.py) on the test's file: it writes the conversations."""
    created = sqlite_store(db)
    yield created
    created.engine.dispose()


@pytest.fixture
def conversations(db: Path):
    store = ConversationStore(f"sqlite:///{db}")
    yield store
    store.dispose()


@pytest.fixture
def leads(tmp_path: Path):
    store = LeadStore(f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    yield store
    store.dispose()


def age(db: Path, sender_id: str, by: timedelta) -> None:
    """Move a stored conversation back in time, as if it had happened `by` ago."""
    engine = sa.create_engine(f"sqlite:///{db}", future=True)
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE events SET timestamp = timestamp - :seconds WHERE sender_id = :sender"),
            {"seconds": by.total_seconds(), "sender": sender_id},
        )
    engine.dispose()


def senders(db: Path) -> set[str]:
    engine = sa.create_engine(f"sqlite:///{db}", future=True)
    with engine.connect() as connection:
        found = set(connection.execute(sa.text("SELECT DISTINCT sender_id FROM events")).scalars())
    engine.dispose()
    return found


def greeting() -> list[Any]:
    return [*session_start(), *user("hi", "greet")]


# Where the conversation store is


@pytest.mark.parametrize(
    "section",
    [
        {"dialect": "sqlite", "db": "runtime/conversations.sqlite3"},
        {"dialect": "postgresql", "url": "db.internal:6543", "db": "rasa", "username": "u", "password": "p"},
        {"dialect": "postgresql", "url": "postgresql://u:p@db.internal/rasa"},
        {"dialect": "postgresql", "url": "db.internal", "port": 5433, "db": "rasa", "query": {"sslmode": "require"}},
    ],
)
def test_the_store_url_is_the_one_rasa_builds_from_the_endpoints_file(tmp_path, section):
    endpoints = tmp_path / "endpoints.yml"
    lines = [
        f"  {key}: {value!r}" if not isinstance(value, dict) else f"  {key}: {value}" for key, value in section.items()
    ]
    endpoints.write_text("tracker_store:\n  type: channels.tracker_store.SQLTrackerStore\n" + "\n".join(lines) + "\n")
    rasa_args = {("host" if key == "url" else key): value for key, value in section.items()}
    assert str(store_url(endpoints)) == str(RasaSQLTrackerStore.get_db_url(**rasa_args))


def test_the_project_endpoints_name_the_sqlite_file_rasa_uses():
    url = sa.engine.make_url(store_url(ROOT / "endpoints.yml"))
    assert url.get_backend_name() == "sqlite" and url.database and url.database.endswith(".sqlite3")


@pytest.mark.parametrize("content", ["action_endpoint:\n  url: http://x\n", "tracker_store:\n  type: redis\n"])
def test_no_sql_conversation_store_means_none(tmp_path, content):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(content)
    assert store_url(endpoints) is None and ConversationStore.from_endpoints(endpoints) is None


def test_a_conversation_file_rasa_has_not_made_is_not_created(tmp_path):
    store = ConversationStore(f"sqlite:///{tmp_path / 'none.sqlite3'}")
    assert store.idle_since(utc_now()) == [] and store.delete(["x"]) == 0
    store.dispose()
    assert not (tmp_path / "none.sqlite3").exists()


# Expired sessions with a form left unfinished


def test_the_sweep_redacts_a_form_left_unfinished_once_the_session_expired(rasa_store, conversations, db):
    converse_with_store(rasa_store, "left", *midway(DANA))
    converse_with_store(rasa_store, "active", *midway(SAM))
    age(db, "left", EXPIRY + timedelta(minutes=1))

    assert redact_expired(conversations, EXPIRY, utc_now()) == 1
    assert file_traces(DANA, store_files(db)) == []  # the raw bytes, -wal included
    assert file_traces(SAM, store_files(db))  # a visitor still within the session keeps theirs
    left = asyncio.run(rasa_store.retrieve("left"))
    assert left is not None
    assert {slot: left.get_slot(slot) for slot in PERSONAL_SLOTS} == {
        slot: placeholder(kind) for slot, kind in PERSONAL_SLOTS.items()
    }
    assert redact_expired(conversations, EXPIRY, utc_now()) == 0  # nothing left to do


def test_the_sweep_leaves_conversations_without_personal_values(rasa_store, conversations, db):
    converse_with_store(rasa_store, "chat", greeting())
    converse_with_store(rasa_store, "stopped", *midway(DANA), stop())
    for sender in ("chat", "stopped"):
        age(db, sender, EXPIRY * 2)
    statements: list[str] = []
    sa.event.listen(conversations.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    assert redact_expired(conversations, EXPIRY, utc_now()) == 0
    assert not [sql for sql in statements if sql.lstrip().upper().startswith("UPDATE")]


def test_the_background_worker_sweeps_and_purges_on_its_clock(rasa_store, conversations, leads, db):
    converse_with_store(rasa_store, "left", *midway(DANA))
    delivered = make_lead(1, delivery_status=DELIVERED, delivered_at=utc_now())
    leads.save(delivered)
    clock = [utc_now()]
    worker = RetentionWorker(
        leads, conversations, RetentionPolicy(), EXPIRY, purge_interval=3600, sweep_interval=300, clock=lambda: clock[0]
    )
    worker.run_once()
    assert file_traces(DANA, store_files(db)) and leads.get(delivered.id) is not None

    clock[0] += EXPIRY + timedelta(minutes=1)  # the purge is not due yet; the sweep is
    worker.run_once()
    assert file_traces(DANA, store_files(db)) == [] and senders(db) == {"left"}

    clock[0] = utc_now() + timedelta(days=366)
    worker.run_once()
    assert senders(db) == set() and leads.get(delivered.id) is None


# Purge


def seed_for_purge(rasa_store, db: Path, leads: LeadStore, now: datetime) -> dict[str, str]:
    """Conversations old and new; leads delivered, exported, never handed over; old and new."""
    converse_with_store(rasa_store, "old-chat", greeting())
    converse_with_store(rasa_store, "new-chat", greeting())
    age(db, "old-chat", timedelta(days=31))
    ancient = now - timedelta(days=1000)
    made = {
        "delivered long ago": make_lead(1, created_at=ancient, delivery_status=DELIVERED, delivered_at=ancient),
        "exported long ago": make_lead(2, created_at=ancient, exported_at=now - timedelta(days=366)),
        "delivered lately": make_lead(3, created_at=ancient, delivery_status=DELIVERED, delivered_at=now),
        "exported lately": make_lead(4, created_at=ancient, exported_at=now - timedelta(days=2)),
        "never handed over": make_lead(5, created_at=ancient),
    }
    for lead in made.values():
        leads.save(lead)
    return {label: lead.id for label, lead in made.items()}


def test_purge_deletes_what_is_older_than_its_retention_and_never_an_undelivered_lead(
    rasa_store, conversations, leads, db
):
    now = utc_now()
    ids = seed_for_purge(rasa_store, db, leads, now)
    counts = purge(leads, conversations, RetentionPolicy(), now)
    assert (counts.conversations, counts.leads) == (1, 2)
    assert senders(db) == {"new-chat"}
    kept = {label for label, lead_id in ids.items() if leads.get(lead_id) is not None}
    assert kept == {"delivered lately", "exported lately", "never handed over"}


def test_shorter_retention_settings_purge_sooner(rasa_store, conversations, leads, db):
    now = utc_now()
    ids = seed_for_purge(rasa_store, db, leads, now)
    counts = purge(leads, conversations, RetentionPolicy(conversation_days=1, lead_days=1), now + timedelta(days=2))
    assert (counts.conversations, counts.leads) == (2, 4)
    assert [label for label, lead_id in ids.items() if leads.get(lead_id)] == ["never handed over"]


def dump(db: Path, leads_db: Path) -> list[Any]:
    rows: list[Any] = []
    for path, table in ((db, "events"), (leads_db, "leads")):
        engine = sa.create_engine(f"sqlite:///{path}", future=True)
        with engine.connect() as connection:
            rows += list(connection.execute(sa.text(f"SELECT * FROM {table} ORDER BY 1")))
        engine.dispose()
    return rows


def test_a_dry_run_counts_and_changes_nothing(rasa_store, conversations, leads, db, tmp_path):
    now = utc_now()
    seed_for_purge(rasa_store, db, leads, now)
    before = dump(db, tmp_path / "leads.sqlite3")
    counts = purge(leads, conversations, RetentionPolicy(), now, dry_run=True)
    assert (counts.conversations, counts.leads) == (1, 2)
    assert dump(db, tmp_path / "leads.sqlite3") == before


def staff(tmp_path: Path, db: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """`python -m actions.leads ...` with the test's leads database and conversation store."""
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(f"tracker_store:\n  type: channels.tracker_store.SQLTrackerStore\n  db: {db}\n")
    environment = quiet_env(
        LEADS_DATABASE_URL=f"sqlite:///{tmp_path / 'leads.sqlite3'}", ENDPOINTS_FILE=str(endpoints), **env
    )
    return subprocess.run(
        [sys.executable, "-m", "actions.leads", *args], cwd=ROOT, env=environment, capture_output=True, text=True
    )


def test_the_purge_command_prints_counts_only(rasa_store, leads, db, tmp_path):
    seed_for_purge(rasa_store, db, leads, utc_now())
    dry = staff(tmp_path, db, "purge", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.strip() == "would delete 1 conversation(s) and 2 lead(s)"
    assert senders(db) == {"old-chat", "new-chat"}
    done = staff(tmp_path, db, "purge")
    assert done.stdout.strip() == "deleted 1 conversation(s) and 2 lead(s)"
    assert senders(db) == {"new-chat"}
    assert staff(tmp_path, db, "purge").stdout.strip() == "deleted 0 conversation(s) and 0 lead(s)"


def test_an_export_starts_the_retention_of_the_leads_it_exported(leads, db, tmp_path):
    lead = make_lead(6)
    leads.save(lead)
    assert staff(tmp_path, db, "export").returncode == 0
    first = leads.get(lead.id)
    assert first is not None and first.exported_at is not None
    staff(tmp_path, db, "export")
    again = leads.get(lead.id)
    assert again is not None and again.exported_at == first.exported_at  # the first export counts


# Settings


@pytest.mark.parametrize("name", ["CONVERSATION_RETENTION_DAYS", "LEAD_RETENTION_DAYS"])
@pytest.mark.parametrize("value", ["0", "-3", "a year", "inf"])
def test_an_invalid_retention_setting_is_refused_with_its_name(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        runtime.retention_policy()


def test_retention_settings_and_their_defaults(monkeypatch):
    assert runtime.retention_policy() == RetentionPolicy(conversation_days=30, lead_days=365)
    monkeypatch.setenv("CONVERSATION_RETENTION_DAYS", "7")
    monkeypatch.setenv("LEAD_RETENTION_DAYS", "90.5")
    assert runtime.retention_policy() == RetentionPolicy(conversation_days=7, lead_days=90.5)


def test_the_session_expiry_is_the_domains():
    domain = (ROOT / "domain.yml").read_text()
    minutes = domain.split("session_expiration_time:")[1].split()[0]
    assert session_expiry() == timedelta(minutes=float(minutes))


def test_an_invalid_setting_stops_the_action_server_with_exit_2(tmp_path):
    env = quiet_env(LEAD_RETENTION_DAYS="-1", LEADS_DATABASE_URL=f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    result = subprocess.run(
        [sys.executable, "-m", "actions", "--port", "0"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert "LEAD_RETENTION_DAYS must be a positive number of days" in result.stderr


# The retention migration (0003)


def test_upgrading_a_0001_database_with_leads_loses_none(empty_database):  # noqa: F811
    engine = sa.create_engine(empty_database, future=True)
    made = [make_lead(n) for n in range(3)]
    with engine.begin() as connection:
        command.upgrade(migrate.config(connection), "0001")
        table = sa.Table("leads", sa.MetaData(), autoload_with=connection)
        for lead in made:
            row = {**lead.values(), "questions": '["how long is it?"]'}
            connection.execute(table.insert().values({column.name: row[column.name] for column in table.c}))
    engine.dispose()

    store = LeadStore(empty_database)
    loaded = [store.get(lead.id) for lead in made]
    store.dispose()
    kept = [column.name for column in table.c if column.name in made[0].answers]  # what 0001 could hold
    assert [{name: lead.answers[name] for name in kept} if lead else None for lead in loaded] == [
        {name: lead.answers[name] for name in kept} for lead in made
    ]
    assert all(lead is not None and lead.exported_at is None for lead in loaded)  # never exported yet
