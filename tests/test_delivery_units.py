"""Fast checks of the CRM delivery's parts: the webhook's settings and headers, what each HTTP
answer comes to, the retry schedule's arithmetic and what a delivery round records and logs.

The same behaviour end to end (a real CRM on loopback, the action server's worker) is in
test_delivery.py and test_abuse_delivery.py; these pin the edges those leave loose: exact
boundaries, header dates in other time zones, a clock that stands still.
"""

from __future__ import annotations

import logging
import re
import socket
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from actions.inquiry import delivery
from actions.inquiry.delivery import DeliveryWorker, deliver_pending
from actions.inquiry.schedule import RetrySchedule, parse_retry_after, span
from actions.inquiry.store import DELIVERED, FAILED, PENDING, LeadStore, utc_now
from actions.inquiry.webhook import Answer, Webhook, WebhookSettingError, check_url, message_id, read_answer, secret_key
from tests.crm import SECRET, FakeCRM
from tests.test_lead_store import make_lead

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(tmp_path):
    lead_store = LeadStore(f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    yield lead_store
    lead_store.dispose()


# The webhook's settings


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param("", id="missing"),
        pytest.param("a-password", id="no-prefix"),
        pytest.param("whsec_%%%", id="not-base64"),
        pytest.param("whsec_c2hvcnQ=", id="short"),
    ],
)
def test_every_refused_secret_says_how_to_make_a_good_one(secret):
    with pytest.raises(WebhookSettingError, match=re.escape("`python -m actions.leads new-secret`")):
        secret_key(secret)


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param(SECRET + "!", id="stray-character"),
        pytest.param(SECRET[:20] + " " + SECRET[20:], id="space-inside"),
        pytest.param(SECRET + "\n", id="newline"),
    ],
)
def test_a_secret_with_characters_outside_base64_is_refused_not_read_as_another_key(secret):
    """A lenient decoder would drop the stray character and sign with a key the CRM may not hold."""
    with pytest.raises(WebhookSettingError, match="not valid base64"):
        secret_key(secret)


@pytest.mark.parametrize("url", ["https://", "https:///leads", "http://:8080/leads"])
def test_a_url_without_a_host_is_refused(url):
    with pytest.raises(WebhookSettingError, match="must be an https:// address"):
        check_url(url)


def test_plain_http_elsewhere_is_refused_with_where_plain_http_is_allowed():
    with pytest.raises(WebhookSettingError) as refused:
        check_url("http://crm.example/leads")
    assert str(refused.value).endswith("(plain http:// is allowed to this machine only: localhost, 127.0.0.0/8, ::1)")


# What an HTTP answer comes to


def answer(status: int, **headers: str) -> Answer:
    return read_answer(httpx.Response(status, headers=headers), NOW)


@pytest.mark.parametrize("status", [500, 502, 503, 408, 429, 301, 302, 399, 599, 600, 100])
def test_a_5xx_408_429_redirect_or_odd_answer_is_retried_with_our_reason(status):
    got = answer(status)
    assert got.outcome == "retry" and got.reason is not None and got.reason.startswith(f"CRM answered HTTP {status}")
    assert got.retry_after is None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 410, 422, 499])
def test_a_4xx_other_than_408_and_429_refuses_the_lead(status):
    assert answer(status).outcome == "refused"


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_any_2xx_delivers(status):
    assert answer(status) == Answer("delivered")


def test_a_retried_answer_carries_the_crms_retry_after():
    assert answer(503, **{"Retry-After": "120"}) == Answer(
        "retry", "CRM answered HTTP 503 Service Unavailable", timedelta(seconds=120)
    )


def test_a_crm_that_cannot_be_reached_is_retried_naming_the_error_only():
    with socket.socket() as unused:  # a port nothing listens on once this closes
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    hook = Webhook(f"http://127.0.0.1:{port}/leads", SECRET, timeout=5)
    with httpx.Client() as client:
        assert hook.send(client, make_lead(1)) == Answer("retry", "ConnectError")


# The message id


def test_the_message_id_is_the_lead_id_and_16_hex_digits_of_the_body():
    lead_id = "5f0c6c1e-0000-4000-8000-000000000001"
    first = message_id(lead_id, '{"a": 1}')
    assert re.fullmatch(re.escape(lead_id) + r"\.[0-9a-f]{16}", first)
    assert message_id(lead_id, '{"a": 1}') == first and message_id(lead_id, '{"a": 2}') != first


# Retry-After


@pytest.mark.parametrize(
    "header, wait",
    [
        pytest.param("Sun, 29 Nov 2026 12:30:00 GMT", timedelta(minutes=30), id="gmt"),
        pytest.param("Sun, 29 Nov 2026 12:30:00 -0000", timedelta(minutes=30), id="unknown-zone"),
        pytest.param("Sun, 29 Nov 2026 15:00:00 +0200", timedelta(hours=1), id="two-hours-east"),
        pytest.param("Sun, 29 Nov 2026 11:00:00 GMT", timedelta(0), id="past"),
        pytest.param("Sun, 29 Nov 2026 11:59:59 -0000", timedelta(0), id="past-unknown-zone"),
        pytest.param(" 90 ", timedelta(seconds=90), id="seconds"),
        pytest.param("0", timedelta(0), id="zero"),
    ],
)
def test_retry_after_as_a_wait_from_now(header, wait):
    assert parse_retry_after(header, NOW) == wait


@pytest.mark.parametrize("header", [None, "", "   ", "soon", "-5", "1.5", "Sun, 99 Nov 2026"])
def test_an_absent_or_unreadable_retry_after_is_none(header):
    assert parse_retry_after(header, NOW) is None


def test_a_huge_retry_after_is_capped_at_a_billion_seconds():
    """About 31 years: far past any max age, and a date it gives is still a date."""
    wait = parse_retry_after("9" * 30, NOW)
    assert wait == timedelta(seconds=10**9)
    assert NOW + wait > NOW


# The schedule


@pytest.mark.parametrize(
    "duration, shown",
    [
        (timedelta(days=1), "1.0 days"),
        (timedelta(days=7), "7.0 days"),
        (timedelta(seconds=90720), "1.1 days"),
        (timedelta(hours=23, minutes=59), "24.0 hours"),
        (timedelta(hours=1), "1.0 hours"),
        (timedelta(seconds=3780), "1.1 hours"),
        (timedelta(minutes=59), "59 minutes"),
        (timedelta(minutes=12), "12 minutes"),
        (timedelta(seconds=59), "59 seconds"),
        (timedelta(0), "0 seconds"),
    ],
)
def test_a_span_is_shown_in_the_largest_unit_it_fills(duration, shown):
    assert span(duration) == shown


def test_a_span_of_exactly_one_minute_is_shown_in_minutes():
    assert span(timedelta(seconds=60)).startswith("1 minute")


def test_a_lead_exactly_max_age_old_gets_no_further_attempt():
    schedule = RetrySchedule(max_age=timedelta(days=7))
    assert schedule.next_attempt(make_lead(1, created_at=NOW - timedelta(days=7)), NOW) is None
    assert schedule.next_attempt(make_lead(1, created_at=NOW - timedelta(days=7) + timedelta(seconds=1)), NOW)


# A delivery round


class StandingClock:
    """utc_now for a round in which no time passes: a zero backoff makes a failed lead due at
    once. Counts its readings so a round that never ends fails instead of hanging."""

    def __init__(self, at: datetime) -> None:
        self.at, self.readings = at, 0

    def __call__(self) -> datetime:
        self.readings += 1
        if self.readings > 1000:
            raise RuntimeError("the round keeps going: a lead was tried again within it")
        return self.at


def test_a_round_tries_each_lead_once_even_when_its_retry_falls_due_within_the_round(store, monkeypatch):
    clock = StandingClock(utc_now())
    leads = [make_lead(n, created_at=clock.at - timedelta(seconds=10 - n)) for n in range(3)]
    for lead in leads:
        store.save(lead)
    monkeypatch.setattr(delivery, "utc_now", clock)
    at_once = RetrySchedule(first_delay=timedelta(0), max_delay=timedelta(0))
    with FakeCRM(SECRET) as crm:
        crm.down = True
        done = deliver_pending(store, Webhook(crm.url, SECRET, timeout=5), schedule=at_once)
    assert (done.tried, done.retrying) == (3, 3)
    assert {lead.id: crm.posts[lead.id] for lead in leads} == {lead.id: 1 for lead in leads}
    assert all(store.get(lead.id).next_attempt_at == clock.at for lead in leads)  # due again: next round


def messages(caplog, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == delivery.__name__ and r.levelno == level]


def test_each_outcome_is_logged_by_lead_id_with_what_comes_next(store, caplog, monkeypatch):
    """Staff read these lines to follow a lead: delivered, waiting until when, failed and why."""
    clock = StandingClock(utc_now())
    monkeypatch.setattr(delivery, "utc_now", clock)
    took, waits, refused = (make_lead(n, created_at=clock.at - timedelta(seconds=10 - n)) for n in range(3))
    old = make_lead(3, created_at=clock.at - timedelta(days=8))
    for lead in (old, took, waits, refused):
        store.save(lead)
    caplog.set_level(logging.INFO, logger=delivery.__name__)
    schedule = RetrySchedule(first_delay=timedelta(minutes=1))
    with FakeCRM(SECRET, refuse={waits.id: 503, refused.id: 422, old.id: 503}) as crm:
        deliver_pending(store, Webhook(crm.url, SECRET, timeout=5), schedule=schedule)
    assert messages(caplog, logging.INFO) == [f"lead {took.id} delivered"]
    due = (clock.at + timedelta(minutes=1)).isoformat()
    assert messages(caplog, logging.WARNING) == [
        f"lead {old.id} failed, not retried: gave up after 1 attempt over 8.0 days"
        " (last: CRM answered HTTP 503 Service Unavailable)",
        f"lead {waits.id} not delivered yet (CRM answered HTTP 503 Service Unavailable); next attempt {due}",
        f"lead {refused.id} failed, not retried: CRM answered HTTP 422 Unprocessable Entity",
    ]
    statuses = {lead.id: store.get(lead.id).delivery_status for lead in (old, took, waits, refused)}
    assert statuses == {old.id: FAILED, took.id: DELIVERED, waits.id: PENDING, refused.id: FAILED}


def test_a_lead_that_cannot_be_sent_is_logged_by_id_and_error_type_only(store, caplog, monkeypatch):
    lead = make_lead(1)
    store.save(lead)
    from actions.inquiry import webhook as webhook_module

    def unbuildable(broken):
        raise ValueError(f"cannot encode {broken.answers['email']}")

    monkeypatch.setattr(webhook_module, "build_payload", unbuildable)
    caplog.set_level(logging.INFO, logger=delivery.__name__)
    with FakeCRM(SECRET) as crm:
        assert deliver_pending(store, Webhook(crm.url, SECRET, timeout=5)).retrying == 1
    assert messages(caplog, logging.ERROR) == [f"lead {lead.id} could not be sent: ValueError"]


# The worker thread


def test_the_worker_is_a_daemon_thread_named_for_its_job(store):
    """A daemon: it never keeps the action server from exiting. Named: a thread dump says what it is."""
    worker = DeliveryWorker(store, Webhook("https://crm.example/leads", SECRET), interval=60)
    assert worker.daemon is True and worker.name == "lead-delivery"
