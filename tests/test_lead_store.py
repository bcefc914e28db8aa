"""The lead store on SQLite and on a real PostgreSQL server, including concurrent writes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from actions.inquiry.store import DELIVERED, PENDING, Lead, LeadStore, StoreUnavailable, utc_now
from tests.servers import postgres_server


def make_lead(n: int = 0, **overrides) -> Lead:
    values = {
        "conversation_id": f"conversation-{n}",
        "name": f"Visitor {n}",
        "email": f"visitor{n}@example.com",
        "phone": f"+1423555{n:04d}",
        "program_id": "healthcare_it",
        "study_option": "chattanooga:online",
        "contact_method": "email",
        "consent_text": "May the college's admissions office contact you by email?",
        "consent_given": True,
        "consent_at": utc_now(),
        "page_url": "https://college.example/programs",
        "questions": ["how long is it?", "<script>alert(1)</script>"],
    }
    values.update(overrides)
    return Lead(**values)


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
    assert loaded.to_json() == lead.to_json()
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
        assert (stored[lead.id].email, stored[lead.id].conversation_id) == (lead.email, lead.conversation_id)


def test_an_unavailable_database_raises_without_personal_data(tmp_path):
    (tmp_path / "leads.sqlite3").mkdir()  # a folder where the database file should be
    store = LeadStore(f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    lead = make_lead(5)
    with pytest.raises(StoreUnavailable) as failed:
        store.save(lead)
    assert lead.email not in str(failed.value) and lead.name not in str(failed.value)
    assert lead.email not in repr(lead)
