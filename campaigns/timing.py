"""Time rules for proactive messages: the scheduler's clock, quiet hours in the customer's
time zone, and recurring schedules ("daily 09:00", "weekly mon 09:00")."""

import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from settings.model import get_settings

DEFAULT_TIMEZONE = "Europe/Istanbul"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_RECURRENCE = re.compile(r"^(daily|weekly (mon|tue|wed|thu|fri|sat|sun)) ([01]\d|2[0-3]):([0-5]\d)$")


class Clock:
    """Wall-clock seconds. `CAMPAIGNS_CLOCK_START` (ISO date-time with offset), for tests only,
    makes the scheduler believe it started at that moment; time then runs on from there."""

    def __init__(self, start: float | None = None) -> None:
        self._offset = 0.0 if start is None else start - time.time()

    @classmethod
    def starting(cls, value: str) -> "Clock":
        """From CAMPAIGNS_CLOCK_START ("" → now)."""
        return cls(datetime.fromisoformat(value).timestamp() if value else None)

    def now(self) -> float:
        return time.time() + self._offset


def zone(name: str | None) -> ZoneInfo:
    """The IANA zone, or the default one when the name is empty or unknown."""
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
        return True
    except (ZoneInfoNotFoundError, ValueError):
        return False


@dataclass(frozen=True)
class QuietHours:
    """Local hours in which no deferrable message goes out, e.g. 21:00–08:00 (may wrap midnight)."""

    start_minute: int = 21 * 60
    end_minute: int = 8 * 60

    @classmethod
    def parse(cls, text: str) -> "QuietHours":
        """ "21:00-08:00" → QuietHours; raises ValueError naming the problem."""
        start, sep, end = text.strip().partition("-")
        match_start, match_end = _HHMM.match(start.strip()), _HHMM.match(end.strip())
        if not sep or not match_start or not match_end:
            raise ValueError(f"quiet hours {text!r} are not like 21:00-08:00")
        return cls(int(match_start[1]) * 60 + int(match_start[2]), int(match_end[1]) * 60 + int(match_end[2]))

    @classmethod
    def configured(cls) -> "QuietHours":
        """CAMPAIGNS_QUIET_HOURS."""
        return cls.parse(get_settings().proactive.quiet_hours)

    def _inside(self, minute: int) -> bool:
        if self.start_minute == self.end_minute:
            return False
        if self.start_minute < self.end_minute:
            return self.start_minute <= minute < self.end_minute
        return minute >= self.start_minute or minute < self.end_minute

    def defer(self, when: float, timezone: str | None) -> float:
        """`when`, or the end of the quiet hours it falls in (customer's local time)."""
        local = datetime.fromtimestamp(when, zone(timezone))
        if not self._inside(local.hour * 60 + local.minute):
            return when
        end = local.replace(hour=self.end_minute // 60, minute=self.end_minute % 60, second=0, microsecond=0)
        if end <= local:
            end = end + timedelta(days=1)
        # Rebuild from the wall-clock fields so a DST change overnight lands on the local end time.
        end = datetime(end.year, end.month, end.day, end.hour, end.minute, tzinfo=zone(timezone))
        return end.timestamp()


def check_recurrence(text: str) -> str:
    """Normalise "daily 09:00" / "weekly mon 09:00"; raises ValueError otherwise."""
    normal = " ".join(text.lower().split())
    if not _RECURRENCE.match(normal):
        raise ValueError(f"recurrence {text!r} is not like 'daily 09:00' or 'weekly mon 09:00'")
    return normal


def next_occurrence(recurrence: str, after: float, timezone: str | None) -> float:
    """The first time strictly after `after` that matches the recurrence, in `timezone`."""
    match = _RECURRENCE.match(recurrence)
    if not match:
        raise ValueError(f"recurrence {recurrence!r} is not like 'daily 09:00' or 'weekly mon 09:00'")
    tz = zone(timezone)
    hour, minute = int(match[3]), int(match[4])
    local = datetime.fromtimestamp(after, tz)
    day = local.date()
    for offset in range(0, 9):
        candidate_day = day + timedelta(days=offset)
        if match[2] and WEEKDAYS[candidate_day.weekday()] != match[2]:
            continue
        candidate = datetime(candidate_day.year, candidate_day.month, candidate_day.day, hour, minute, tzinfo=tz).timestamp()
        if candidate > after:
            return candidate
    raise AssertionError("a daily or weekly time always occurs within 8 days")
