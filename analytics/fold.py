"""Rasa events, one at a time, folded into the analytics aggregates: the incremental twin of
analytics.tracker's reader (same sessions, turns and slot rules, docs/analytics.md).

A sender's state holds only its current session (no raw customer text: question texts are kept
normalised and redacted). Each event yields the session's new conversation row and the change
of its counts, so the consumer and the backfill write exactly the same aggregates.
"""

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from analytics.tracker import channel_of
from privacy.redaction import redact_for_display

EVENT_TYPES = ("user", "bot", "action", "slot", "session_started")
QUESTION_MAX = 1000  # characters of a question kept (and shown) in the gap list
CountKey = tuple[str, str, str, str, str]  # day, channel, language ("" = none), kind, key


@dataclass
class Step:
    """What one event changed: the session's row (None for an ignored or repeated event) and count deltas."""

    row: dict[str, Any] | None
    deltas: Counter[CountKey]


def new_state() -> dict[str, Any]:
    return {"session": -1, "in_start": False, "language": None, "conv": None, "seen": []}


def question_key(value: Any) -> str | None:
    """A question as the gap list counts it: lower-cased, spaces collapsed, redacted; None if empty."""
    if not value:
        return None
    return redact_for_display(" ".join(str(value).lower().split()))[:QUESTION_MAX]


def fingerprint(event: dict[str, Any]) -> str:
    """An event's identity within its sender: type, time and content (not the broker's envelope)."""
    parse = event.get("parse_data") or {}
    identity = [
        event.get("event"),
        event.get("timestamp"),
        event.get("name"),
        event.get("value"),
        event.get("text"),
        (parse.get("intent") or {}).get("name"),
    ]
    return hashlib.sha1(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:20]


def counts(conv: dict[str, Any] | None, channel: str, timezone: ZoneInfo) -> Counter[CountKey]:
    """The counts one session contributes (nothing before its first customer message)."""
    out: Counter[CountKey] = Counter()
    if conv is None:
        return out
    day = datetime.fromtimestamp(conv["started_at"], timezone).date().isoformat()
    base = (day, channel, conv["language"] or "")
    user_turns = [t for t in conv["turns"] if not t["x"]]
    if user_turns:
        out[(*base, "conversations", "")] += 1
        _, first_response, resolution, handed_off = _times(conv)
        out[(*base, "handed_off", "")] += handed_off
        # count and sum (whole microseconds: integers add up exactly) of the bot times, for their means
        for kind, value in (("first_response", first_response), ("resolution", resolution)):
            if value is not None and value >= 0:
                out[(*base, kind, "n")] += 1
                out[(*base, kind, "us")] += round(value * 1_000_000)
    for turn in user_turns:
        out[(*base, "intent", turn["i"] or "(none)")] += 1
        if turn["a"] is True:
            out[(*base, "kb", "answered")] += 1
        elif turn["a"] is False:
            out[(*base, "kb", "unanswered")] += 1
            question = turn["q"] if turn["q"] is not None else turn["t"]
            if question:
                out[(*base, "unanswered", question)] += 1
        if turn["a"] and turn["r"]:
            out[(*base, "article", turn["r"])] += 1
            if turn["f"] is True:
                out[(*base, "helpful", turn["r"])] += 1
            elif turn["f"] is False:
                out[(*base, "not_helpful", turn["r"])] += 1
    return out


def _times(conv: dict[str, Any]) -> tuple[float | None, float | None, float | None, bool]:
    """First customer message, bot first response time, bot resolution time (only if not handed
    off), handed off — as analytics.tracker.Conversation and analytics.figures define them."""
    user_times = [t["ts"] for t in conv["turns"] if not t["x"]]
    first_user = user_times[0] if user_times else None
    replies = [b for b in conv["bot"] if first_user is not None and b >= first_user]
    handed_off = any(t["h"] for t in conv["turns"])
    first_response = None if first_user is None or not replies else min(replies) - first_user
    resolution = None if first_user is None or handed_off else conv["last_at"] - first_user
    return first_user, first_response, resolution, handed_off


def row(sender_id: str, state: dict[str, Any], timezone: ZoneInfo) -> dict[str, Any]:
    """The analytics_conversations row of the sender's current session."""
    conv = state["conv"]
    first_user, first_response, resolution, handed_off = _times(conv)
    return {
        "sender_id": sender_id,
        "session": state["session"],
        "started_at": conv["started_at"],
        "day": datetime.fromtimestamp(conv["started_at"], timezone).date().isoformat(),
        "channel": channel_of(sender_id),
        "language": conv["language"] or "",
        "first_user_at": first_user,
        "last_at": conv["last_at"],
        "handed_off": handed_off,
        "user_turns": sum(1 for t in conv["turns"] if not t["x"]),
        "first_response_s": first_response,
        "resolution_s": resolution,
    }


def apply(sender_id: str, state: dict[str, Any], event: dict[str, Any], timezone: ZoneInfo) -> Step:
    """Fold one event (Rasa's `as_dict()`, as the tracker store and the Pika broker carry it) into
    state, in place. An event seen before in this session, or older than the session, changes nothing."""
    type_name = event.get("event")
    if type_name not in EVENT_TYPES:
        return Step(None, Counter())
    timestamp = float(event.get("timestamp") or 0.0)
    conv = state["conv"]
    mark = fingerprint(event)
    if conv is not None and (timestamp < conv["started_at"] or mark in state["seen"]):
        return Step(None, Counter())
    channel = channel_of(sender_id)
    before = counts(conv, channel, timezone)
    name = str(event.get("name") or "")
    starts_session = type_name == "session_started" or (type_name == "action" and name == "action_session_start")
    if conv is None or (starts_session and conv["content"]):
        state["session"] += 1
        conv = state["conv"] = {
            "started_at": timestamp,
            "last_at": timestamp,
            "language": state["language"],
            "content": False,
            "turns": [],
            "bot": [],
        }
        state["seen"] = []
        before = Counter()
    state["seen"].append(mark)
    conv["last_at"] = max(conv["last_at"], timestamp)
    turn = conv["turns"][-1] if conv["turns"] else None
    if starts_session:
        state["in_start"] = True
    elif type_name == "user":
        state["in_start"] = False
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        conv["turns"].append(
            {
                "ts": timestamp,
                "x": bool(intent and str(intent).startswith("EXTERNAL_")),
                "i": intent,
                "a": None,
                "r": None,
                "q": None,
                "t": question_key(event.get("text")),
                "f": None,
                "h": False,
            }
        )
        conv["content"] = True
    elif type_name == "action":
        if name == "action_listen":
            state["in_start"] = False
    elif type_name == "bot":
        if turn is not None:
            conv["bot"].append(timestamp)
        else:
            conv["content"] = True  # an opening message
    elif type_name == "slot":
        _slot(state, conv, turn, name, event.get("value"))
    return Step(row(sender_id, state, timezone), _diff(counts(conv, channel, timezone), before))


def _diff(after: Counter[CountKey], before: Counter[CountKey]) -> Counter[CountKey]:
    """after − before, negative values kept (Counter's own subtraction drops them)."""
    delta: Counter[CountKey] = Counter()
    for key in set(after) | set(before):
        change = after[key] - before[key]
        if change:
            delta[key] = change
    return delta


def _slot(state: dict[str, Any], conv: dict[str, Any], turn: dict[str, Any] | None, name: str, value: Any) -> None:
    if name == "language" and value:
        state["language"] = conv["language"] = str(value)
    if state["in_start"] or turn is None:
        return  # slots carried into a new session are not new facts
    if name == "kb_query":
        turn["q"] = question_key(value)
    elif name == "kb_article_id":
        turn["r"] = None if value is None else str(value)
    elif name == "kb_answered" and value is not None:
        turn["a"] = bool(value)
    elif name == "handoff_requested" and value:
        turn["h"] = True
    elif name == "kb_feedback" and value in ("up", "down"):
        rated = next((t for t in reversed(conv["turns"]) if t["a"]), turn)
        rated["f"] = value == "up"
