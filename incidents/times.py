"""Times operators type (ISO 8601 or relative, e.g. "+2h") and how an ETA is shown to a customer."""

import re
import time
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from incidents.store import IncidentError
from settings.model import get_settings

DEFAULT_TIMEZONE = "Europe/Istanbul"
_RELATIVE = re.compile(r"^\+(\d{1,5})([mhd])$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}


def operations_timezone() -> ZoneInfo:
    """Where a time typed without an offset is read (INCIDENT_TIMEZONE, default Europe/Istanbul)."""
    return _zone(get_settings().proactive.incident_timezone)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def parse_time(text: str, field: str, now: float | None = None) -> float:
    """Unix seconds from "+90m" / "+2h" / "+1d" (from now) or an ISO 8601 date and time."""
    value = (text or "").strip()
    current = time.time() if now is None else now
    relative = _RELATIVE.match(value)
    if relative:
        return current + int(relative.group(1)) * _UNIT_SECONDS[relative.group(2)]
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise IncidentError(f"field '{field}': {value!r} is not a time (use e.g. 2026-11-23T18:30 or +2h)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=operations_timezone())
    return parsed.timestamp()


def eta_text(eta: float, language: str | None, timezone: str | None) -> str:
    """The ETA in the customer's time zone: "23.11.2026 18:30" (tr) or "18:30 on 23 Nov 2026" (en);
    for a stored ETA no clock can show, that it is not known yet (the customer still gets the notice)."""
    try:
        local = datetime.fromtimestamp(eta, _zone(timezone or DEFAULT_TIMEZONE))
    except (OverflowError, OSError, ValueError, TypeError):
        return "not known yet" if language == "en" else "henüz belli değil"
    if language == "en":
        return local.strftime("%H:%M on %d %b %Y").replace(" 0", " ")
    return local.strftime("%d.%m.%Y %H:%M")
