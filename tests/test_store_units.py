"""The lead store's queries at their edges: the delivery queue's order and walk, re-queueing
one lead, the retention and export bookkeeping, and times written by a server whose clock is
not on UTC. Fast on SQLite; the slow suite runs them on PostgreSQL too (tests/test_lead_store.py's
`store` fixture), which covers the round trip and the migrations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from actions.inquiry.store import DELIVERED, FAILED, PENDING, Lead, LeadStore, StoreUnavailable, leads
from tests import test_lead_store
from tests.test_lead_store import make_lead

MOMENT = datetime(2026, 9, 1, 12, 0, tzinfo=timezone.utc)
LONG_REASON = "CRM answered HTTP 422: " + "x" * 600  # a CRM's long explanation
# The lead store on SQLite, and in the slow suite on a real PostgreSQL server too.
store, postgres_url = test_lead_store.store, test_lead_store.postgres_url


@pytest.fixture
def sqlite_store(tmp_path) -> Iterator[LeadStore]:
    lead_store = LeadStore(f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    yield lead_store
    lead_store.dispose()


def uuid_with(n: int, first: str = "0") -> str:
    """A lead id that sorts by `n` (and starts with `first`)."""
    return f"{first}{n:07x}-0000-4000-8000-000000000000"


def saved(store: LeadStore, *made: Lead) -> list[Lead]:
    for lead in made:
        assert store.save(lead) is True
    return list(made)


def ids(leads: list[Lead]) -> list[str]:
    return [lead.id for lead in leads]


# --- The SQLite connection's settings ---------------------------------------------------------


def test_a_sqlite_store_waits_30_seconds_for_another_writer_and_zeroes_what_it_deletes(sqlite_store):
    """Several action server processes write one file: a writer waits for another's lock rather
    than failing the visitor's save; an erased lead leaves no readable bytes in free pages."""
    with sqlite_store._engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
        assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1


def test_an_erased_lead_leaves_no_trace_in_the_sqlite_file(sqlite_store, tmp_path):
    lead, kept = saved(sqlite_store, make_lead(1, email="erase.me.please@example.com"), make_lead(2))
    assert sqlite_store.delete([lead.id]) == 1
    sqlite_store.dispose()
    raw = (tmp_path / "leads.sqlite3").read_bytes()
    assert b"erase.me.please@example.com" not in raw
    assert kept.answers["email"].encode() in raw  # the check reads the real file


def test_a_postgresql_store_checks_each_pooled_connection_before_using_it():
    """After a database restart, a pooled connection is dead: the store must notice before a
    visitor's save fails on it. No SQLite-only options reach the PostgreSQL driver."""
    store = LeadStore("postgresql://leads@127.0.0.1:9/leads")  # not connected until first use
    try:
        assert store._engine.pool._pre_ping is True
    finally:
        store.dispose()


# --- Finding a person's earlier lead ---------------------------------------------------------


def test_a_lead_created_exactly_at_the_window_start_is_a_repeat(store):
    (earlier,) = saved(store, make_lead(1, created_at=MOMENT))
    found = store.latest_repeat(make_lead(1), since=MOMENT)
    assert found is not None and found.id == earlier.id


def test_the_repeat_is_the_newest_earlier_lead_not_the_first_saved_nor_the_smallest_id(store):
    older = make_lead(1, id=uuid_with(1), created_at=MOMENT)
    newer = make_lead(1, id=uuid_with(2), created_at=MOMENT + timedelta(minutes=5))
    saved(store, older, newer)
    found = store.latest_repeat(make_lead(1), since=MOMENT - timedelta(hours=1))
    assert found is not None and found.id == newer.id


@pytest.mark.parametrize("order", ["smaller_id_first", "larger_id_first"])
def test_of_two_repeats_created_together_the_smaller_id_is_taken_whichever_was_saved_first(store, order):
    """Two tabs submitting at once: the update always lands on the same lead."""
    pair = [make_lead(1, id=uuid_with(n), created_at=MOMENT) for n in (1, 2)]
    saved(store, *(pair if order == "smaller_id_first" else pair[::-1]))
    found = store.latest_repeat(make_lead(1), since=MOMENT - timedelta(hours=1))
    assert found is not None and found.id == pair[0].id


def test_a_replacement_with_broken_text_in_a_question_is_refused_naming_the_questions(store):
    (earlier,) = saved(store, make_lead(1))
    broken = make_lead(2, questions=["is it online?", "and the fees \ud800?"])  # a lone surrogate
    with pytest.raises(StoreUnavailable) as refused:
        store.replace(earlier.id, broken)
    assert str(refused.value) == "lead could not be saved (not valid Unicode text in questions)"
    assert store.get(earlier.id) == earlier  # nothing of the replacement written


def test_a_replacement_with_broken_text_in_its_transcript_is_refused_naming_the_transcript(store):
    (earlier,) = saved(store, make_lead(1))
    broken = make_lead(2, transcript=[{"role": "visitor", "text": "fees? \ud800"}])
    with pytest.raises(StoreUnavailable) as refused:
        store.replace(earlier.id, broken)
    assert str(refused.value) == "lead could not be saved (not valid Unicode text in transcript)"
    assert store.get(earlier.id) == earlier


# --- The delivery queue ----------------------------------------------------------------------


def test_a_lead_due_exactly_now_is_due(store):
    (lead,) = saved(store, make_lead(1, created_at=MOMENT))
    assert ids(store.due(MOMENT)) == [lead.id]
    assert store.due(MOMENT - timedelta(microseconds=1)) == []


def test_delivered_and_failed_leads_are_never_due_whatever_time_their_row_holds(store):
    """A row written by hand or by an older version may keep a next attempt time: only the
    status decides whether the CRM gets the lead (again)."""
    due_at = MOMENT - timedelta(hours=1)
    delivered = make_lead(1, delivery_status=DELIVERED, next_attempt_at=due_at)
    failed = make_lead(2, delivery_status=FAILED, next_attempt_at=due_at)
    pending = make_lead(3, created_at=due_at)
    saved(store, delivered, failed, pending)
    assert ids(store.due(MOMENT)) == [pending.id]


def test_due_returns_at_most_the_limit_oldest_first(store):
    leads = saved(store, *(make_lead(n, created_at=MOMENT - timedelta(minutes=n)) for n in (1, 2, 3)))
    assert ids(store.due(MOMENT, limit=2)) == [leads[2].id, leads[1].id]


@pytest.mark.parametrize("order", ["smaller_id_first", "larger_id_first"])
def test_leads_created_together_are_due_in_id_order_whichever_was_saved_first(store, order):
    together = [make_lead(n, id=uuid_with(n), created_at=MOMENT) for n in (1, 2, 3)]
    saved(store, *(together if order == "smaller_id_first" else together[::-1]))
    assert ids(store.due(MOMENT)) == ids(together)
    assert ids(store.due(MOMENT, limit=1)) == [together[0].id]


def test_walking_the_queue_one_at_a_time_visits_leads_created_together_once_each(store):
    """One delivery round walks the queue in batches: a lead created in the same instant as
    the last of a batch is neither skipped nor sent twice."""
    together = saved(store, *(make_lead(n, id=uuid_with(n), created_at=MOMENT) for n in (1, 2, 3)))
    (later,) = saved(store, make_lead(4, id=uuid_with(0), created_at=MOMENT + timedelta(seconds=1)))
    visited: list[str] = []
    last = None
    while batch := store.due(MOMENT + timedelta(minutes=1), after=last, limit=1):
        visited += ids(batch)
        last = batch[-1]
        assert len(visited) <= 4, visited
    assert visited == [*ids(together), later.id]


def test_after_a_lead_the_queue_goes_on_with_later_leads_and_same_instant_larger_ids_only(store):
    first, second = saved(store, *(make_lead(n, id=uuid_with(n), created_at=MOMENT) for n in (1, 2)))
    (earlier,) = saved(store, make_lead(3, id=uuid_with(9), created_at=MOMENT - timedelta(seconds=1)))
    now = MOMENT + timedelta(minutes=1)
    assert ids(store.due(now, after=first)) == [second.id]
    assert ids(store.due(now, after=earlier)) == [first.id, second.id]
    assert store.due(now, after=second) == []


def test_after_a_lead_the_queue_still_holds_only_pending_leads_that_are_due(store):
    first, _waiting, _delivered, due = saved(
        store,
        make_lead(1, created_at=MOMENT),
        make_lead(2, created_at=MOMENT + timedelta(seconds=1), next_attempt_at=MOMENT + timedelta(hours=1)),
        make_lead(3, created_at=MOMENT + timedelta(seconds=2), delivery_status=DELIVERED),
        make_lead(4, created_at=MOMENT + timedelta(seconds=3)),
    )
    assert ids(store.due(MOMENT + timedelta(minutes=1), after=first)) == [due.id]


# --- Recording attempts ----------------------------------------------------------------------


def test_a_failed_attempt_is_counted_with_its_reason_cut_to_500_characters(store):
    (lead,) = saved(store, make_lead(1))
    store.record_failure(lead.id, LONG_REASON)
    recorded = store.get(lead.id)
    assert (recorded.delivery_status, recorded.delivery_attempts) == (PENDING, 1)
    assert recorded.last_error == LONG_REASON[:500]


def test_a_retry_keeps_the_reason_cut_to_500_characters_and_the_time_it_is_due(store):
    (lead,) = saved(store, make_lead(1))
    store.schedule_retry(lead.id, LONG_REASON, MOMENT)
    recorded = store.get(lead.id)
    assert recorded.last_error == LONG_REASON[:500] and recorded.next_attempt_at == MOMENT


def test_a_lead_refused_for_good_keeps_the_reason_cut_to_500_characters(store):
    (lead,) = saved(store, make_lead(1))
    store.mark_failed(lead.id, LONG_REASON)
    recorded = store.get(lead.id)
    assert recorded.delivery_status == FAILED and recorded.last_error == LONG_REASON[:500]


def test_a_delivery_is_recorded_even_over_a_failure_recorded_meanwhile(store):
    """`leads retry` and the worker may send the same lead at once: when the CRM took it, the
    lead is delivered, whatever the other round concluded."""
    (lead,) = saved(store, make_lead(1))
    store.mark_failed(lead.id, "CRM answered HTTP 422")
    store.mark_delivered(lead.id)
    recorded = store.get(lead.id)
    assert (recorded.delivery_status, recorded.delivery_attempts) == (DELIVERED, 2)


def test_re_queueing_one_lead_leaves_the_others_alone(store):
    one, other = saved(store, make_lead(1), make_lead(2))
    for lead in (one, other):
        store.mark_failed(lead.id, "CRM answered HTTP 401")
    assert store.requeue(one.id, MOMENT) is True
    assert (store.get(one.id).delivery_status, store.get(one.id).next_attempt_at) == (PENDING, MOMENT)
    assert (store.get(other.id).delivery_status, store.get(other.id).next_attempt_at) == (FAILED, None)


# --- Finding a lead by the start of its id ---------------------------------------------------


def test_an_id_typed_in_capitals_finds_the_lead(store):
    (lead,) = saved(store, make_lead(1, id="abcdef12-0000-4000-8000-000000000000"))
    assert store.ids_starting_with("ABCDEF1") == [lead.id]


def test_ids_found_by_their_start_come_sorted_and_at_most_ten(store):
    made = [make_lead(n, id=uuid_with(n, first="a")) for n in range(11)]
    saved(store, *made[::-1])  # saved last first
    assert store.ids_starting_with("a") == ids(made)[:10]
    assert store.ids_starting_with("a", limit=2) == ids(made)[:2]


# --- Export, retention and erasure bookkeeping -----------------------------------------------


def test_an_export_is_recorded_on_the_exported_leads_only_and_only_the_first_time(store):
    first, second, not_exported = saved(store, make_lead(1), make_lead(2), make_lead(3))
    store.mark_exported(iter([first.id, second.id]), MOMENT)  # the command line passes a generator
    store.mark_exported([first.id], MOMENT + timedelta(days=3))
    store.mark_exported([], MOMENT + timedelta(days=5))
    assert store.get(first.id).exported_at == MOMENT  # retention counts from the first export
    assert store.get(second.id).exported_at == MOMENT
    assert store.get(not_exported.id).exported_at is None


def test_a_lead_handed_over_exactly_at_the_cutoff_is_kept(store):
    delivered, exported, before = saved(store, make_lead(1), make_lead(2), make_lead(3))
    with store._engine.begin() as connection:  # the moments the CRM took them, set exactly
        for lead, column, at in (
            (delivered, "delivered_at", MOMENT),
            (exported, "exported_at", MOMENT),
            (before, "delivered_at", MOMENT - timedelta(microseconds=1)),
        ):
            connection.execute(leads.update().where(leads.c.id == lead.id).values({column: at}))
    assert store.handed_over_before(MOMENT) == [before.id]


def test_a_persons_leads_are_found_oldest_first(store):
    newer = make_lead(1, created_at=MOMENT)
    older = make_lead(2, created_at=MOMENT - timedelta(days=1), email=newer.answers["email"].upper())
    saved(store, newer, older)
    assert ids(store.matching("email", newer.answers["email"])) == [older.id, newer.id]


def test_deleting_no_leads_deletes_none(store):
    saved(store, make_lead(1))
    assert store.delete([]) == 0
    assert len(list(store.all())) == 1


# --- A server whose local time is not UTC ----------------------------------------------------


def test_a_new_lead_is_due_at_its_creation_on_a_server_west_of_utc(store, clock_west_of_utc):
    lead = make_lead(1)
    saved(store, lead)
    assert store.get(lead.id).next_attempt_at == lead.created_at
    assert ids(store.due(lead.created_at)) == [lead.id]


def test_the_queue_and_its_walk_use_utc_on_a_server_west_of_utc(store, clock_west_of_utc):
    first, second = saved(store, make_lead(1, created_at=MOMENT), make_lead(2, created_at=MOMENT + timedelta(hours=1)))
    now = MOMENT + timedelta(hours=2)
    assert ids(store.due(now)) == [first.id, second.id]
    assert ids(store.due(now, after=first)) == [second.id]


def test_a_repeat_window_is_read_in_utc_on_a_server_west_of_utc(store, clock_west_of_utc):
    saved(store, make_lead(1, created_at=MOMENT - timedelta(hours=2)))
    assert store.latest_repeat(make_lead(1), since=MOMENT) is None  # two hours too old


def test_retry_and_requeue_times_are_kept_exactly_on_a_server_west_of_utc(store, clock_west_of_utc):
    retried, requeued, made_due = saved(store, make_lead(1), make_lead(2), make_lead(3))
    store.schedule_retry(retried.id, "CRM answered HTTP 503", MOMENT)
    store.mark_failed(requeued.id, "CRM answered HTTP 401")
    store.requeue(requeued.id, MOMENT + timedelta(hours=1))
    assert store.get(retried.id).next_attempt_at == MOMENT
    assert store.get(requeued.id).next_attempt_at == MOMENT + timedelta(hours=1)
    assert store.make_pending_due(MOMENT + timedelta(hours=2)) == 3
    assert store.get(made_due.id).next_attempt_at == MOMENT + timedelta(hours=2)
