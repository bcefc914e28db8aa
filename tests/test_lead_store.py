"""The lead store on SQLite and on a real PostgreSQL server: concurrent writes, and the
migrations that make and upgrade its table."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from actions.inquiry import fields, migrate
from actions.inquiry import store as store_module
from actions.inquiry.store import DELIVERED, PENDING, Lead, LeadStore, StoreUnavailable, as_utc, metadata, utc_now
from tests.servers import postgres_server


def make_lead(n: int = 0, **overrides: Any) -> Lead:
    """A complete lead; an override names a lead attribute or an answer column."""
    answers: dict[str, Any] = {column.name: None for column in fields.columns()}
    answers.update(
        name=f"Visitor {n}",
        email=f"visitor{n}@example.com",
        phone=f"+1423555{n:04d}",
        program_id="healthcare_it",
        study_option="chattanooga:online",
        contact_method="email",
        consent_text="May the college's admissions office contact you by email?",
        consent_given=True,
        consent_at=utc_now(),
        consent_wording_version="reply_ask_lead_consent@0123456789",
        consent_channel="rest",
    )
    answers.update((key, value) for key, value in overrides.items() if key in answers)
    values: dict[str, Any] = {
        "conversation_id": f"conversation-{n}",
        "page_url": "https://college.example/programs",
        "questions": ["how long is it?", "<script>alert(1)</script>"],
    }
    values.update((key, value) for key, value in overrides.items() if key not in answers)
    return Lead(answers=answers, **values)


@pytest.fixture(scope="module")
def postgres_url():
    with postgres_server() as server:
        yield server.url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def store(request, tmp_path):
    url = (
        f"sqlite:///{tmp_path / 'leads.sqlite3'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    lead_store = LeadStore(url)
    yield lead_store
    if request.param == "postgresql":
        with lead_store._engine.begin() as connection:
            connection.exec_driver_sql("DELETE FROM leads")
    lead_store.dispose()


def test_a_lead_round_trips_exactly(store):
    lead = make_lead(
        1, name="José O'Neil-García", sms_consent_text="May we text?", sms_consent_given=True, contact_method="text"
    )
    assert store.save(lead) is True
    loaded = store.get(lead.id)
    assert loaded == lead
    assert loaded.questions[1] == "<script>alert(1)</script>"  # stored as plain text
    assert loaded.delivery_status == PENDING and loaded.created_at.tzinfo is not None


def test_saving_the_same_lead_twice_stores_it_once(store):
    lead = make_lead(2)
    assert store.save(lead) is True
    assert store.save(lead) is False
    assert [item.id for item in store.all()] == [lead.id]


def test_delivery_status_and_since_filter(store):
    old = make_lead(3, created_at=utc_now() - timedelta(days=10))
    new = make_lead(4)
    store.save(old), store.save(new)
    store.record_failure(new.id, "CRM answered HTTP 503")
    assert [item.id for item in store.pending()] == [old.id, new.id]
    store.mark_delivered(old.id)
    assert [item.id for item in store.pending()] == [new.id]
    assert store.get(old.id).delivery_status == DELIVERED and store.get(new.id).delivery_attempts == 1
    assert [item.id for item in store.all(since=utc_now() - timedelta(days=1))] == [new.id]


def test_fifty_concurrent_conversations_each_store_their_own_lead(store):
    leads = [make_lead(n) for n in range(50)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        assert all(pool.map(store.save, leads))
    stored = {item.id: item for item in store.all()}
    assert len(stored) == 50
    for lead in leads:
        assert stored[lead.id].answers == lead.answers and stored[lead.id].conversation_id == lead.conversation_id


def personal_values(lead: Lead) -> list[str]:
    """The lead's contact details: what must never reach a log or an error message."""
    return [lead.answers[column.name] for f in fields.FIELDS if f.personal for column in f.columns]


def test_an_unavailable_database_raises_without_personal_data(tmp_path):
    (tmp_path / "leads.sqlite3").mkdir()  # a folder where the database file should be
    store = LeadStore(f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    lead = make_lead(5)
    with pytest.raises(StoreUnavailable) as failed:
        store.save(lead)
    assert "OperationalError" in str(failed.value)  # the operator's log says what kind of failure
    for personal in personal_values(lead):
        assert personal not in str(failed.value) and personal not in repr(lead)


def test_a_database_lost_after_start_up_refuses_the_save_naming_the_failure(tmp_path):
    path = tmp_path / "leads.sqlite3"
    store = LeadStore(f"sqlite:///{path}")
    assert store.save(make_lead(17)) is True
    store.dispose()  # its connections closed, as when the database server goes away
    path.unlink()
    path.mkdir()  # a folder where the database file was
    lead = make_lead(18)
    with pytest.raises(StoreUnavailable) as failed:
        store.save(lead)
    assert "OperationalError" in str(failed.value)
    assert not any(personal in str(failed.value) for personal in personal_values(lead))


def test_a_lead_the_table_refuses_is_not_saved_and_the_error_has_no_personal_data(store):
    lead = make_lead(9, consent_at=None)  # no time of consent: the table refuses the row
    with pytest.raises(StoreUnavailable) as failed:
        store.save(lead)
    assert "integrity" in str(failed.value).lower()
    assert not any(personal in str(failed.value) for personal in personal_values(lead))
    assert list(store.all()) == []


def test_a_database_migrated_by_a_newer_version_is_refused_naming_its_revision(tmp_path):
    url = f"sqlite:///{tmp_path / 'leads.sqlite3'}"
    engine = sa.create_engine(url, future=True)
    with engine.begin() as connection:
        command.upgrade(migrate.config(connection), "head")
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    engine.dispose()
    store = LeadStore(url)
    with pytest.raises(StoreUnavailable) as refused:
        store.save(make_lead(10))
    store.dispose()
    assert "9999_from_the_future" in str(refused.value)  # the operator learns which version wrote it


def test_a_repeat_is_the_newest_lead_since_then_with_the_same_email_in_any_case_or_the_same_phone(store):
    since = utc_now() - timedelta(hours=24)
    old = make_lead(1, created_at=since - timedelta(minutes=1))
    by_email = make_lead(2, created_at=since + timedelta(minutes=1), email="Visitor1@Example.com")
    by_phone = make_lead(3, created_at=since + timedelta(minutes=2), phone=old.answers["phone"])
    for lead in (old, by_email, by_phone):
        store.save(lead)
    newest = store.latest_repeat(make_lead(1), since)  # visitor1@example.com, +14235550001
    assert newest is not None and newest.id == by_phone.id
    assert store.latest_repeat(make_lead(1, phone="+14235550999"), since).id == by_email.id  # the email, any case
    assert store.latest_repeat(make_lead(9), since) is None  # nobody with that email or phone
    assert store.latest_repeat(by_phone, since) is None  # never the lead itself (and the old one is too old)
    assert store.latest_repeat(make_lead(1), since + timedelta(minutes=3)) is None  # too old


def test_replacing_a_delivered_lead_keeps_its_id_and_sends_it_again(store):
    earlier = make_lead(1, created_at=utc_now() - timedelta(hours=1))
    store.save(earlier)
    store.mark_delivered(earlier.id)
    newer = make_lead(2, name="Visitor Renamed", conversation_id="conversation-new", questions=["is it online?"])
    assert store.replace(earlier.id, newer) is True
    replaced = store.get(earlier.id)
    assert replaced.answers == newer.answers and replaced.conversation_id == "conversation-new"
    assert replaced.questions == ["is it online?"] and replaced.created_at == earlier.created_at
    assert (replaced.delivery_status, replaced.delivered_at, replaced.delivery_attempts) == (PENDING, None, 0)
    assert [lead.id for lead in store.all()] == [earlier.id]
    assert store.replace("no-such-lead", newer) is False


def test_a_lead_that_was_never_saved_is_not_found(store):
    store.save(make_lead(11))
    assert store.get("00000000-0000-0000-0000-000000000000") is None


def test_leads_come_oldest_first_and_those_created_together_in_a_stable_order(store):
    now = utc_now()
    old = make_lead(12, created_at=now - timedelta(days=1))
    together = [make_lead(n, id=f"{n}0000000-0000-0000-0000-000000000000", created_at=now) for n in (2, 1)]
    for lead in (*together, old):  # saved newest first
        store.save(lead)
    assert [item.id for item in store.all()] == [old.id, together[1].id, together[0].id]
    assert next(item.id for item in store.pending()) == old.id  # the longest waiting goes first
    assert [item.id for item in store.pending(limit=1)] == [old.id]


def test_since_includes_a_lead_created_exactly_then_whatever_the_offset_it_is_given_in(store):
    moment = datetime(2026, 9, 1, 12, 0, tzinfo=timezone.utc)
    exactly = make_lead(14, created_at=moment)
    store.save(make_lead(13, created_at=moment - timedelta(microseconds=1))), store.save(exactly)
    assert [item.id for item in store.all(since=moment)] == [exactly.id]
    in_paris = moment.astimezone(timezone(timedelta(hours=2)))  # the same instant, written 14:00+02:00
    assert [item.id for item in store.all(since=in_paris)] == [exactly.id]


def test_a_delivered_lead_records_when_it_was_delivered(store):
    lead = make_lead(15)
    store.save(lead)
    store.record_failure(lead.id, "CRM answered HTTP 503")
    before = utc_now()
    store.mark_delivered(lead.id)
    delivered = store.get(lead.id)
    assert delivered.delivery_status == DELIVERED and before <= delivered.delivered_at <= utc_now()
    assert delivered.last_error is None and delivered.delivery_attempts == 2


def test_without_a_setting_leads_are_kept_in_runtime_leads_sqlite3(tmp_path, monkeypatch):
    """The README's default: where an operator finds (and backs up) the leads."""
    monkeypatch.delenv(store_module.DATABASE_URL_ENV, raising=False)
    monkeypatch.setattr(store_module, "RUNTIME_DIR", tmp_path / "runtime")
    first = LeadStore()
    first.save(lead := make_lead(16))
    first.dispose()
    assert (tmp_path / "runtime" / "leads.sqlite3").is_file()
    again = LeadStore()  # as after a restart: the folder is there already
    assert again.get(lead.id) == lead
    again.dispose()


@contextlib.contextmanager
def new_postgres_database(server_url: str) -> Iterator[str]:
    """A database of its own on the test server, dropped afterwards."""
    name = f"empty_{uuid.uuid4().hex}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def empty_database(request, tmp_path) -> Iterator[str]:
    """The URL of a database with no tables in it."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    with new_postgres_database(request.getfixturevalue("postgres_url")) as url:
        yield url


def revision_of(url: str) -> str | None:
    engine = sa.create_engine(url, future=True)
    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    engine.dispose()
    return revision


HEAD = ScriptDirectory.from_config(migrate.config()).get_current_head()


def test_a_new_database_is_migrated_to_exactly_the_table_the_code_uses(empty_database):
    store = LeadStore(empty_database)
    store.ensure_schema()
    with store._engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    store.dispose()
    assert differences == []  # a column declared in fields.py without its migration shows here
    assert revision_of(empty_database) == HEAD


def test_a_database_made_before_migrations_is_stamped_and_upgraded_keeping_its_leads(empty_database):
    """Before migrations the store created the `leads` table itself: revision 0001's table."""
    engine = sa.create_engine(empty_database, future=True)
    with engine.begin() as connection:
        command.upgrade(migrate.config(connection), migrate.BASELINE)
        connection.exec_driver_sql("DROP TABLE alembic_version")
        legacy = sa.Table("leads", sa.MetaData(), autoload_with=connection)
        lead = make_lead(7)
        row = {**lead.values(), "questions": '["how long is it?"]'}
        connection.execute(legacy.insert().values({column.name: row[column.name] for column in legacy.c}))
    engine.dispose()

    store = LeadStore(empty_database)
    loaded = store.get(lead.id)
    store.dispose()
    assert loaded is not None
    kept = [column.name for column in legacy.c if column.name in lead.answers]
    assert {name: loaded.answers[name] for name in kept} == {name: lead.answers[name] for name in kept}
    assert loaded.questions == ["how long is it?"]
    assert revision_of(empty_database) == HEAD


def test_processes_finding_an_empty_database_together_migrate_it_once(empty_database):
    stores = [LeadStore(empty_database) for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(LeadStore.ensure_schema, stores))  # none raises
    assert stores[0].save(make_lead(8)) is True
    for store in stores:
        store.dispose()
    assert revision_of(empty_database) == HEAD


def test_every_migration_can_be_undone(tmp_path):
    url = f"sqlite:///{tmp_path / 'leads.sqlite3'}"
    engine = sa.create_engine(url, future=True)
    with engine.begin() as connection:
        settings = migrate.config(connection)
        command.upgrade(settings, "head")
        command.downgrade(settings, "base")
        assert sa.inspect(connection).get_table_names() == ["alembic_version"]
        command.upgrade(settings, "head")
    engine.dispose()
    assert revision_of(url) == HEAD


def test_a_time_read_back_is_aware_and_keeps_its_instant():
    """SQLite gives back naive times (stored as UTC); PostgreSQL aware ones in its session's zone."""
    naive = datetime(2026, 9, 1, 12, 0)
    assert as_utc(naive) == datetime(2026, 9, 1, 12, 0, tzinfo=timezone.utc)
    five_hours_behind = datetime(2026, 9, 1, 7, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert as_utc(five_hours_behind) == datetime(2026, 9, 1, 12, 0, tzinfo=timezone.utc)
    assert as_utc(None) is None
