"""Issue 10 (abuse): CRM delivery never jams, and receivers can verify and date every POST.

Over a real CRM on loopback (tests/crm.py): leads the CRM refuses for good leave the queue as
`failed` with our reason (never the CRM's body, which echoes the lead); other failures wait
their own exponential backoff, never before Retry-After, until the maximum age; staff list
and re-queue failed leads. Each POST verifies with the `standardwebhooks` library and stops
verifying once its body or timestamp is altered. An unusable webhook setting stops delivery
(the action server and `leads retry`) with exit status 2.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from email.utils import format_datetime

import pytest
import sqlalchemy as sa
import standardwebhooks
from alembic import command

from actions.inquiry import migrate, runtime
from actions.inquiry.delivery import Webhook, deliver_pending
from actions.inquiry.schedule import RetrySchedule
from actions.inquiry.store import DELIVERED, FAILED, PENDING, Lead, LeadStore, utc_now
from actions.inquiry.webhook import MIN_SECRET_BYTES, WebhookSettingError, message_id, new_secret, secret_key
from actions.leads import main as leads_main
from tests.conftest import MEASUREMENTS, ROOT, wait_for
from tests.crm import SECRET, FakeCRM
from tests.servers import action_server, quiet_env
from tests.test_delivery import personal_values
from tests.test_lead_store import empty_database, make_lead, postgres_url  # noqa: F401 (fixtures)
from tests.test_payload import VALIDATOR

SCHEDULE = RetrySchedule(first_delay=timedelta(seconds=10), max_delay=timedelta(seconds=30), max_age=timedelta(days=7))


@pytest.fixture
def store(tmp_path) -> Iterator[LeadStore]:
    lead_store = LeadStore(f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    yield lead_store
    lead_store.dispose()


def webhook(crm: FakeCRM) -> Webhook:
    return Webhook(crm.url, SECRET, timeout=5)


def oldest_first(count: int, start: int = 0) -> list[Lead]:
    """`count` leads made one millisecond apart, an hour ago: the first is the oldest."""
    origin = utc_now() - timedelta(hours=1)
    return [make_lead(n, created_at=origin + timedelta(milliseconds=n)) for n in range(start, start + count)]


def save(store: LeadStore, *leads: Lead) -> None:
    for lead in leads:
        store.save(lead)


# The queue never jams


def test_150_leads_the_crm_refuses_do_not_delay_the_151st(store):
    """Before: only the oldest 100 pending leads were tried, each again every round, so the
    151st was never tried at all. Now each due lead is tried once per round, and refused ones
    leave the queue."""
    *refused, good = oldest_first(151)
    save(store, *refused, good)
    with FakeCRM(refuse={lead.id: 422 for lead in refused}) as crm:
        first = deliver_pending(store, webhook(crm), schedule=SCHEDULE)
        assert crm.accepted_posts[good.id] == 1  # delivered in the first round
        assert (first.delivered, first.failed, first.retrying) == (1, 150, 0)
        requests = crm.requests
        assert deliver_pending(store, webhook(crm), schedule=SCHEDULE).tried == 0
        assert crm.requests == requests == 151  # each lead POSTed once; the refused ones not again
    assert store.get(good.id).delivery_status == DELIVERED
    assert {store.get(lead.id).delivery_status for lead in refused} == {FAILED}
    assert store.pending() == []
    MEASUREMENTS.append(
        "delivery: 150 leads refused (422) ahead of a good one -> before: the 151st never tried"
        " (300 refused POSTs a round, forever); after: delivered in round 1, 151 POSTs in all, none repeated"
    )


@pytest.mark.parametrize("answer", [400, 401, 403, 404, 409, 410, 413, 415, 422])
def test_a_lead_the_crm_refuses_for_good_fails_with_our_reason_and_is_not_sent_again(store, answer, caplog):
    lead = make_lead(1)
    store.save(lead)
    caplog.set_level("INFO", logger="actions.inquiry.delivery")
    with FakeCRM(refuse={lead.id: answer}) as crm:
        assert deliver_pending(store, webhook(crm), schedule=SCHEDULE).failed == 1
        store.make_pending_due(utc_now())  # a later round, or `leads retry` for every pending lead
        assert deliver_pending(store, webhook(crm), schedule=SCHEDULE).tried == 0
    assert crm.posts[lead.id] == 1 and crm.accepted == {}
    failed = store.get(lead.id)
    assert failed.delivery_status == FAILED and failed.delivered_at is None and failed.next_attempt_at is None
    assert re.fullmatch(rf"CRM answered HTTP {answer} [A-Z][A-Za-z ]+", failed.last_error)
    assert "cannot take this lead" not in failed.last_error + caplog.text  # the CRM's body: it echoed the lead
    assert any(lead.id in m and failed.last_error in m for m in caplog.messages)
    for personal in personal_values(lead):
        assert personal not in caplog.text


def test_a_crm_answering_503_keeps_the_lead_pending_and_each_wait_doubles_up_to_the_cap(store):
    lead = make_lead(2)
    store.save(lead)
    waits = []
    with FakeCRM() as crm:
        crm.down = True
        for _ in range(4):
            store.make_pending_due(utc_now())  # its time has come
            before = utc_now()
            assert deliver_pending(store, webhook(crm), schedule=SCHEDULE).retrying == 1
            after = utc_now()
            kept = store.get(lead.id)
            assert kept.delivery_status == PENDING and kept.last_error == "CRM answered HTTP 503 Service Unavailable"
            assert before < kept.next_attempt_at
            waits.append((kept.next_attempt_at - after, kept.next_attempt_at - before))
    for (shortest, longest), expected in zip(waits, (10, 20, 30, 30), strict=True):  # 10 s doubled, capped at 30
        assert shortest <= timedelta(seconds=expected) <= longest
    assert store.get(lead.id).delivery_attempts == 4 and crm.posts[lead.id] == 4


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_429_with_retry_after_is_not_tried_before_it(store, form):
    lead = make_lead(3)
    store.save(lead)
    later = utc_now() + timedelta(hours=2)
    retry_after = "7200" if form == "seconds" else format_datetime(later, usegmt=True)
    with FakeCRM(failure_status=429, failure_headers={"Retry-After": retry_after}) as crm:
        crm.down = True
        before = utc_now()
        assert deliver_pending(store, webhook(crm), schedule=SCHEDULE).retrying == 1
        assert deliver_pending(store, webhook(crm), schedule=SCHEDULE).tried == 0  # not before it
    kept = store.get(lead.id)
    assert kept.delivery_status == PENDING and "HTTP 429" in kept.last_error
    # Far past the 10 s backoff: the CRM's wish (an HTTP date has whole seconds only).
    assert kept.next_attempt_at >= min(before + timedelta(seconds=7200), later.replace(microsecond=0))
    assert crm.posts[lead.id] == 1


def test_an_unreadable_retry_after_falls_back_on_the_backoff(store):
    store.save(lead := make_lead(4))
    with FakeCRM(failure_headers={"Retry-After": "whenever"}) as crm:
        crm.down = True
        before = utc_now()
        deliver_pending(store, webhook(crm), schedule=SCHEDULE)
        after = utc_now()
    assert before + timedelta(seconds=10) <= store.get(lead.id).next_attempt_at <= after + timedelta(seconds=10)


def test_a_lead_older_than_the_max_age_is_failed_after_its_last_attempt(store):
    now = utc_now()
    too_old = make_lead(5, created_at=now - timedelta(days=8))
    tried_before = make_lead(6, created_at=now - timedelta(days=7, minutes=1))
    young = make_lead(7, created_at=now - timedelta(days=6))
    save(store, too_old, tried_before, young)
    for _ in range(5):
        store.schedule_retry(tried_before.id, "ConnectError", now)
    with FakeCRM() as crm:
        crm.down = True
        done = deliver_pending(store, webhook(crm), schedule=SCHEDULE)
    assert (done.failed, done.retrying) == (2, 1)
    assert all(crm.posts[lead.id] == 1 for lead in (too_old, tried_before, young))  # each got its last try
    assert store.get(too_old.id).last_error == (
        "gave up after 1 attempt over 8.0 days (last: CRM answered HTTP 503 Service Unavailable)"
    )
    assert store.get(tried_before.id).last_error.startswith("gave up after 6 attempts over 7.0 days")
    assert store.get(young.id).delivery_status == PENDING
    assert {store.get(lead.id).delivery_status for lead in (too_old, tried_before)} == {FAILED}


def test_an_old_lead_the_crm_takes_on_its_last_attempt_is_delivered(store):
    store.save(old := make_lead(8, created_at=utc_now() - timedelta(days=30)))
    with FakeCRM() as crm:
        assert deliver_pending(store, webhook(crm), schedule=SCHEDULE).delivered == 1
    assert store.get(old.id).delivery_status == DELIVERED


def test_a_lead_that_cannot_be_sent_waits_its_turn_and_the_round_goes_on(store, monkeypatch):
    """A lead the code cannot even POST (here a payload that fails to build) must not stop the
    round for the leads behind it, nor log what it holds."""
    broken, fine = oldest_first(2, start=9)
    save(store, broken, fine)
    from actions.inquiry import webhook as webhook_module

    real = webhook_module.build_payload

    def build(lead: Lead) -> dict:
        if lead.id == broken.id:
            raise ValueError(f"cannot encode {lead.answers['email']}")
        return real(lead)

    monkeypatch.setattr(webhook_module, "build_payload", build)
    with FakeCRM() as crm:
        done = deliver_pending(store, webhook(crm), schedule=SCHEDULE)
    assert (done.delivered, done.retrying) == (1, 1) and crm.accepted_posts[fine.id] == 1
    kept = store.get(broken.id)
    assert kept.delivery_status == PENDING and kept.last_error == "could not be sent (ValueError)"


# Staff: list the failed leads, re-queue one


def run_leads(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = leads_main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def staff_store(store, monkeypatch) -> LeadStore:
    """The store the staff command line reads (LEADS_DATABASE_URL)."""
    monkeypatch.setenv("LEADS_DATABASE_URL", store.url)
    monkeypatch.delenv("LEADS_WEBHOOK_URL", raising=False)
    return store


def test_leads_list_status_failed_shows_the_failed_leads_and_why_without_contact_details(staff_store, capsys):
    refused, waiting, delivered = oldest_first(3, start=20)
    save(staff_store, refused, waiting, delivered)
    with FakeCRM(refuse={refused.id: 422, waiting.id: 503}) as crm:
        deliver_pending(staff_store, webhook(crm), schedule=SCHEDULE)
    code, out, _ = run_leads(capsys, "list", "--status", "failed")
    assert code == 0 and out.splitlines()[-1] == "1 lead(s)"
    [row] = out.splitlines()[1:-1]
    assert row.startswith(f"{refused.created_at:%Y-%m-%d %H:%M}  {refused.id[:8]}")
    assert row.endswith("failed  CRM answered HTTP 422 Unprocessable Entity")
    for personal in (refused.answers["email"], refused.answers["phone"], "cannot take this lead"):
        assert personal not in out
    code, out, _ = run_leads(capsys, "list", "--status", "pending")
    assert [line[18:26] for line in out.splitlines()[1:-1]] == [waiting.id[:8]]
    assert "CRM answered HTTP 503 Service Unavailable; next attempt" in out
    code, out, _ = run_leads(capsys, "export")
    exported = {row["id"]: row for row in map(json.loads, out.splitlines())}
    assert exported[refused.id]["delivery_status"] == FAILED and exported[refused.id]["next_attempt_at"] is None


def test_leads_retry_id_requeues_a_failed_lead_which_the_next_round_delivers(staff_store, capsys):
    lead = make_lead(30)
    staff_store.save(lead)
    with FakeCRM(refuse={lead.id: 422}) as crm:
        deliver_pending(staff_store, webhook(crm), schedule=SCHEDULE)
        assert staff_store.get(lead.id).delivery_status == FAILED
        before = utc_now()
        code, out, err = run_leads(capsys, "retry", lead.id[:8])  # as `leads list` shows it
        assert code == 0 and err == ""
        assert out.startswith(f"lead {lead.id} re-queued (was failed: CRM answered HTTP 422 Unprocessable Entity)")
        requeued = staff_store.get(lead.id)
        assert requeued.delivery_status == PENDING and before <= requeued.next_attempt_at <= utc_now()
        del crm.refuse[lead.id]  # the CRM was fixed
        assert deliver_pending(staff_store, webhook(crm), schedule=SCHEDULE).delivered == 1
    delivered = staff_store.get(lead.id)
    assert delivered.delivery_status == DELIVERED and delivered.delivery_attempts == 2
    code, _, err = run_leads(capsys, "retry", lead.id)
    assert code == 1 and err.strip() == f"lead {lead.id} was already delivered: nothing to retry"


def test_leads_retry_id_makes_a_waiting_lead_due_now(staff_store, capsys):
    staff_store.save(lead := make_lead(31))
    staff_store.schedule_retry(lead.id, "ReadTimeout", utc_now() + timedelta(hours=1))
    code, out, _ = run_leads(capsys, "retry", lead.id)
    assert code == 0 and out.startswith(f"lead {lead.id} re-queued (was pending: ReadTimeout)")
    assert [due.id for due in staff_store.due(utc_now())] == [lead.id]


@pytest.mark.parametrize("given", ["0000dead", "0000DEAD-0000", "%", "_", "visitor30@example.com", "aaaa"])
def test_leads_retry_with_an_id_no_single_lead_has_says_so_and_exits_1(staff_store, capsys, given):
    twins = [make_lead(n, id=f"aaaa{n}000-0000-4000-8000-000000000000") for n in (1, 2)]
    save(staff_store, make_lead(30), *twins)
    code, out, err = run_leads(capsys, "retry", given)
    assert code == 1 and out == ""
    many = "more than one lead" if given == "aaaa" else "no lead"
    assert err.startswith(f"{many} has an id starting with {given!r}")
    assert {lead.delivery_status for lead in staff_store.all()} == {PENDING}


# Signatures receivers can verify and date


def test_each_post_verifies_with_standardwebhooks_and_fails_once_altered(store):
    store.save(lead := make_lead(40))
    with FakeCRM() as crm:
        before = utc_now()
        deliver_pending(store, webhook(crm), schedule=SCHEDULE)
    [post] = crm.received
    receiver = standardwebhooks.Webhook(SECRET)
    payload = receiver.verify(post.body, post.headers)
    VALIDATOR.validate(payload)
    assert payload["lead_id"] == lead.id and crm.bad_signatures == []
    assert post.headers["webhook-id"] == post.headers["Idempotency-Key"] == message_id(lead.id, post.body.decode())
    assert post.headers["webhook-id"].startswith(f"{lead.id}.")
    assert int(before.timestamp()) <= int(post.headers["webhook-timestamp"]) <= int(utc_now().timestamp())
    altered_body = post.body.replace(lead.answers["email"].encode(), b"someone.else@example.com")
    later = {**post.headers, "webhook-timestamp": str(int(post.headers["webhook-timestamp"]) + 1)}
    other_id = {**post.headers, "webhook-id": "another-message"}
    for body, headers in ((altered_body, post.headers), (post.body, later), (post.body, other_id)):
        with pytest.raises(standardwebhooks.WebhookVerificationError):
            receiver.verify(body, headers)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(new_secret()).verify(post.body, post.headers)  # another secret


def test_a_replay_older_than_five_minutes_is_refused_by_the_receiver():
    hook = Webhook("https://crm.example/leads", SECRET)
    body = '{"lead_id": "x"}'
    receiver = standardwebhooks.Webhook(SECRET)
    fresh = hook.signed_headers("x", body, utc_now())
    assert receiver.verify(body, fresh) == {"lead_id": "x"}
    stale = hook.signed_headers("x", body, utc_now() - timedelta(minutes=6))
    with pytest.raises(standardwebhooks.WebhookVerificationError, match="too old"):
        receiver.verify(body, stale)


def test_a_retried_lead_keeps_its_webhook_id_and_is_signed_afresh(store):
    store.save(lead := make_lead(41))
    with FakeCRM(fail_first=1) as crm:
        deliver_pending(store, webhook(crm), schedule=SCHEDULE)
        store.make_pending_due(utc_now())
        deliver_pending(store, webhook(crm), schedule=SCHEDULE)
    first, second = crm.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]  # one message, sent twice
    assert first.headers["webhook-id"].startswith(f"{lead.id}.")
    assert int(first.headers["webhook-timestamp"]) <= int(second.headers["webhook-timestamp"])
    assert crm.bad_signatures == [] and crm.accepted_posts[lead.id] == 1


def test_an_updated_lead_is_a_new_message_the_crm_files_over_the_earlier_one(store):
    store.save(lead := make_lead(42))
    with FakeCRM() as crm:
        deliver_pending(store, webhook(crm), schedule=SCHEDULE)
        update = make_lead(43)
        assert store.replace(lead.id, update)  # the same person inquired again the same day
        deliver_pending(store, webhook(crm), schedule=SCHEDULE)
    first, second = crm.received
    assert first.headers["webhook-id"] != second.headers["webhook-id"]
    assert second.headers["Idempotency-Key"] == second.headers["webhook-id"]
    assert list(crm.accepted) == [lead.id]
    assert crm.accepted[lead.id]["email"] == update.answers["email"] != lead.answers["email"]
    assert store.get(lead.id).delivery_status == DELIVERED


def readme_receiver() -> str:
    leads = (ROOT / "README.md").read_text().split("\n## Leads\n", 1)[1].split("\n## ", 1)[0]
    return leads.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_receiver_verifies_a_real_post_in_five_lines(store, monkeypatch):
    code = readme_receiver()
    assert len([line for line in code.splitlines() if line.strip()]) <= 5
    store.save(lead := make_lead(42))
    with FakeCRM() as crm:
        deliver_pending(store, webhook(crm), schedule=SCHEDULE)
    [post] = crm.received
    monkeypatch.setenv("LEADS_WEBHOOK_SECRET", SECRET)  # the receiver's copy of the secret
    receiver: dict = {}
    exec(compile(code, "README.md", "exec"), receiver)
    assert receiver["received_lead"](post.body, post.headers)["lead_id"] == lead.id
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        receiver["received_lead"](post.body.replace(b"Visitor", b"Visiter"), post.headers)


def test_new_secret_makes_a_secret_the_webhook_and_receivers_accept(capsys, monkeypatch):
    monkeypatch.setenv("LEADS_DATABASE_URL", "sqlite://")
    code, out, _ = run_leads(capsys, "new-secret")
    secret = out.strip()
    assert code == 0 and re.fullmatch(r"whsec_[A-Za-z0-9+/]+=*", secret)
    assert len(secret_key(secret)) == MIN_SECRET_BYTES
    body = '{"lead_id": "x"}'
    headers = Webhook("https://crm.example/leads", secret).signed_headers("x", body, utc_now())
    assert standardwebhooks.Webhook(secret).verify(body, headers) == {"lead_id": "x"}
    assert run_leads(capsys, "new-secret")[1].strip() != secret  # random each time


# Refusing to start with an unusable webhook

SHORT = "whsec_" + base64.b64encode(b"x" * (MIN_SECRET_BYTES - 1)).decode()
RAW = "a-long-password-someone-typed-in-by-hand"
REFUSED = [
    pytest.param("https://crm.example/leads", None, "LEADS_WEBHOOK_SECRET must be set", id="no-secret"),
    pytest.param("https://crm.example/leads", "", "LEADS_WEBHOOK_SECRET must be set", id="empty-secret"),
    pytest.param("https://crm.example/leads", SHORT, "holds 31 bytes, fewer than 32", id="short-secret"),
    pytest.param("https://crm.example/leads", RAW, "must start with 'whsec_'", id="raw-secret"),
    pytest.param("https://crm.example/leads", "whsec_not base64!", "not valid base64", id="bad-base64"),
    pytest.param("http://crm.example/leads", SECRET, "unencrypted to crm.example: use https://", id="http-remote"),
    pytest.param("http://10.0.0.5/leads?token=t0p", SECRET, "unencrypted to 10.0.0.5", id="http-private-ip"),
    pytest.param("http://127.0.0.1.example.com/", SECRET, "unencrypted", id="http-lookalike"),
    pytest.param("ftp://crm.example/leads", SECRET, "must be an https:// address", id="ftp"),
    pytest.param("crm.example/leads", SECRET, "must be an https:// address", id="no-scheme"),
    pytest.param("https://[::1/leads", SECRET, "must be an https:// address", id="malformed"),
]


def webhook_env(monkeypatch, url: str, secret: str | None) -> None:
    monkeypatch.setenv("LEADS_WEBHOOK_URL", url)
    if secret is None:
        monkeypatch.delenv("LEADS_WEBHOOK_SECRET", raising=False)
    else:
        monkeypatch.setenv("LEADS_WEBHOOK_SECRET", secret)


@pytest.mark.parametrize("url, secret, message", REFUSED)
def test_an_unusable_webhook_setting_stops_delivery_with_a_clear_message(monkeypatch, url, secret, message):
    webhook_env(monkeypatch, url, secret)
    monkeypatch.setattr(runtime, "_worker", None)
    with pytest.raises(WebhookSettingError) as refused:
        runtime.start_delivery()  # actions/__main__.py turns this ValueError into exit status 2
    assert message in str(refused.value) and runtime._worker is None
    for credential in (SECRET, RAW, SHORT, "t0p"):
        assert credential not in str(refused.value)


@pytest.mark.parametrize("url, secret, message", REFUSED[::3])
def test_leads_retry_refuses_an_unusable_webhook_with_exit_2(staff_store, capsys, monkeypatch, url, secret, message):
    staff_store.save(make_lead(50))
    webhook_env(monkeypatch, url, secret)
    code, out, err = run_leads(capsys, "retry")
    assert code == 2 and out == "" and err.startswith("Cannot deliver: ") and message in err


@pytest.mark.parametrize(
    "url",
    [
        "https://crm.example/leads",
        "HTTPS://CRM.EXAMPLE/leads",
        "http://127.0.0.1:8080/leads",
        "http://127.1.2.3/leads",
        "http://[::1]:8080/leads",
        "http://localhost/leads",
        "http://LOCALHOST:9/leads",
    ],
)
def test_https_or_plain_http_to_this_machine_is_accepted(monkeypatch, url):
    webhook_env(monkeypatch, url, SECRET)
    configured = Webhook.from_env()
    assert configured is not None and configured.url == url


@pytest.mark.parametrize(
    "setting", [runtime.DELIVERY_BACKOFF_ENV, runtime.DELIVERY_MAX_BACKOFF_ENV, runtime.DELIVERY_MAX_AGE_ENV]
)
@pytest.mark.parametrize("value", ["0", "-1", "nan", "soon", "1e300"])
def test_a_bad_retry_setting_stops_delivery(monkeypatch, setting, value):
    webhook_env(monkeypatch, "https://crm.example/leads", SECRET)
    monkeypatch.setenv(setting, value)
    with pytest.raises(ValueError, match=setting):
        runtime.start_delivery()


def test_the_retry_settings_and_their_defaults(monkeypatch):
    for name in (runtime.DELIVERY_BACKOFF_ENV, runtime.DELIVERY_MAX_BACKOFF_ENV, runtime.DELIVERY_MAX_AGE_ENV):
        monkeypatch.delenv(name, raising=False)
    assert runtime.retry_schedule() == RetrySchedule(timedelta(minutes=1), timedelta(hours=1), timedelta(days=7))
    monkeypatch.setenv(runtime.DELIVERY_BACKOFF_ENV, "5")
    monkeypatch.setenv(runtime.DELIVERY_MAX_BACKOFF_ENV, "600")
    monkeypatch.setenv(runtime.DELIVERY_MAX_AGE_ENV, "0.5")
    assert runtime.retry_schedule() == RetrySchedule(timedelta(seconds=5), timedelta(minutes=10), timedelta(hours=12))


@pytest.mark.slow
@pytest.mark.parametrize("url, secret, message", [REFUSED[0], REFUSED[2], REFUSED[5]])
def test_the_action_server_refuses_to_start_with_an_unusable_webhook(tmp_path, url, secret, message):
    env = quiet_env(LEADS_DATABASE_URL=f"sqlite:///{tmp_path / 'leads.sqlite3'}", LEADS_WEBHOOK_URL=url)
    env.pop("LEADS_WEBHOOK_SECRET", None)
    if secret is not None:
        env["LEADS_WEBHOOK_SECRET"] = secret
    result = subprocess.run(
        [sys.executable, "-m", "actions", "--port", "0"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert "Cannot start the action server: LEADS_WEBHOOK_" in result.stderr and message in result.stderr


@pytest.mark.slow
def test_the_action_server_starts_and_delivers_signed_to_a_loopback_crm(tmp_path):
    leads_url = f"sqlite:///{tmp_path / 'leads.sqlite3'}"
    waiting = LeadStore(leads_url)
    waiting.save(lead := make_lead(60))
    with FakeCRM() as crm:
        env = {"LEADS_WEBHOOK_URL": crm.url, "LEADS_WEBHOOK_SECRET": SECRET}
        with action_server(tmp_path, None, leads_url, **env):
            assert wait_for(lambda: crm.accepted_posts[lead.id] == 1, 30)
    delivered = waiting.get(lead.id)
    assert crm.bad_signatures == [] and delivered is not None and delivered.delivery_status == DELIVERED
    waiting.dispose()


@pytest.mark.slow
def test_the_action_server_starts_with_an_https_crm(tmp_path):
    env = {"LEADS_WEBHOOK_URL": "https://crm.example.invalid/leads", "LEADS_WEBHOOK_SECRET": SECRET}
    with action_server(tmp_path, None, None, **env) as url:
        assert url.startswith("http://127.0.0.1:")  # it answered its health check


# The migration (0004) on databases holding leads


@pytest.mark.parametrize("revision", ["0001", "0002_consent_record", "0003_retention"])
def test_upgrading_from_each_older_revision_makes_pending_leads_due_and_loses_none(empty_database, revision):  # noqa: F811
    engine = sa.create_engine(empty_database, future=True)
    waiting, delivered = make_lead(70), make_lead(71)
    delivered.delivery_status, delivered.delivered_at = DELIVERED, utc_now()
    with engine.begin() as connection:
        command.upgrade(migrate.config(connection), revision)
        table = sa.Table("leads", sa.MetaData(), autoload_with=connection)
        for lead in (waiting, delivered):
            row = {**lead.values(), "questions": json.dumps(lead.questions)}
            connection.execute(table.insert().values({column.name: row[column.name] for column in table.c}))
    engine.dispose()

    store = LeadStore(empty_database)
    loaded = {lead.id: lead for lead in store.all()}
    due = [lead.id for lead in store.due(utc_now())]
    store.dispose()
    assert set(loaded) == {waiting.id, delivered.id}
    assert loaded[waiting.id].next_attempt_at == waiting.created_at  # due at once, as before the upgrade
    assert loaded[delivered.id].next_attempt_at is None and due == [waiting.id]
    assert loaded[waiting.id].answers["email"] == waiting.answers["email"]


def test_undoing_0004_puts_failed_leads_back_in_the_queue(tmp_path):
    url = f"sqlite:///{tmp_path / 'leads.sqlite3'}"
    store = LeadStore(url)
    store.save(lead := make_lead(72))
    store.mark_failed(lead.id, "CRM answered HTTP 422 Unprocessable Entity")
    store.dispose()
    engine = sa.create_engine(url, future=True)
    with engine.begin() as connection:
        command.downgrade(migrate.config(connection), "0003_retention")
        status = connection.exec_driver_sql("SELECT delivery_status FROM leads").scalar_one()
    engine.dispose()
    assert status == PENDING  # the older code knows no `failed`: it retries the lead


def test_a_failure_recorded_late_never_undoes_a_delivery(store):
    """`leads retry` and the action server's worker may POST the same lead at once: the CRM
    takes it once (Idempotency-Key), and the slower of the two must not mark it failed."""
    store.save(lead := make_lead(73))
    store.mark_delivered(lead.id)
    store.mark_failed(lead.id, "CRM answered HTTP 409 Conflict")
    store.schedule_retry(lead.id, "ReadTimeout", utc_now())
    kept = store.get(lead.id)
    assert kept is not None and kept.delivery_status == DELIVERED and kept.last_error is None
    assert kept.next_attempt_at is None and store.due(utc_now()) == []
