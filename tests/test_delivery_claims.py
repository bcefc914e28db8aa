"""Each due lead is claimed by one delivery process before its POST (store.py `claim`), for a
lease that frees it if that process dies. Fast on SQLite; the slow suite runs the store's
checks on a real PostgreSQL server too (test_lead_store.py's `store` fixture), where a claim
also skips a row another transaction is claiming (FOR UPDATE SKIP LOCKED).

Many processes against one database and one CRM, with a kill -9: test_delivery_contention.py.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from actions.inquiry import runtime
from actions.inquiry.delivery import DeliveryWorker, Webhook, deliver_pending, new_claim, process_claimant
from actions.inquiry.store import CLAIM_LENGTH, DELIVERED, FAILED, PENDING, Lead, LeadStore, leads, utc_now
from tests import test_lead_store
from tests.conftest import wait_for
from tests.crm import SECRET, FakeCRM
from tests.test_lead_store import make_lead

MOMENT = datetime(2026, 9, 1, 12, 0, tzinfo=timezone.utc)
LEASE = timedelta(minutes=5)
TICK = timedelta(microseconds=1)
store, postgres_url = test_lead_store.store, test_lead_store.postgres_url


@pytest.fixture
def sqlite_store(tmp_path):
    lead_store = LeadStore(f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    yield lead_store
    lead_store.dispose()


def saved(lead_store: LeadStore, *made: Lead) -> list[Lead]:
    for lead in made:
        assert lead_store.save(lead) is True
    return list(made)


def queue(lead_store: LeadStore, count: int) -> list[Lead]:
    """`count` leads due at MOMENT, oldest first."""
    return saved(lead_store, *(make_lead(n, created_at=MOMENT - timedelta(minutes=count - n)) for n in range(count)))


# --- The claim ---------------------------------------------------------------------------------


def test_a_claim_takes_the_oldest_due_lead_with_its_token_until_the_lease_ends(store):
    first, _ = queue(store, 2)
    taken = store.claim(MOMENT, "host-a:1:x", LEASE, now=MOMENT)
    assert taken is not None and taken.id == first.id and taken == store.get(first.id)
    assert store.claim_of(first.id) == ("host-a:1:x", MOMENT + LEASE)


def test_two_claims_take_two_different_leads_and_a_third_finds_none(store):
    first, second = queue(store, 2)
    assert store.claim(MOMENT, "a:1:x", LEASE, now=MOMENT).id == first.id
    assert store.claim(MOMENT, "b:2:y", LEASE, now=MOMENT).id == second.id
    assert store.claim(MOMENT, "c:3:z", LEASE, now=MOMENT) is None


def test_a_held_lead_is_passed_by_until_its_lease_ends_then_anyone_may_claim_it(store):
    """A process killed mid-POST holds its lead until then, not forever."""
    (lead,) = queue(store, 1)
    store.claim(MOMENT, "dead:1:x", LEASE, now=MOMENT)
    assert store.claim(MOMENT, "alive:2:y", LEASE, now=MOMENT + LEASE - TICK) is None
    again = store.claim(MOMENT, "alive:2:y", LEASE, now=MOMENT + LEASE)
    assert again is not None and again.id == lead.id
    assert store.claim_of(lead.id) == ("alive:2:y", MOMENT + 2 * LEASE)


def test_delivered_failed_and_not_yet_due_leads_are_never_claimed(store):
    due_at = MOMENT - timedelta(hours=1)
    saved(
        store,
        make_lead(1, delivery_status=DELIVERED, next_attempt_at=due_at),
        make_lead(2, delivery_status=FAILED, next_attempt_at=due_at),
        make_lead(3, created_at=MOMENT + TICK),  # due a moment later
    )
    assert store.claim(MOMENT, "a:1:x", LEASE, now=MOMENT) is None


def test_a_claim_walks_on_after_the_given_lead(store):
    first, second, third = queue(store, 3)
    assert store.claim(MOMENT, "a:1:x", LEASE, after=first, now=MOMENT).id == second.id
    assert store.claim(MOMENT, "a:1:y", LEASE, after=third, now=MOMENT) is None
    assert store.claim_of(first.id) == (None, None)


@pytest.mark.parametrize("token", ["", "x" * (CLAIM_LENGTH + 1)], ids=["empty", "too-long"])
def test_a_claim_token_must_fit_its_column(sqlite_store, token):
    queue(sqlite_store, 1)
    with pytest.raises(ValueError, match=f"1 to {CLAIM_LENGTH} characters"):
        sqlite_store.claim(MOMENT, token, LEASE, now=MOMENT)


def test_a_claim_token_as_long_as_its_column_is_accepted(store):
    (lead,) = queue(store, 1)
    token = "x" * CLAIM_LENGTH
    taken = store.claim(MOMENT, token, LEASE, now=MOMENT)
    assert taken is not None and taken.id == lead.id
    assert store.claim_of(lead.id) == (token, MOMENT + LEASE)


def test_leads_created_in_the_same_instant_are_each_claimed_in_one_walk(store):
    """The claim takes them in the order `after` walks (created_at, then id): taken in any other
    order, the round would walk past the other one and leave it for the next round."""
    later_id, earlier_id = "ffffffff-0000-4000-8000-000000000000", "00000000-0000-4000-8000-000000000000"
    saved(store, make_lead(1, id=later_id, created_at=MOMENT), make_lead(2, id=earlier_id, created_at=MOMENT))
    first = store.claim(MOMENT, "a:1:x", LEASE, now=MOMENT)
    assert first is not None and first.id == earlier_id
    second = store.claim(MOMENT, "a:1:y", LEASE, after=first, now=MOMENT)
    assert second is not None and second.id == later_id


def test_a_lease_ends_when_it_should_whatever_the_servers_local_time_zone(store, clock_west_of_utc):
    (lead,) = queue(store, 1)
    assert store.claim(MOMENT, "a:1:x", LEASE, now=MOMENT) is not None
    assert store.claim_of(lead.id) == ("a:1:x", MOMENT + LEASE)
    assert store.claim(MOMENT, "b:2:y", LEASE, now=MOMENT + LEASE - TICK) is None  # not five hours early


def test_nobody_holds_a_lead_that_is_not_there(store):
    """As after an erasure: the delivery round asks about a lead that is gone."""
    assert store.claim_of("00000000-0000-4000-8000-000000000000") == (None, None)


def test_a_claim_is_not_part_of_the_lead_nor_of_what_staff_export(store):
    (lead,) = queue(store, 1)
    taken = store.claim(MOMENT, "a:1:x", LEASE, now=MOMENT)
    assert taken == lead and "claimed_by" not in taken.values() and "claimed_until" not in taken.values()


# --- Releasing it with the outcome ------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["delivered", "retry", "failed"])
def test_recording_the_outcome_releases_the_claim_it_was_made_under(store, outcome):
    (lead,) = queue(store, 1)
    store.claim(MOMENT, "a:1:x", LEASE, now=MOMENT)
    record = {
        "delivered": lambda: store.mark_delivered(lead.id, "a:1:x"),
        "retry": lambda: store.schedule_retry(lead.id, "CRM answered HTTP 503", MOMENT, "a:1:x"),
        "failed": lambda: store.mark_failed(lead.id, "CRM answered HTTP 422", "a:1:x"),
    }[outcome]
    record()
    assert store.claim_of(lead.id) == (None, None)
    assert store.get(lead.id).delivery_attempts == 1


def test_a_retried_lead_is_claimed_again_in_a_later_round_at_once(store):
    (lead,) = queue(store, 1)
    store.claim(MOMENT, "a:1:x", LEASE, now=MOMENT)
    store.schedule_retry(lead.id, "CRM answered HTTP 503", MOMENT + TICK, "a:1:x")
    again = store.claim(MOMENT + TICK, "a:1:y", LEASE, now=MOMENT + TICK)  # well within the first lease
    assert again is not None and again.id == lead.id


def test_a_process_whose_lease_ran_out_never_releases_the_claim_taken_since(store):
    """Its late outcome is recorded, but the lead stays held by the process sending it now."""
    (lead,) = queue(store, 1)
    store.claim(MOMENT, "slow:1:x", LEASE, now=MOMENT)
    store.claim(MOMENT, "next:2:y", LEASE, now=MOMENT + LEASE)
    store.schedule_retry(lead.id, "CRM answered HTTP 503", MOMENT, "slow:1:x")
    assert store.claim_of(lead.id) == ("next:2:y", MOMENT + 2 * LEASE)
    assert store.claim(MOMENT + LEASE, "third:3:z", LEASE, now=MOMENT + LEASE) is None


def test_a_delivery_is_recorded_whoever_holds_the_lead_now(store):
    """The CRM took it: a lead is never sent again because its claim had changed hands."""
    (lead,) = queue(store, 1)
    store.claim(MOMENT, "slow:1:x", LEASE, now=MOMENT)
    store.claim(MOMENT, "next:2:y", LEASE, now=MOMENT + LEASE)
    store.mark_delivered(lead.id, "slow:1:x")
    assert store.get(lead.id).delivery_status == DELIVERED
    store.mark_failed(lead.id, "CRM answered HTTP 503", "next:2:y")  # the other's later failure
    assert store.get(lead.id).delivery_status == DELIVERED


# --- Contention inside one process (across processes: test_delivery_contention.py) -------------


def test_eight_threads_claiming_at_once_take_each_lead_exactly_once(store):
    made = queue(store, 60)
    start = threading.Barrier(8)

    def claim_all(n: int) -> list[str]:
        start.wait()
        taken: list[str] = []
        while lead := store.claim(MOMENT, f"thread-{n}:{len(taken)}", LEASE, now=MOMENT):
            taken.append(lead.id)
        return taken

    with ThreadPoolExecutor(max_workers=8) as pool:
        claimed = [lead_id for taken in pool.map(claim_all, range(8)) for lead_id in taken]
    assert sorted(claimed) == sorted(lead.id for lead in made)  # every lead once: none twice, none missed


@pytest.mark.slow
def test_on_postgresql_a_claim_skips_the_row_another_transaction_locks_instead_of_waiting(postgres_url):
    lead_store = LeadStore(postgres_url)
    first, second = queue(lead_store, 2)
    engine = sa.create_engine(postgres_url, future=True)
    try:
        with engine.connect() as holder:
            holder.execute(sa.select(leads.c.id).where(leads.c.id == first.id).with_for_update())
            pool = ThreadPoolExecutor(max_workers=1)
            try:  # a claim that waited for the lock would time out here
                taken = pool.submit(lead_store.claim, MOMENT, "a:1:x", LEASE, None, MOMENT).result(timeout=30)
            finally:
                holder.rollback()  # lets a waiting claim finish, so the test fails instead of hanging
                pool.shutdown()
            assert taken is not None and taken.id == second.id
        again = lead_store.claim(MOMENT, "b:2:y", LEASE, now=MOMENT)
        assert again is not None and again.id == first.id  # free again
    finally:
        with lead_store._engine.begin() as connection:
            connection.exec_driver_sql("DELETE FROM leads")
        lead_store.dispose()
        engine.dispose()


# --- A delivery round --------------------------------------------------------------------------


def hook(crm: FakeCRM) -> Webhook:
    return Webhook(crm.url, SECRET, timeout=5)


def test_a_lead_another_process_holds_is_not_posted_until_its_lease_ends(sqlite_store):
    (lead,) = saved(sqlite_store, make_lead(1))
    now = utc_now()
    sqlite_store.claim(now, "other-host:77:x", LEASE, now=now)
    with FakeCRM(SECRET) as crm:
        assert deliver_pending(sqlite_store, hook(crm)).tried == 0
        assert crm.posts[lead.id] == 0 and sqlite_store.get(lead.id).delivery_status == PENDING
        with sqlite_store._engine.begin() as connection:  # as when its five minutes are over
            connection.execute(leads.update().values(claimed_until=now - TICK))
        assert deliver_pending(sqlite_store, hook(crm)).delivered == 1
    assert crm.posts[lead.id] == 1 and sqlite_store.claim_of(lead.id) == (None, None)


class ClaimCounting(LeadStore):
    """The real store, noting how many POSTs the CRM had seen at each claim."""

    def __init__(self, url: str, crm: FakeCRM) -> None:
        super().__init__(url)
        self.crm = crm
        self.requests_at_claim: list[int] = []
        self.claims: list[str] = []

    def claim(self, due_at, claim, lease, after=None, now=None):
        self.requests_at_claim.append(self.crm.requests)
        self.claims.append(claim)
        return super().claim(due_at, claim, lease, after, now)


def test_a_round_claims_each_lead_just_before_its_post_under_a_token_of_its_own(tmp_path):
    """One at a time: a lease never runs out while its lead waits behind slower ones."""
    with FakeCRM(SECRET) as crm:
        counting = ClaimCounting(f"sqlite:///{tmp_path / 'leads.sqlite3'}", crm)
        queue(counting, 3)
        assert deliver_pending(counting, hook(crm), claimant="host-a:42").delivered == 3
    counting.dispose()
    assert counting.requests_at_claim == [0, 1, 2, 3]  # the last claim finds the queue empty
    assert len(set(counting.claims)) == 4 and all(claim.startswith("host-a:42:") for claim in counting.claims)


def test_a_claim_names_this_host_and_process_and_fits_its_column():
    claim = new_claim(process_claimant())
    host, pid, nonce = claim.rsplit(":", 2)
    assert pid == str(os.getpid()) and len(nonce) == 16 and host
    assert len(new_claim("h" * 500)) <= CLAIM_LENGTH and new_claim("a") != new_claim("a")


# --- The setting -------------------------------------------------------------------------------


def test_an_unset_lease_is_five_minutes(monkeypatch):
    monkeypatch.delenv(runtime.DELIVERY_LEASE_ENV, raising=False)
    assert runtime.delivery_lease(10) == timedelta(minutes=5)


@pytest.mark.parametrize("setting, seconds", [("30", 30.0), ("45.5", 45.5), ("3600", 3600.0)])
def test_the_lease_comes_from_the_setting(monkeypatch, setting, seconds):
    monkeypatch.setenv(runtime.DELIVERY_LEASE_ENV, setting)
    assert runtime.delivery_lease(10) == timedelta(seconds=seconds)


@pytest.mark.parametrize("setting", ["29.9", "5", "0", "-30", "soon", "inf"])
def test_a_lease_shorter_than_three_webhook_timeouts_or_not_a_number_stops_delivery(monkeypatch, setting):
    """Shorter, another process could take the lead while its POST is still under way."""
    monkeypatch.setenv(runtime.DELIVERY_LEASE_ENV, setting)
    monkeypatch.setenv("LEADS_WEBHOOK_URL", "http://127.0.0.1:9/leads")
    monkeypatch.setenv("LEADS_WEBHOOK_SECRET", SECRET)
    with pytest.raises(ValueError, match=runtime.DELIVERY_LEASE_ENV) as refused:
        runtime.start_delivery()  # the action server does not start (actions/__main__.py)
    assert repr(setting) in str(refused.value)


def test_a_too_short_lease_says_how_long_it_must_be_and_why(monkeypatch):
    monkeypatch.setenv(runtime.DELIVERY_LEASE_ENV, "20")
    with pytest.raises(ValueError) as refused:
        runtime.delivery_lease(10)
    assert str(refused.value) == (
        "LEADS_DELIVERY_LEASE must be at least 30 seconds (3 times the CRM webhook's 10-second timeout), not '20'"
    )


def test_the_action_servers_worker_holds_each_lead_for_the_configured_lease(tmp_path, monkeypatch):
    monkeypatch.setenv("LEADS_DATABASE_URL", f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    monkeypatch.setenv("LEADS_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv(runtime.DELIVERY_LEASE_ENV, "45")
    monkeypatch.setattr(runtime, "_worker", None)
    runtime.lead_store.cache_clear()
    lead_store = runtime.lead_store()
    (lead,) = saved(lead_store, make_lead(1))
    with FakeCRM(SECRET, delay=30) as crm:  # it answers when the test is done with it
        monkeypatch.setenv("LEADS_WEBHOOK_URL", crm.url)
        before = utc_now()
        worker = runtime.start_delivery()
        assert isinstance(worker, DeliveryWorker)
        try:
            assert wait_for(lambda: crm.posts[lead.id] == 1, 10)  # its POST is under way
            holder, until = lead_store.claim_of(lead.id)
            assert holder is not None and holder.startswith(process_claimant() + ":")
            assert until is not None and before + timedelta(seconds=45) <= until <= utc_now() + timedelta(seconds=45)
        finally:
            worker.stop()
    worker.join(10)
    runtime.lead_store.cache_clear()
    lead_store.dispose()
