"""Two Rasa servers on one conversation (issue 12): bursts of simultaneous messages sent to
both, with PostgreSQL for conversations and the atomic Redis lock store; every message is
processed once, in turn, and nothing of it is lost (tests/replica_burst.py says how)."""

from __future__ import annotations

import pytest

from tests.conftest import MEASUREMENTS
from tests.replica_burst import measure

pytestmark = pytest.mark.slow


def test_bursts_to_two_servers_are_processed_once_each_in_turn_with_no_lost_event(tmp_path):
    outcome = measure(tmp_path, "atomic", count=10, size=6)
    MEASUREMENTS.append(f"two Rasa servers, atomic lock store: {outcome.summary()}")
    assert outcome.sent == 60
    assert outcome.failed_requests == []
    assert outcome.lost == []
    assert outcome.duplicated == []
    assert outcome.broken_turns == []
