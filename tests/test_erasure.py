"""Erasure on request (issue 9): `python -m actions.leads erase --email/--phone` deletes the
person's leads and linked conversations, and keeps a record without the person."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from actions.inquiry.store import utc_now
from actions.privacy import erasure
from tests.conversations import DANA
from tests.form_events import file_traces, traces
from tests.test_conversation_privacy import converse_with_store, midway, store_files
from tests.test_lead_store import make_lead, postgres_url, store  # noqa: F401 (fixtures)
from tests.test_retention import SAM, conversations, db, greeting, leads, rasa_store, senders, staff  # noqa: F401

SALT = "test-salt"


def lead_of(person, n: int, conversation_id: str):
    return make_lead(
        n, name=person.name, email=person.email, phone=person.stored_phone, conversation_id=conversation_id
    )


@pytest.fixture
def seeded(rasa_store, leads, db):  # noqa: F811
    """Dana: two leads from two conversations; Sam: one lead; one conversation with no lead."""
    made = {
        "dana-1": lead_of(DANA, 1, "dana-visit-1"),
        "dana-2": lead_of(DANA, 2, "dana-visit-2"),
        "sam": lead_of(SAM, 3, "sam-visit"),
    }
    for lead in made.values():
        leads.save(lead)
    converse_with_store(rasa_store, "dana-visit-1", *midway(DANA))
    converse_with_store(rasa_store, "dana-visit-2", greeting())
    converse_with_store(rasa_store, "sam-visit", *midway(SAM))
    converse_with_store(rasa_store, "someone", greeting())
    rasa_store.engine.dispose()
    return made


def erasure_rows(tmp_path: Path) -> list[dict]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'leads.sqlite3'}", future=True)
    with engine.connect() as connection:
        rows = [dict(row) for row in connection.execute(sa.text("SELECT * FROM erasures ORDER BY id")).mappings()]
    engine.dispose()
    return rows


def erase(tmp_path: Path, db: Path, *args: str):  # noqa: F811
    return staff(tmp_path, db, "erase", *args, ERASURE_SALT=SALT)


def test_erase_by_email_deletes_the_persons_leads_and_their_conversations(seeded, leads, db, tmp_path):  # noqa: F811
    result = erase(tmp_path, db, "--email", DANA.email.upper())
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "deleted 2 lead(s) and 2 conversation(s)"
    assert sorted(lines[1:]) == sorted(f"  lead {seeded[key].id}" for key in ("dana-1", "dana-2"))
    assert traces(DANA, result.stdout + result.stderr) == []
    assert [key for key, lead in seeded.items() if leads.get(lead.id)] == ["sam"]
    assert senders(db) == {"sam-visit", "someone"}
    assert file_traces(DANA, store_files(db)) == []
    assert file_traces(DANA, [tmp_path / "leads.sqlite3"]) == []  # no copy left in freed pages
    assert file_traces(SAM, [tmp_path / "leads.sqlite3"])  # the search does find a kept lead


def test_erase_by_phone_in_another_format(seeded, leads, db, tmp_path):  # noqa: F811
    national = "706.555.0199"  # DANA typed "(706) 555-0199"; the lead holds "+17065550199"
    result = erase(tmp_path, db, "--phone", national)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "deleted 2 lead(s) and 2 conversation(s)"
    assert [key for key, lead in seeded.items() if leads.get(lead.id)] == ["sam"]


def test_the_erasure_record_holds_counts_and_a_salted_hash_only(seeded, db, tmp_path):  # noqa: F811
    erase(tmp_path, db, "--email", DANA.email)
    [record] = erasure_rows(tmp_path)
    assert (record["leads_deleted"], record["conversations_deleted"]) == (2, 2)
    assert record["erased_at"] is not None
    assert traces(DANA, repr(record)) == []
    unsalted = hashlib.sha256(DANA.email.encode()).hexdigest()
    assert record["identifier_hash"] not in {unsalted, hashlib.sha256(f"email:{DANA.email}".encode()).hexdigest()}
    other_salt = staff(tmp_path, db, "erase", "--email", DANA.email, ERASURE_SALT="another")
    assert other_salt.returncode == 0
    assert erasure_rows(tmp_path)[1]["identifier_hash"] != record["identifier_hash"]


def test_erasing_twice_is_harmless(seeded, leads, db, tmp_path):  # noqa: F811
    erase(tmp_path, db, "--email", DANA.email)
    again = erase(tmp_path, db, "--phone", DANA.phone)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "no lead or conversation found for this phone; the request is recorded"
    assert [key for key, lead in seeded.items() if leads.get(lead.id)] == ["sam"]
    assert [(r["leads_deleted"], r["conversations_deleted"]) for r in erasure_rows(tmp_path)] == [(2, 2), (0, 0)]


def test_erasing_an_unknown_person_says_so(seeded, db, tmp_path):  # noqa: F811
    result = erase(tmp_path, db, "--email", "nobody@example.net")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "no lead or conversation found for this email; the request is recorded"
    assert senders(db) == {"dana-visit-1", "dana-visit-2", "sam-visit", "someone"}


@pytest.mark.parametrize("args", [["--email", "not an address"], ["--phone", "12"], []])
def test_an_unusable_identifier_is_refused(db, tmp_path, args):  # noqa: F811
    result = erase(tmp_path, db, *args)
    assert result.returncode == 2
    assert "not an address" not in result.stdout + result.stderr


def test_erasure_on_each_lead_database(store, rasa_store, conversations):  # noqa: F811
    """The leads side on SQLite and on PostgreSQL (slow)."""
    lead = lead_of(DANA, 4, "dana-visit")
    store.save(lead), store.save(lead_of(SAM, 5, "sam-visit"))
    converse_with_store(rasa_store, "dana-visit", greeting())
    done = erasure.erase(erasure.Identifier.phone(DANA.phone), store, conversations, b"salt", utc_now())
    assert (done.lead_ids, done.conversations) == ([lead.id], 1)
    assert store.matching("email", DANA.email) == [] and len(store.matching("phone", SAM.stored_phone)) == 1


def test_the_salt_is_generated_once_and_private(tmp_path, monkeypatch):
    monkeypatch.delenv(erasure.SALT_ENV, raising=False)
    salt_file = tmp_path / "runtime" / "erasure-salt"
    first = erasure.salt(salt_file)
    assert len(first) >= 32 and erasure.salt(salt_file) == first
    assert stat.S_IMODE(os.stat(salt_file).st_mode) == 0o600
    monkeypatch.setenv(erasure.SALT_ENV, "configured")
    assert erasure.salt(salt_file) == b"configured"


def test_an_identifier_never_shows_in_its_repr():
    assert DANA.email not in repr(erasure.Identifier.email(DANA.email))
