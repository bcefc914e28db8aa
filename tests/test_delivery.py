"""Leads reach the CRM exactly once, signed, whatever the CRM's outages.

What a refusing CRM, the retry schedule and the signature's checks do to the queue is in
test_abuse_delivery.py.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from actions.inquiry import fields, runtime
from actions.inquiry.delivery import DeliveryWorker, Webhook, deliver_pending
from actions.inquiry.schedule import RetrySchedule
from actions.inquiry.store import DELIVERED, PENDING, Lead, LeadStore, utc_now
from tests.conftest import wait_for
from tests.crm import SECRET, FakeCRM
from tests.servers import ROOT, quiet_env
from tests.test_lead_store import make_lead
from tests.test_payload import VALIDATOR

# A failed lead is due again almost at once: for tests of a worker that must retry by itself.
SOON = RetrySchedule(first_delay=timedelta(milliseconds=50), max_delay=timedelta(milliseconds=50))


@pytest.fixture
def store(tmp_path):
    lead_store = LeadStore(f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    yield lead_store
    lead_store.dispose()


def status(store: LeadStore, lead_id: str) -> str | None:
    lead = store.get(lead_id)
    return lead.delivery_status if lead else None


def webhook(crm: FakeCRM) -> Webhook:
    return Webhook(crm.url, SECRET, timeout=5)


def test_every_lead_arrives_once_signed_despite_early_failures(store):
    now = utc_now()
    leads = [make_lead(n, created_at=now + timedelta(microseconds=n)) for n in range(10)]
    for lead in leads:
        store.save(lead)
    with FakeCRM(SECRET, fail_first=4) as crm:
        # The four oldest meet the outage and wait for their next attempt; the others go through.
        first = deliver_pending(store, webhook(crm))
        assert (first.delivered, first.retrying, first.failed) == (6, 4, 0)
        assert [item.id for item in store.pending()] == [item.id for item in leads[:4]]
        assert deliver_pending(store, webhook(crm)).tried == 0  # not due yet: nothing is sent
        store.make_pending_due(utc_now())  # as when their time comes
        assert deliver_pending(store, webhook(crm)).delivered == 4
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
        assert deliver_pending(store, webhook(crm)).retrying == 2
        assert len(store.pending()) == 2 and crm.accepted == {}
        assert all(
            item.delivery_attempts == 1 and item.last_error == "CRM answered HTTP 503 Service Unavailable"
            for item in store.pending()
        )
        crm.down = False
        store.make_pending_due(utc_now())
        assert deliver_pending(store, webhook(crm)).delivered == 2
        store.make_pending_due(utc_now())
        assert deliver_pending(store, webhook(crm)).tried == 0  # nothing is sent twice
    assert len(crm.accepted) == 2 and set(crm.accepted_posts.values()) == {1}


def test_an_unreachable_crm_loses_nothing(store):
    store.save(make_lead(3))
    dead = Webhook("http://127.0.0.1:9/leads", SECRET, timeout=1)
    assert deliver_pending(store, dead).retrying == 1
    assert store.pending()[0].last_error == "ConnectError"


def test_pending_leads_survive_a_restart_of_the_worker(tmp_path):
    url = f"sqlite:///{tmp_path / 'leads.sqlite3'}"
    first = LeadStore(url)
    lead = make_lead(4)
    first.save(lead)
    with FakeCRM(SECRET) as crm:
        crm.down = True
        worker = DeliveryWorker(first, webhook(crm), interval=0.05, schedule=SOON)
        worker.start()
        time.sleep(0.5)
        worker.stop()
        worker.join(5)
        first.dispose()
        assert crm.accepted == {} and crm.requests >= 1

        crm.down = False
        second = LeadStore(url)  # as after a restart: a new process, the same database
        assert wait_for(lambda: bool(second.due(utc_now())), 5)  # its next attempt has come
        restarted = DeliveryWorker(second, webhook(crm), interval=60, schedule=SOON)
        restarted.start()
        wait_for(lambda: status(second, lead.id) == DELIVERED, 10)
        restarted.stop()
        restarted.join(5)
    assert status(second, lead.id) == DELIVERED
    assert crm.accepted_posts[lead.id] == 1


def personal_values(lead: Lead) -> list[str]:
    """The lead's contact details: what must never reach a log."""
    return [lead.answers[column.name] for f in fields.FIELDS if f.personal for column in f.columns]


@pytest.mark.parametrize("answer", [300, 301, 408, 429, 500, 502, 503, 504, 599])
def test_a_crm_answering_5xx_408_429_or_a_redirect_leaves_the_lead_pending_for_a_later_round(store, answer):
    lead = make_lead(5)
    store.save(lead)
    with FakeCRM(SECRET, failure_status=answer) as crm:
        crm.down = True
        before = utc_now()
        assert deliver_pending(store, webhook(crm)).retrying == 1
    kept = store.get(lead.id)
    assert kept.delivery_status == PENDING and kept.delivered_at is None
    assert f"HTTP {answer}" in kept.last_error  # what an operator reads in the export
    assert kept.next_attempt_at > before  # tried again in a later round
    assert [item.id for item in store.pending()] == [lead.id]


@pytest.mark.parametrize("answer", [200, 201, 202, 204])
def test_any_2xx_answer_is_a_delivery(store, answer):
    lead = make_lead(6)
    store.save(lead)
    with FakeCRM(SECRET, success_status=answer) as crm:
        assert deliver_pending(store, webhook(crm)).delivered == 1
    assert status(store, lead.id) == DELIVERED and crm.accepted_posts[lead.id] == 1
    assert store.get(lead.id).next_attempt_at is None  # out of the queue


def test_each_delivery_round_counts_as_one_attempt_including_the_one_that_succeeds(store):
    at_once, after_an_outage = make_lead(7, created_at=utc_now()), make_lead(8, created_at=utc_now())
    store.save(after_an_outage)
    with FakeCRM(SECRET) as crm:
        crm.down = True
        deliver_pending(store, webhook(crm))
        assert crm.requests == 1  # one POST per round: no retry that holds other leads up
        assert store.get(after_an_outage.id).delivery_attempts == 1
        crm.down = False
        store.save(at_once)
        store.make_pending_due(utc_now())
        before = utc_now()
        assert deliver_pending(store, webhook(crm)).delivered == 2
        after = utc_now()
    for lead, attempts in ((at_once, 1), (after_an_outage, 2)):
        delivered = store.get(lead.id)
        assert delivered.delivery_attempts == attempts
        assert delivered.last_error is None  # the outage is over: no stale reason is shown
        assert before <= delivered.delivered_at <= after


def test_a_crm_slower_than_the_timeout_leaves_the_lead_pending(store):
    lead = make_lead(9)
    store.save(lead)
    with FakeCRM(SECRET, delay=3) as crm:
        impatient = Webhook(crm.url, SECRET, timeout=0.2)
        assert deliver_pending(store, impatient).retrying == 1
    assert store.get(lead.id).delivery_status == PENDING
    assert store.get(lead.id).last_error == "ReadTimeout"


def test_delivery_logs_name_leads_by_id_and_never_their_contact_details(store, caplog):
    refused, delivered = make_lead(11, created_at=utc_now()), make_lead(12, created_at=utc_now())
    store.save(refused), store.save(delivered)
    caplog.set_level(logging.INFO, logger="actions.inquiry.delivery")
    with FakeCRM(SECRET, fail_first=1) as crm:  # the oldest lead gets the one failure
        assert (
            deliver_pending(store, Webhook(crm.url, SECRET, timeout=5)).delivered == 1
        )  # and its body echoes the lead
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any(refused.id in m and "HTTP 503" in m for m in warnings)
    assert any(delivered.id in m and "delivered" in m for m in infos)
    logged = caplog.text
    for personal in personal_values(refused) + personal_values(delivered):
        assert personal not in logged


def test_the_webhook_never_shows_its_secret():
    """Its repr reaches tracebacks and pytest's own failure reports."""
    shown = repr(Webhook("http://127.0.0.1:9/leads", SECRET))
    assert SECRET not in shown and SECRET.removeprefix("whsec_") not in shown and "http://127.0.0.1:9" in shown


def test_no_webhook_without_a_url(monkeypatch):
    monkeypatch.delenv("LEADS_WEBHOOK_URL", raising=False)
    monkeypatch.setenv("LEADS_WEBHOOK_SECRET", SECRET)
    assert Webhook.from_env() is None


def test_the_worker_outlives_a_round_that_fails_and_delivers_afterwards(tmp_path, caplog):
    path = tmp_path / "leads.sqlite3"
    path.mkdir()  # a folder where the database file should be: every round fails
    broken = LeadStore(f"sqlite:///{path}")
    caplog.set_level(logging.ERROR, logger="actions.inquiry.delivery")
    with FakeCRM(SECRET) as crm:
        worker = DeliveryWorker(broken, webhook(crm), interval=0.05, schedule=SOON)
        worker.start()
        try:
            assert wait_for(lambda: any(r.exc_info for r in caplog.records), 10)
            path.rmdir()  # the database is back
            lead = make_lead(14)
            broken.save(lead)
            assert wait_for(lambda: status(broken, lead.id) == DELIVERED, 10)
        finally:
            worker.stop()
            worker.join(5)
            broken.dispose()
    failure = next(r for r in caplog.records if r.exc_info)
    assert failure.levelno == logging.ERROR and "deliver" in failure.getMessage().lower()
    assert crm.accepted_posts[lead.id] == 1


# The action server's worker (runtime.py): configured by the environment, woken by new leads.


@pytest.mark.parametrize(
    "setting", ["0", "-5", "nan", "inf", "-inf", "1e999", "soon", "30s"], ids=lambda s: f"interval={s}"
)
def test_a_delivery_interval_of_0_or_anything_not_a_positive_number_is_refused(monkeypatch, setting):
    """0 would be a busy loop hammering the CRM and the database; the rest is a typo."""
    monkeypatch.setenv(runtime.DELIVERY_INTERVAL_ENV, setting)
    with pytest.raises(ValueError) as refused:
        runtime.delivery_interval()
    assert runtime.DELIVERY_INTERVAL_ENV in str(refused.value) and repr(setting) in str(refused.value)
    monkeypatch.setenv("LEADS_WEBHOOK_URL", "http://127.0.0.1:9/leads")
    monkeypatch.setenv("LEADS_WEBHOOK_SECRET", SECRET)  # the webhook itself is fine
    with pytest.raises(ValueError, match=runtime.DELIVERY_INTERVAL_ENV):
        runtime.start_delivery()  # the action server refuses to start (actions/__main__.py)


@pytest.mark.parametrize("setting, seconds", [("0.5", 0.5), ("45", 45.0), ("", runtime.DEFAULT_DELIVERY_INTERVAL)])
def test_the_delivery_interval_comes_from_the_setting(monkeypatch, setting, seconds):
    monkeypatch.setenv(runtime.DELIVERY_INTERVAL_ENV, setting)
    assert runtime.delivery_interval() == seconds


def test_an_unset_delivery_interval_is_the_default(monkeypatch):
    monkeypatch.delenv(runtime.DELIVERY_INTERVAL_ENV, raising=False)
    assert runtime.delivery_interval() == runtime.DEFAULT_DELIVERY_INTERVAL


@pytest.fixture
def action_server_env(tmp_path, monkeypatch) -> Iterator[LeadStore]:
    """The settings the action server reads, and its own lead store, fresh for the test."""
    monkeypatch.setenv("LEADS_DATABASE_URL", f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    monkeypatch.setenv("LEADS_WEBHOOK_SECRET", SECRET)
    monkeypatch.setattr(runtime, "_worker", None)
    runtime.lead_store.cache_clear()
    yield runtime.lead_store()
    runtime.lead_store.cache_clear()


@contextlib.contextmanager
def started_delivery() -> Iterator[DeliveryWorker]:
    worker = runtime.start_delivery()
    assert worker is not None
    try:
        yield worker
    finally:
        worker.stop()
        worker.join(5)


def test_without_a_webhook_no_worker_starts_and_leads_wait(action_server_env, monkeypatch, caplog):
    monkeypatch.delenv("LEADS_WEBHOOK_URL", raising=False)
    caplog.set_level(logging.INFO, logger="actions.inquiry.runtime")
    assert runtime.start_delivery() is None
    assert any("LEADS_WEBHOOK_URL" in message for message in caplog.messages)  # says what to set
    action_server_env.save(lead := make_lead(15))
    runtime.notify_delivery()  # what the form does after saving: nothing to wake
    assert status(action_server_env, lead.id) == PENDING


def test_a_saved_lead_is_delivered_at_once_not_at_the_next_interval(action_server_env, monkeypatch):
    first, second = make_lead(16), make_lead(17)
    action_server_env.save(first)
    with FakeCRM(SECRET) as crm:
        monkeypatch.setenv("LEADS_WEBHOOK_URL", crm.url)
        monkeypatch.setenv(runtime.DELIVERY_INTERVAL_ENV, "600")
        with started_delivery():
            assert wait_for(lambda: status(action_server_env, first.id) == DELIVERED, 10)  # its first round
            action_server_env.save(second)
            runtime.notify_delivery()  # as the form does once the lead is saved
            assert wait_for(lambda: status(action_server_env, second.id) == DELIVERED, 10)
    assert crm.bad_signatures == [] and set(crm.accepted) == {first.id, second.id}


def test_the_delivery_worker_never_keeps_the_action_server_from_exiting(tmp_path):
    """The action server stops without stopping the worker: the process must still end.

    Run as a child process, so mutation testing does not see it; it guards the same line.
    """
    code = "from actions.inquiry import runtime; assert runtime.start_delivery() is not None"
    env = quiet_env(
        LEADS_DATABASE_URL=f"sqlite:///{tmp_path / 'leads.sqlite3'}",
        LEADS_WEBHOOK_URL="http://127.0.0.1:9/leads",
        LEADS_WEBHOOK_SECRET=SECRET,
        LEADS_DELIVERY_INTERVAL="600",
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_the_worker_tries_again_every_configured_interval(action_server_env, monkeypatch):
    first, second = make_lead(18), make_lead(19)
    action_server_env.save(first)
    with FakeCRM(SECRET) as crm:
        monkeypatch.setenv("LEADS_WEBHOOK_URL", crm.url)
        monkeypatch.setenv(runtime.DELIVERY_INTERVAL_ENV, "0.1")
        with started_delivery():
            assert wait_for(lambda: status(action_server_env, first.id) == DELIVERED, 10)
            action_server_env.save(second)  # nobody wakes the worker: only its interval
            assert wait_for(lambda: status(action_server_env, second.id) == DELIVERED, 10)
    assert set(crm.accepted) == {first.id, second.id}
