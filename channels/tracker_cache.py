"""Recently answered conversations' stored events, kept per Rasa server so a turn need not read
and deserialise the whole session again.

Rasa's SQL store rebuilds the tracker every turn from every event of the session: SELECT, a
`json.loads` and an Event object per row, then a replay. That grows with the conversation
(README "Benchmark": turn 300 cost ~10x turn 1). Here each conversation's session events, as
stored (contact details already masked), stay in memory as Event objects after a turn, with
the store's *version* of the conversation at that moment: the number of its stored rows, the
highest row id and the latest event's time. The next retrieve asks the database for the version only (one indexed
query) and uses the kept events when it has not changed, so with several Rasa servers sharing
one database a turn answered by another server (new rows) is always read from the store.

What else could change stored rows without changing the version is covered:
- a redaction by this server (form ended, new session) or a new session started in the turn:
  the conversation is dropped from the cache and read again next turn;
- the action server's expiry sweep redacts rows in place, only in conversations idle longer
  than the session expiry: a kept conversation is used only while idle for less than
  TRACKER_CACHE_SECONDS and less than that expiry;
- erasure and retention delete every row of a conversation: the version changes, even when the
  same visitor begins again with as many events (SQLite hands the deleted row ids out again;
  the events' times are later).

TRACKER_CACHE_EVENTS bounds the events kept in all (least recently used conversations leave
first); 0 switches the cache off, as RASA_SPEEDUPS=off does.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from rasa.shared.core.events import Event

EVENTS_ENV = "TRACKER_CACHE_EVENTS"
SECONDS_ENV = "TRACKER_CACHE_SECONDS"
DEFAULT_EVENTS = 100_000
DEFAULT_SECONDS = 300.0

# (number of stored rows of the conversation, highest row id, latest event time): they only grow
# while a conversation goes on; a deletion lowers the first; SQLite may reuse the ids of deleted
# rows, never their times.
Version = tuple[int, int | None, float | None]


@dataclass(frozen=True)
class CacheSettings:
    max_events: int
    max_idle_seconds: float

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> CacheSettings:
        """ValueError naming the setting when one is malformed (the server does not start)."""
        raw_events = environ.get(EVENTS_ENV, "").strip()
        if raw_events and not raw_events.isdigit():
            raise ValueError(f"{EVENTS_ENV} must be a whole number of events (0: no cache), not {raw_events!r}")
        raw_seconds = environ.get(SECONDS_ENV, "").strip()
        try:
            seconds = float(raw_seconds) if raw_seconds else DEFAULT_SECONDS
        except ValueError:
            seconds = 0.0
        if not 0 < seconds < float("inf"):
            raise ValueError(f"{SECONDS_ENV} must be a positive number of seconds, not {raw_seconds!r}")
        return cls(int(raw_events) if raw_events else DEFAULT_EVENTS, seconds)


@dataclass
class _Kept:
    version: Version
    events: list[Event]
    used: float


class TrackerCache:
    """Per conversation: the session's stored events and the store's version they match."""

    def __init__(self, settings: CacheSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._events = 0

    def __len__(self) -> int:
        return len(self._kept)

    @property
    def events(self) -> int:
        return self._events

    def get(self, sender_id: str, version: Version, max_idle_seconds: float | None = None) -> list[Event] | None:
        """The kept events when they are what the store holds now (same version, not idle too
        long); None otherwise (and the stale entry is dropped)."""
        kept = self._kept.get(sender_id)
        if kept is None:
            return None
        idle = min(self.settings.max_idle_seconds, max_idle_seconds or float("inf"))
        now = self._clock()
        if kept.version != version or now - kept.used > idle:
            self.drop(sender_id)
            return None
        kept.used = now
        self._kept.move_to_end(sender_id)
        return kept.events

    def kept_events(self, sender_id: str) -> list[Event] | None:
        """What `get` last handed out for the conversation (without checking the version)."""
        kept = self._kept.get(sender_id)
        return kept.events if kept is not None else None

    def version(self, sender_id: str) -> Version | None:
        kept = self._kept.get(sender_id)
        return kept.version if kept is not None else None

    def put(self, sender_id: str, version: Version, events: list[Event]) -> None:
        self.drop(sender_id)
        if not events or len(events) > self.settings.max_events:
            return
        self._kept[sender_id] = _Kept(version, events, self._clock())
        self._events += len(events)
        while self._events > self.settings.max_events:
            _, oldest = self._kept.popitem(last=False)
            self._events -= len(oldest.events)

    def drop(self, sender_id: str) -> None:
        kept = self._kept.pop(sender_id, None)
        if kept is not None:
            self._events -= len(kept.events)
