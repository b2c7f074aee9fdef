"""Analytics settings read from the environment (docs/analytics.md)."""

import os
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SOURCES = ("auto", "aggregates", "tracker")


def analytics_timezone() -> ZoneInfo:
    """ANALYTICS_TIMEZONE (default Europe/Istanbul): the calendar in which days are counted."""
    name = os.environ.get("ANALYTICS_TIMEZONE") or "Europe/Istanbul"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"ANALYTICS_TIMEZONE {name!r} is not a known time zone") from error


def analytics_source() -> str:
    """ANALYTICS_SOURCE: auto (aggregates once backfilled, else the tracker store), aggregates, tracker."""
    value = (os.environ.get("ANALYTICS_SOURCE") or "auto").strip().lower()
    if value not in SOURCES:
        raise ValueError(f"ANALYTICS_SOURCE {value!r} is not one of {', '.join(SOURCES)}")
    return value
