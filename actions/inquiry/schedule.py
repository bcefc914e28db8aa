"""When a lead the CRM could not take is tried again, and when it is given up on.

Each lead keeps its own schedule in the store (`next_attempt_at`): the wait doubles after each
failed attempt, from `first_delay` up to `max_delay`, and is never shorter than the CRM's
Retry-After. A lead still undelivered `max_age` after it was made gets no further attempt: it
becomes `failed`, and staff can re-queue it (`python -m actions.leads retry ID`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from actions.inquiry.store import Lead

DEFAULT_FIRST_DELAY = timedelta(minutes=1)
DEFAULT_MAX_DELAY = timedelta(hours=1)
DEFAULT_MAX_AGE = timedelta(days=7)
_MAX_DOUBLINGS = 30  # 2**30 times any sensible first delay is past any cap: no overflow


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A Retry-After header (seconds, or an HTTP date) as a wait from `now`; None when absent or unreadable."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        return timedelta(seconds=min(int(value), 10**9))  # capped: a CRM's typo must not overflow a date
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT
        when = when.replace(tzinfo=now.tzinfo)
    return max(when - now, timedelta(0))


def span(duration: timedelta) -> str:
    """A duration as staff read it: '7.0 days', '3.5 hours', '12 minutes', '40 seconds'."""
    seconds = duration.total_seconds()
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    if seconds >= 60:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds:.0f} seconds"


@dataclass(frozen=True)
class RetrySchedule:
    first_delay: timedelta = DEFAULT_FIRST_DELAY
    max_delay: timedelta = DEFAULT_MAX_DELAY
    max_age: timedelta = DEFAULT_MAX_AGE

    def delay(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed attempt: first_delay, doubled each time, capped."""
        return min(self.max_delay, self.first_delay * 2 ** min(max(attempts - 1, 0), _MAX_DOUBLINGS))

    def next_attempt(self, lead: Lead, now: datetime, retry_after: timedelta | None = None) -> datetime | None:
        """When to try `lead` again after the attempt that just failed (its attempts not yet
        counting it); None when it is `max_age` old: no further attempt."""
        if now - lead.created_at >= self.max_age:
            return None
        wait = self.delay(lead.delivery_attempts + 1)
        if retry_after is not None:  # the CRM's wish, though never past the point of giving up
            wait = max(wait, min(retry_after, self.max_age))
        return now + wait

    def gave_up(self, lead: Lead, now: datetime) -> str:
        """The reason a lead given up on shows in `leads list`."""
        attempts = lead.delivery_attempts + 1
        return f"gave up after {attempts} attempt{'s' if attempts != 1 else ''} over {span(now - lead.created_at)}"
