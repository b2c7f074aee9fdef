"""The handoff settings: handoff/settings.yml, with the file named by HANDOFF_SETTINGS (if any)
merged over it, so a deployment's file holds only what it changes (e.g. business_hours).

Python 3.10-compatible: the Rasa server's handoff policy reads it too, so HANDOFF_SETTINGS comes from
settings.rasa_side (standard library) in every process. The files are re-read when they change, so
staff can adjust business hours or lexicons without a restart.
"""

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from language.fold import fold
from settings.rasa_side import rasa_settings

logger = logging.getLogger(__name__)

DEFAULT_PATH = Path(__file__).with_name("settings.yml")
TRIGGERS = ("customer_asks", "low_confidence", "kb_insists", "downvotes", "anger", "always_human")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class SettingsError(ValueError):
    """The settings file is invalid; the message names the file and the field."""


@dataclass(frozen=True)
class Trigger:
    enabled: bool
    priority: int
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HandoffSettings:
    triggers: dict[str, Trigger]
    topics: dict[str, list["re.Pattern[str]"]]
    strong_terms: list["re.Pattern[str]"]
    mild_terms: list["re.Pattern[str]"]
    mood_weights: dict[str, float]
    cancel_words: list["re.Pattern[str]"]
    followup_words: dict[str, list["re.Pattern[str]"]]
    timezone: str
    open_days: tuple[int, ...]
    open_time: tuple[int, int]
    close_time: tuple[int, int]
    default_handling_minutes: float
    recent_closed: int
    default_agents_online: int

    def trigger(self, name: str) -> Trigger:
        return self.triggers[name]


def pattern(term: str) -> "re.Pattern[str]":
    """A folded phrase as a whole-word regex; a trailing * allows any suffix."""
    words = fold(term).rstrip("*").split()
    if not words:
        raise SettingsError(f"empty pattern {term!r}")
    body = r"\s+".join(re.escape(word) for word in words)
    tail = r"\w*" if term.endswith("*") else ""
    return re.compile(rf"(?<!\w){body}{tail}(?!\w)")


def matches(patterns: list["re.Pattern[str]"], text: str) -> list[str]:
    folded = fold(text)
    return [found.group(0) for p in patterns for found in [p.search(folded)] if found]


_cache: dict[tuple[Path, ...], tuple[tuple[float, ...], HandoffSettings]] = {}


def settings_paths() -> tuple[Path, ...]:
    override = rasa_settings().handoff_settings
    return (DEFAULT_PATH, override) if override and override != DEFAULT_PATH else (DEFAULT_PATH,)


def load(paths: tuple[Path, ...] | None = None) -> HandoffSettings:
    """The merged settings (default: settings_paths()), cached until a file changes."""
    paths = paths or settings_paths()
    mtimes = tuple(_mtime(path) for path in paths)
    cached = _cache.get(paths)
    if cached and cached[0] == mtimes:
        return cached[1]
    raw: dict[str, Any] = {}
    for path in paths:
        raw = _merged(raw, _read(path))
    try:
        settings = parse(raw)
    except SettingsError as error:
        raise SettingsError(f"{paths[-1]}: {error}") from error
    _cache[paths] = (mtimes, settings)
    return settings


def load_or_default() -> HandoffSettings:
    """load(), or the packaged defaults when the override file is broken (logged with the
    one-line reason), so a typo in a deployment's file never stops handoffs."""
    try:
        return load()
    except SettingsError as error:
        logger.error("handoff settings: %s; using %s", error, DEFAULT_PATH)
        return load((DEFAULT_PATH,))


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError as error:
        raise SettingsError(f"{path}: cannot read handoff settings ({error.strerror})") from error


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise SettingsError(f"{path}: invalid YAML: {str(error).splitlines()[0]}") from error
    if not isinstance(raw, dict):
        raise SettingsError(f"{path}: expected a mapping at the top level")
    return raw


def _merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = _merged(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return merged


def parse(raw: dict[str, Any]) -> HandoffSettings:
    triggers = {}
    for name in TRIGGERS:
        entry = dict((raw.get("triggers") or {}).get(name) or {})
        try:
            triggers[name] = Trigger(bool(entry.pop("enabled", True)), int(entry.pop("priority", 1)), entry)
        except (TypeError, ValueError) as error:
            raise SettingsError(f"field 'triggers.{name}.priority': {error}") from error
    mood = raw.get("mood") or {}
    hours = raw.get("business_hours") or {}
    wait = raw.get("wait_estimate") or {}
    days = [str(day).lower()[:3] for day in hours.get("days", DAYS[:5])]
    unknown = [day for day in days if day not in DAYS]
    if unknown:
        raise SettingsError(f"field 'business_hours.days': unknown day {unknown[0]!r}")
    return HandoffSettings(
        triggers=triggers,
        topics={topic: [pattern(t) for t in terms] for topic, terms in (raw.get("always_human_topics") or {}).items()},
        strong_terms=[pattern(t) for t in mood.get("strong_terms", [])],
        mild_terms=[pattern(t) for t in mood.get("mild_terms", [])],
        mood_weights={name: float(mood.get(name, default)) for name, default in (("strong", 0.8), ("mild", 0.4), ("shouting", 0.2))},
        cancel_words=[pattern(t) for t in raw.get("cancel_words", ["iptal", "cancel"])],
        followup_words={kind: [pattern(t) for t in terms] for kind, terms in (raw.get("followup_words") or {}).items()},
        timezone=str(hours.get("timezone", "Europe/Istanbul")),
        open_days=tuple(DAYS.index(day) for day in days),
        open_time=_clock(hours.get("open", "09:00"), "business_hours.open"),
        close_time=_clock(hours.get("close", "18:00"), "business_hours.close"),
        default_handling_minutes=float(wait.get("default_handling_minutes", 6)),
        recent_closed=int(wait.get("recent_closed", 20)),
        default_agents_online=max(1, int(wait.get("default_agents_online", 1))),
    )


def _clock(value: Any, name: str) -> tuple[int, int]:
    found = re.fullmatch(r"(\d{1,2}):(\d{2})", str(value))
    if not found or int(found.group(1)) > 24 or int(found.group(2)) > 59:
        raise SettingsError(f"field '{name}': expected HH:MM, got {value!r}")
    return int(found.group(1)), int(found.group(2))
