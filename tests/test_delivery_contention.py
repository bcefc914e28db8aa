"""Four delivery processes, two loops each, over one lead store and one CRM: every lead reaches
the CRM, each POSTed exactly once; with one process killed -9 mid-round, every lead still
arrives and only the leads it was sending at that moment may arrive twice.

The processes are tests/delivery_loop.py (delivery rounds as the action server's worker runs
them) started by tests/delivery_contention.py, which also measures older delivery code.
"""

from __future__ import annotations

import pytest

from tests.conftest import MEASUREMENTS
from tests.delivery_contention import Outcome, contend, database

pytestmark = pytest.mark.slow

LEADS, PROCESSES, THREADS = 200, 4, 2


def check_all_delivered(outcome: Outcome) -> None:
    assert outcome.delivered == set(outcome.lead_ids)  # the store says so
    assert all(outcome.posts[lead] >= 1 for lead in outcome.lead_ids)  # and the CRM has each


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_200_leads_and_four_delivery_processes_each_lead_posted_exactly_once(tmp_path, kind):
    with database(kind, tmp_path) as url:
        outcome = contend(url, tmp_path, count=LEADS, processes=PROCESSES, threads=THREADS, lease=60)
    check_all_delivered(outcome)
    assert outcome.repeated == {}
    assert sum(outcome.posts.values()) == LEADS  # nothing else was POSTed either
    assert outcome.exit_codes == [0] * PROCESSES
    MEASUREMENTS.append(
        f"delivery contention ({kind}): {LEADS} leads, {PROCESSES} processes x {THREADS} loops:"
        f" {sum(outcome.posts.values())} POSTs, {outcome.duplicate_posts} duplicates"
    )


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_delivery_process_killed_mid_round_loses_no_lead_and_repeats_only_what_it_was_sending(tmp_path, kind):
    """Killed while it sends (the CRM answers in 200 ms), after 60 of the 200 POSTs: its claims
    stay behind; once their 5-second lease is over, the others send those leads again."""
    with database(kind, tmp_path) as url:
        outcome = contend(
            url,
            tmp_path,
            count=LEADS,
            processes=PROCESSES,
            threads=THREADS,
            lease=5,
            crm_delay=0.2,
            kill_after=60,
        )
    check_all_delivered(outcome)
    assert 1 <= len(outcome.in_flight_at_kill) <= THREADS  # it was sending: at most one lead a loop
    assert set(outcome.repeated) <= set(outcome.in_flight_at_kill)
    assert all(count == 2 for count in outcome.repeated.values())
    assert outcome.exit_codes[0] == -9 and outcome.exit_codes[1:] == [0] * (PROCESSES - 1)
    MEASUREMENTS.append(
        f"delivery kill -9 ({kind}): {LEADS} leads, {PROCESSES} processes x {THREADS} loops, one killed after"
        f" 60 POSTs: {len(outcome.in_flight_at_kill)} lead(s) in flight at the kill,"
        f" {outcome.duplicate_posts} duplicate POST(s), all {len(outcome.delivered)} delivered"
    )
