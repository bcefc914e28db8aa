"""The report's settings: TIMEZONE, OFFICE_HOURS and the period asked for, checked up front.

A bad setting stops the report with a one-line message saying what is expected, before any
database is read or any file is written.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

TIMEZONE_ENV = "TIMEZONE"
DEFAULT_TIMEZONE = "America/New_York"
OFFICE_HOURS_ENV = "OFFICE_HOURS"
DEFAULT_OFFICE_HOURS = "Mon-Fri 08:00-17:00"
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # datetime.weekday() order
_BLOCK = re.compile(r"^\s*(?P<days>[A-Za-z,\- ]+?)\s+(?P<open>\d{1,2}:\d{2})\s*-\s*(?P<close>\d{1,2}:\d{2})\s*$")
OFFICE_HOURS_FORMAT = "days then opening and closing time, e.g. 'Mon-Fri 08:00-17:00; Sat 09:00-12:00'"


class SettingError(ValueError):
    """A setting or argument the report cannot use; its message is shown to staff as is."""


def time_zone(raw: str | None = None) -> ZoneInfo:
    """TIMEZONE (an IANA name, read with zoneinfo), default America/New_York."""
    name = (os.environ.get(TIMEZONE_ENV, "") if raw is None else raw).strip() or DEFAULT_TIMEZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingError(f"{TIMEZONE_ENV} must be a time zone name such as America/New_York, not {name!r}") from None


@dataclass(frozen=True)
class OfficeHours:
    """When the admissions office answers the phone: (weekdays, opening, closing) blocks."""

    text: str
    blocks: tuple[tuple[frozenset[int], time, time], ...]

    def open_at(self, local: datetime) -> bool:
        """Whether the office is open at this local time (opening included, closing not)."""
        moment = local.time()
        return any(local.weekday() in days and start <= moment < end for days, start, end in self.blocks)


def office_hours(raw: str | None = None) -> OfficeHours:
    """OFFICE_HOURS, default Mon-Fri 08:00-17:00: blocks separated by ';', each days (Mon-Fri,
    Sat, Mon,Wed) and a time range within one day."""
    text = (os.environ.get(OFFICE_HOURS_ENV, "") if raw is None else raw).strip() or DEFAULT_OFFICE_HOURS
    blocks = []
    for part in text.split(";"):
        match = _BLOCK.match(part)
        days = _days(match.group("days")) if match else None
        start, end = (_time(match.group("open")), _time(match.group("close"))) if match else (None, None)
        if not match or not days or start is None or end is None or not start < end:
            raise SettingError(f"{OFFICE_HOURS_ENV} must be {OFFICE_HOURS_FORMAT}, not {text!r}")
        blocks.append((days, start, end))
    return OfficeHours(text, tuple(blocks))


def _days(spec: str) -> frozenset[int] | None:
    """'Mon-Fri', 'Sat,Sun', 'Fri-Mon' (wrapping) -> weekday numbers; None if a name is unknown."""
    names = {name.lower(): index for index, name in enumerate(DAYS)}
    found: set[int] = set()
    for item in spec.replace(" ", "").split(","):
        ends = item.split("-")
        if len(ends) > 2 or any(end.lower()[:3] not in names or len(end) < 3 for end in ends):
            return None
        first, last = names[ends[0].lower()[:3]], names[ends[-1].lower()[:3]]
        found.update((first + step) % 7 for step in range((last - first) % 7 + 1))
    return frozenset(found)


def _time(text: str) -> time | None:
    hours, minutes = (int(part) for part in text.split(":"))
    return time(hours, minutes) if hours < 24 and minutes < 60 else None


@dataclass(frozen=True)
class Period:
    """The days the report covers, both included, as local dates in `zone`."""

    since: date
    until: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time(), self.zone)

    @property
    def end(self) -> datetime:
        """The first moment after the period: midnight after `until`, local time."""
        return datetime.combine(self.until + timedelta(days=1), time(), self.zone)

    def days(self) -> list[date]:
        return [self.since + timedelta(days=n) for n in range((self.until - self.since).days + 1)]


def period(since: str, until: str | None, zone: ZoneInfo, today: date | None = None) -> Period:
    """The period from the command line's --since and --until (default: today in `zone`)."""
    first = _date("--since", since)
    last = _date("--until", until) if until else (today or datetime.now(zone).date())
    if first > last:
        raise SettingError(f"--since ({first}) is after --until ({last}): the period is empty")
    return Period(first, last, zone)


def _date(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise SettingError(f"{option} must be a date written YYYY-MM-DD, such as 2026-09-01, not {text!r}") from None
