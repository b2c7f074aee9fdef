"""What the customer is told while waiting: place in the queue, estimated wait, and
when the team is back if it is outside business hours (handoff/settings.yml)."""

import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from handoff.settings import DAYS, HandoffSettings
from handoff.store import HandoffStore

ACTIVE_AGENT_WINDOW_S = 30 * 60
DAY_NAMES = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "tr": ("Pazartesi", "Salı", "Çarşamba", "Perşembe", "Cuma", "Cumartesi", "Pazar"),
}


@dataclass(frozen=True)
class QueueStatus:
    position: int
    wait_minutes: int


def queue_status(store: HandoffStore, handoff_id: int, settings: HandoffSettings, now: float | None = None) -> QueueStatus:
    """Position, and wait = ceil(position × median handling time ÷ agents active recently).

    Handling time is the median claimed→closed time of the recently closed handoffs (the
    settings' default without history); active agents are those who claimed, replied or
    closed in the last 30 minutes (at least the settings' default)."""
    now = now or time.time()
    position = store.position(handoff_id)
    median = store.median_handling_seconds(settings.recent_closed)
    handling_minutes = median / 60 if median is not None else settings.default_handling_minutes
    agents = max(store.agents_active_since(now - ACTIVE_AGENT_WINDOW_S), settings.default_agents_online)
    return QueueStatus(position, max(1, math.ceil(max(position, 1) * handling_minutes / agents)))


def is_open(settings: HandoffSettings, now: float | None = None) -> bool:
    local = datetime.fromtimestamp(now or time.time(), ZoneInfo(settings.timezone))
    minutes = local.hour * 60 + local.minute
    opens, closes = settings.open_time[0] * 60 + settings.open_time[1], settings.close_time[0] * 60 + settings.close_time[1]
    return local.weekday() in settings.open_days and opens <= minutes < closes


def next_opening(settings: HandoffSettings, now: float | None = None) -> datetime:
    """The next time (in the settings' time zone) the team starts work."""
    local = datetime.fromtimestamp(now or time.time(), ZoneInfo(settings.timezone))
    for days_ahead in range(0, 8):
        day = (local + timedelta(days=days_ahead)).replace(
            hour=settings.open_time[0], minute=settings.open_time[1], second=0, microsecond=0
        )
        if day.weekday() in settings.open_days and day > local:
            return day
    raise ValueError(f"business_hours.days is empty; known days: {', '.join(DAYS)}")


def describe_opening(opening: datetime, language: str, now: float | None = None) -> str:
    """'today at 09:00' / 'tomorrow at 09:00' / 'on Monday at 09:00' ('yarın saat 09:00 itibarıyla')."""
    local_now = datetime.fromtimestamp(now or time.time(), opening.tzinfo)
    clock = opening.strftime("%H:%M")
    days = (opening.date() - local_now.date()).days
    if language == "en":
        return (
            f"today at {clock}"
            if days == 0
            else f"tomorrow at {clock}"
            if days == 1
            else f"on {DAY_NAMES['en'][opening.weekday()]} at {clock}"
        )
    day = "bugün" if days == 0 else "yarın" if days == 1 else DAY_NAMES["tr"][opening.weekday()]
    return f"{day} saat {clock} itibarıyla"
