"""Leads reach the CRM exactly once, signed, whatever the CRM's outages."""

from __future__ import annotations

import time

import pytest

from actions.inquiry.delivery import DeliveryWorker, Webhook, deliver_pending
from actions.inquiry.store import DELIVERED, LeadStore
from tests.conftest import wait_for
from tests.crm import FakeCRM
from tests.test_lead_store import make_lead
from tests.test_payload import VALIDATOR

SECRET = "test-secret"


@pytest.fixture
def store(tmp_path):
    lead_store = LeadStore(f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    yield lead_store
    lead_store.dispose()


def status(store: LeadStore, lead_id: str) -> str | None:
    lead = store.get(lead_id)
    return lead.delivery_status if lead else None


def webhook(crm: FakeCRM) -> Webhook:
    return Webhook(crm.url, SECRET, timeout=5, attempts=3, backoff=0.01)


def test_every_lead_arrives_once_signed_despite_early_failures(store):
    leads = [make_lead(n) for n in range(10)]
    for lead in leads:
        store.save(lead)
    with FakeCRM(SECRET, fail_first=4) as crm:
        # The first lead uses up its 3 tries on the outage and waits for the next cycle.
        assert deliver_pending(store, webhook(crm)) == 9
        assert [item.id for item in store.pending()] == [leads[0].id]
        assert deliver_pending(store, webhook(crm)) == 1
    assert set(crm.accepted) == {item.id for item in leads}
    assert set(crm.accepted_posts.values()) == {1}  # no repeat after a success
    assert crm.bad_signatures == []
    assert crm.accepted[leads[0].id]["email"] == leads[0].answers["email"]
    for payload in crm.accepted.values():  # what the CRM really received is the documented payload
        VALIDATOR.validate(payload)
    assert all(store.get(item.id).delivery_status == DELIVERED for item in leads)


def test_leads_stay_pending_while_the_crm_is_down_and_arrive_when_it_returns(store):
    store.save(make_lead(1))
    store.save(make_lead(2))
    with FakeCRM(SECRET) as crm:
        crm.down = True
        assert deliver_pending(store, webhook(crm)) == 0
        assert len(store.pending()) == 2 and crm.accepted == {}
        assert all(
            item.delivery_attempts == 1 and item.last_error == "CRM answered HTTP 503" for item in store.pending()
        )
        crm.down = False
        assert deliver_pending(store, webhook(crm)) == 2
        assert deliver_pending(store, webhook(crm)) == 0  # nothing is sent twice
    assert len(crm.accepted) == 2 and set(crm.accepted_posts.values()) == {1}


def test_an_unreachable_crm_loses_nothing(store):
    store.save(make_lead(3))
    dead = Webhook("http://127.0.0.1:9/leads", SECRET, timeout=1, attempts=2, backoff=0.01)
    assert deliver_pending(store, dead) == 0
    assert store.pending()[0].last_error == "ConnectError"


def test_pending_leads_survive_a_restart_of_the_worker(tmp_path):
    url = f"sqlite:///{tmp_path / 'leads.sqlite3'}"
    first = LeadStore(url)
    lead = make_lead(4)
    first.save(lead)
    with FakeCRM(SECRET) as crm:
        crm.down = True
        worker = DeliveryWorker(first, webhook(crm), interval=0.05)
        worker.start()
        time.sleep(0.5)
        worker.stop()
        worker.join(5)
        first.dispose()
        assert crm.accepted == {} and crm.requests >= 1

        crm.down = False
        second = LeadStore(url)  # as after a restart: a new process, the same database
        restarted = DeliveryWorker(second, webhook(crm), interval=60)
        restarted.start()
        wait_for(lambda: status(second, lead.id) == DELIVERED, 10)
        restarted.stop()
        restarted.join(5)
    assert status(second, lead.id) == DELIVERED
    assert crm.accepted_posts[lead.id] == 1
