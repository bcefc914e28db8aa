"""The staff purge and erase commands (actions/privacy/commands.py) run in this process, on real
SQLite files: what they print (counts and lead ids only), what they delete, and their exit
codes for a bad setting, a bad identifier and a database that fails. test_retention.py and
test_erasure.py run the same commands as child processes, end to end."""

from __future__ import annotations

import argparse
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from actions.inquiry.store import LeadStore, utc_now
from actions.privacy import commands
from tests.conversations import DANA
from tests.form_events import traces
from tests.test_conversation_privacy import converse_with_store, midway, sqlite_store
from tests.test_lead_store import make_lead
from tests.test_retention import SAM, greeting, seed_for_purge, senders


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The conversation store's file, named by the endpoints file the environment points to."""
    conversations = tmp_path / "conversations.sqlite3"
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(f"tracker_store:\n  type: channels.tracker_store.SQLTrackerStore\n  db: {conversations}\n")
    monkeypatch.setenv("ENDPOINTS_FILE", str(endpoints))
    monkeypatch.setenv("ERASURE_SALT", "test-salt")
    for name in ("CONVERSATION_RETENTION_DAYS", "LEAD_RETENTION_DAYS"):
        monkeypatch.delenv(name, raising=False)
    return conversations


@pytest.fixture
def rasa_store(db: Path):
    created = sqlite_store(db)
    yield created
    created.engine.dispose()


@pytest.fixture
def leads(tmp_path: Path) -> Iterator[LeadStore]:
    store = LeadStore(f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    yield store
    store.dispose()


def run(leads: LeadStore, command: str, **options: object) -> tuple[int, str]:
    """The command's exit code and what it printed on standard output."""
    defaults: dict[str, object] = {"dry_run": False, "email": None, "phone": None}
    out = io.StringIO()
    code = commands.run(argparse.Namespace(command=command, **{**defaults, **options}), leads, out)
    return code, out.getvalue()


def test_purge_prints_what_it_would_delete_then_what_it_deleted(rasa_store, leads, db, capsys):
    seed_for_purge(rasa_store, db, leads, utc_now())
    assert run(leads, "purge", dry_run=True) == (0, "would delete 1 conversation(s) and 2 lead(s)\n")
    assert senders(db) == {"old-chat", "new-chat"} and len(list(leads.all())) == 5
    assert run(leads, "purge") == (0, "deleted 1 conversation(s) and 2 lead(s)\n")
    assert senders(db) == {"new-chat"} and len(list(leads.all())) == 3
    assert capsys.readouterr().err == ""


def test_purge_follows_the_retention_settings(rasa_store, leads, db, monkeypatch):
    seed_for_purge(rasa_store, db, leads, utc_now())
    monkeypatch.setenv("LEAD_RETENTION_DAYS", "1")
    assert run(leads, "purge", dry_run=True) == (0, "would delete 1 conversation(s) and 3 lead(s)\n")


def test_a_bad_retention_setting_exits_2_and_deletes_nothing(rasa_store, leads, db, monkeypatch, capsys):
    seed_for_purge(rasa_store, db, leads, utc_now())
    monkeypatch.setenv("LEAD_RETENTION_DAYS", "-1")
    assert run(leads, "purge") == (2, "")
    assert "LEAD_RETENTION_DAYS must be a positive number of days" in capsys.readouterr().err
    assert senders(db) == {"old-chat", "new-chat"} and len(list(leads.all())) == 5


def test_without_a_sql_conversation_store_only_leads_are_purged(leads, tmp_path, monkeypatch, capsys):
    endpoints = tmp_path / "memory.yml"
    endpoints.write_text("action_endpoint:\n  url: http://localhost:5055/webhook\n")
    monkeypatch.setenv("ENDPOINTS_FILE", str(endpoints))
    unused = sqlite_store(tmp_path / "unused.sqlite3")
    seed_for_purge(unused, tmp_path / "unused.sqlite3", leads, utc_now())
    unused.engine.dispose()
    assert run(leads, "purge") == (0, "deleted 0 conversation(s) and 2 lead(s)\n")
    assert capsys.readouterr().err == f"{endpoints}: no SQL conversation store: only leads are handled\n"


def test_erase_by_email_prints_counts_and_lead_ids_only(rasa_store, leads, db, capsys):
    dana = make_lead(1, name=DANA.name, email=DANA.email, phone=DANA.stored_phone, conversation_id="dana-visit")
    sam = make_lead(2, name=SAM.name, email=SAM.email, phone=SAM.stored_phone, conversation_id="sam-visit")
    leads.save(dana), leads.save(sam)
    converse_with_store(rasa_store, "dana-visit", *midway(DANA))
    converse_with_store(rasa_store, "sam-visit", greeting())
    code, printed = run(leads, "erase", email=DANA.email.upper())
    assert (code, printed) == (0, f"deleted 1 lead(s) and 1 conversation(s)\n  lead {dana.id}\n")
    assert traces(DANA, printed + capsys.readouterr().err) == []
    assert senders(db) == {"sam-visit"} and leads.get(dana.id) is None and leads.get(sam.id) is not None


def test_erase_by_phone_finds_the_number_in_any_format(rasa_store, leads, db):
    dana = make_lead(1, name=DANA.name, email=DANA.email, phone=DANA.stored_phone, conversation_id="dana-visit")
    leads.save(dana)
    assert run(leads, "erase", phone=DANA.phone) == (0, f"deleted 1 lead(s) and 0 conversation(s)\n  lead {dana.id}\n")


def test_erasing_an_unknown_person_says_so_by_the_identifier_kind(rasa_store, leads, db):
    assert run(leads, "erase", phone="+1 423 555 0000") == (
        0,
        "no lead or conversation found for this phone; the request is recorded\n",
    )
    assert run(leads, "erase", email="nobody@example.net") == (
        0,
        "no lead or conversation found for this email; the request is recorded\n",
    )


def test_an_unusable_identifier_exits_2_without_repeating_it(leads, db, capsys):
    assert run(leads, "erase", email="dana at example") == (2, "")
    error = capsys.readouterr().err
    assert error and "dana at example" not in error


def test_a_failing_database_exits_1_naming_the_error_type_only(db, tmp_path, capsys):
    broken = tmp_path / "leads-dir"
    broken.mkdir()  # a directory where the database file should be: SQLite cannot open it
    failing = LeadStore(f"sqlite:///{broken}")
    code, printed = run(failing, "erase", email=DANA.email)
    failing.dispose()
    error = capsys.readouterr().err
    assert (code, printed) == (1, "")
    assert error == "failed (StoreUnavailable): run the command again\n"
    assert traces(DANA, error) == []
