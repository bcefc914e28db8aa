"""Rate limits shared by the Rasa server (messages at the door) and the action server (leads).

Counters live where `RATE_LIMIT_STORAGE` says, a `limits` storage URI: `memory://` (the
default: one process each) or `redis://host:6379/0`, so several server processes share one
count. Limits are written as `limits` strings ("30/minute", "5 per hour"), so an operator
reads and sets them the same way everywhere.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from functools import cache

import limits
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

STORAGE_ENV = "RATE_LIMIT_STORAGE"
DEFAULT_STORAGE = "memory://"


@cache
def storage(uri: str | None = None) -> Storage:
    """One storage per URI and process: the counters must be shared by every limit that uses it."""
    return storage_from_string(uri or os.environ.get(STORAGE_ENV, DEFAULT_STORAGE))


def parse_limit(setting: str, value: str) -> limits.RateLimitItem:
    """A `limits` string from a setting, or ValueError naming the setting (checked at startup)."""
    try:
        return limits.parse(value)
    except ValueError:
        raise ValueError(f"{setting} must read like '30/minute' or '5 per hour', not {value!r}") from None


@dataclass(frozen=True)
class RateLimit:
    """One named limit ("messages per conversation") counted per key (a conversation, an address)."""

    name: str
    item: limits.RateLimitItem
    storage_uri: str | None = None

    @classmethod
    def from_setting(cls, name: str, env: str, default: str) -> RateLimit:
        return cls(name, parse_limit(env, os.environ.get(env, default)))

    def hit(self, *key: str) -> float | None:
        """Count one more for `key`; None when it is allowed, else seconds until it would be."""
        limiter = MovingWindowRateLimiter(storage(self.storage_uri))
        if limiter.hit(self.item, self.name, *key):
            return None
        reset_at, _remaining = limiter.get_window_stats(self.item, self.name, *key)
        return max(1.0, math.ceil(reset_at - time.time()))

    def __str__(self) -> str:
        return f"{self.name}: {self.item}"
