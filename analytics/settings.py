"""Analytics settings (declared in settings/, docs/analytics.md)."""

from zoneinfo import ZoneInfo

from settings.model import get_settings


def analytics_timezone() -> ZoneInfo:
    """ANALYTICS_TIMEZONE (default Europe/Istanbul): the calendar in which days are counted."""
    return ZoneInfo(get_settings().tools.analytics_timezone)


def analytics_source() -> str:
    """ANALYTICS_SOURCE: auto (aggregates once backfilled, else the tracker store), aggregates, tracker."""
    return get_settings().tools.analytics_source
