"""The shared rate-limit helper: counts per key, says how long to wait, refuses bad settings."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from actions.rate_limits import STORAGE_ENV, RateLimit, parse_limit
from tests.conftest import ROOT
from tests.servers import quiet_env, redis_server

# What one server process does with a message: counts it against a limit named on the command
# line, in the storage RATE_LIMIT_STORAGE names, and prints whether it was allowed.
ONE_SERVER = """
import sys
from actions.rate_limits import RateLimit, parse_limit
limit = RateLimit(sys.argv[1], parse_limit("TEST_LIMIT", "3/minute"))
print(" ".join("allowed" if limit.hit("visitor-a") is None else "refused" for _ in range(2)))
"""


def test_a_limit_allows_up_to_its_count_then_says_how_long_to_wait() -> None:
    # Names of their own: the memory storage lives as long as the process (mutmut runs the suite twice).
    limit = RateLimit(f"messages {uuid.uuid4()}", parse_limit("TEST_LIMIT", "3/minute"), "memory://")
    assert [limit.hit("visitor-a") for _ in range(3)] == [None, None, None]
    wait = limit.hit("visitor-a")
    assert wait is not None and 1 <= wait <= 60
    assert limit.hit("visitor-b") is None  # another key has its own count


def test_limits_with_different_names_count_apart() -> None:
    first = RateLimit(f"first {uuid.uuid4()}", parse_limit("TEST_LIMIT", "1/hour"), "memory://")
    second = RateLimit(f"second {uuid.uuid4()}", parse_limit("TEST_LIMIT", "1/hour"), "memory://")
    assert first.hit("same-key") is None
    assert second.hit("same-key") is None
    assert first.hit("same-key") is not None


def test_a_limit_is_read_from_its_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_LEADS_PER_HOUR", "2 per hour")
    limit = RateLimit.from_setting("test setting", "TEST_LEADS_PER_HOUR", "9/minute")
    assert (limit.item.amount, limit.item.get_expiry()) == (2, 3600)
    monkeypatch.delenv("TEST_LEADS_PER_HOUR")
    assert RateLimit.from_setting("test default", "TEST_LEADS_PER_HOUR", "9/minute").item.amount == 9


def test_a_malformed_setting_is_refused_with_its_name() -> None:
    with pytest.raises(ValueError, match="TEST_LIMIT must read like"):
        parse_limit("TEST_LIMIT", "lots")


def hits_in_another_server(name: str, storage: str) -> str:
    """Two messages counted by another server process whose RATE_LIMIT_STORAGE is `storage`."""
    env = quiet_env(**{STORAGE_ENV: storage})
    result = subprocess.run(
        [sys.executable, "-c", ONE_SERVER, name], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_servers_sharing_a_redis_storage_share_one_count() -> None:
    """What several Rasa or action servers do with RATE_LIMIT_STORAGE=redis://... (README "Several servers")."""
    name = f"messages {uuid.uuid4()}"
    with redis_server() as redis:
        assert hits_in_another_server(name, redis.url) == "allowed allowed"
        assert hits_in_another_server(name, redis.url) == "allowed refused"  # 3/minute: the second counted on
        here = RateLimit(name, parse_limit("TEST_LIMIT", "3/minute"), redis.url)
        assert here.hit("visitor-a") is not None
        assert here.hit("visitor-b") is None  # still one count per key
    # The default, memory://, counts per process: each server would allow 3 a minute.
    assert hits_in_another_server(name, "memory://") == "allowed allowed"
    assert hits_in_another_server(name, "memory://") == "allowed allowed"
