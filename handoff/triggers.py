"""Whether the conversation should go to a person now, and why (docs/handoff.md).

Works on tracker events as dicts (Rasa's `event.as_dict()` and rasa-sdk's tracker.events
share that shape), so the Rasa handoff policy (which decides) and action_request_human (which
records the reason) reach the same answer. Python 3.10-compatible, no I/O but the settings.

It runs on every customer message, so its work must not grow with the conversation
(docs/turn-cost.md): it reads only the last LOOKBACK events, and the one count that spans
the whole conversation (👎) comes from the `kb_downvotes` slot that action_record_feedback keeps.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from handoff.mood import anger_score
from handoff.settings import HandoffSettings, load, matches, pattern

KB_ACTION = "action_answer_from_kb"
FEEDBACK_ACTION = "action_record_feedback"
HANDOFF_ACTION = "action_request_human"
# A new "conversation" for counting starts after these (or a session start).
WINDOW_RESET_ACTIONS = (HANDOFF_ACTION, "action_handback", "action_forward_to_agent")
# Events read back from the newest: the last few turns (a FAQ turn is about 12 events, an unclear
# one about 16), enough for `in_a_row` up to 5 and for two KB answers in a row.
LOOKBACK = 120
NOT_IT_PHRASES = [
    pattern(p)
    for p in (
        "that's not it",
        "thats not it",
        "not what i asked",
        "that didn't help",
        "that does not help",
        "still not answered",
        "bu degil",
        "o degil",
        "olmadi",
        "ise yaramadi",
        "yardimci olmadi",
        "sorduğum bu degil",
        "bunu sormadim",
    )
]


@dataclass(frozen=True)
class Decision:
    reason: str  # customer_asked, low_confidence, kb_no_answer, downvotes, anger, always_human
    priority: int
    detail: str = ""


def window(events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Of the last LOOKBACK events, those since the session started or the last handoff began or ended."""
    recent = list(events[-LOOKBACK:])
    for index in range(len(recent) - 1, -1, -1):
        kind = recent[index].get("event")
        if kind == "session_started" or (kind == "action" and recent[index].get("name") in WINDOW_RESET_ACTIONS):
            return recent[index + 1 :]
    return recent


def user_intent(event: dict[str, Any]) -> str | None:
    return ((event.get("parse_data") or {}).get("intent") or {}).get("name")


def decide(events: Sequence[dict[str, Any]], settings: HandoffSettings | None = None, downvotes: float = 0) -> Decision | None:
    """The strongest handoff trigger for the latest step of the conversation, if any.

    Two moments are checked: right after a customer message, and right after the KB answer
    or the 👍/👎 recording actions ran (their slots tell whether the bot was unsure).
    `events` may be the whole conversation or only its newest LOOKBACK events (the same
    answer); `downvotes` is the `kb_downvotes` slot."""
    settings = settings or load()
    recent = window(events)
    actions = [e for e in recent if e.get("event") == "action"]
    last_action = actions[-1].get("name") if actions else None
    users = [e for e in recent if e.get("event") == "user" and not (user_intent(e) or "").startswith("EXTERNAL_")]
    found: list[Decision] = []
    if last_action in (None, "action_listen") and users and _after_last_action(recent, users[-1]):
        found += _on_message(recent, users, settings)
    elif last_action == KB_ACTION and _kb_unsure_in_a_row(recent) >= 2:
        found += _fire(settings, "kb_insists", "kb_no_answer", "second question without an answer")
    elif last_action == FEEDBACK_ACTION:
        downs = int(downvotes or 0)
        trigger = settings.trigger("downvotes")
        if downs >= int(trigger.options.get("count", 2)):
            found += _fire(settings, "downvotes", "downvotes", f"{downs} answers rated 👎")
    return max(found, key=lambda d: d.priority) if found else None


def _after_last_action(recent: list[dict[str, Any]], user: dict[str, Any]) -> bool:
    """True when the customer's message is the newest turn (no action ran after it)."""
    position = max(i for i, e in enumerate(recent) if e is user)
    return not any(e.get("event") == "action" and e.get("name") != "action_listen" for e in recent[position:])


def _on_message(recent: list[dict[str, Any]], users: list[dict[str, Any]], settings: HandoffSettings) -> list[Decision]:
    message = users[-1]
    text = message.get("text") or ""
    intent = user_intent(message)
    found: list[Decision] = []
    for topic, patterns in settings.topics.items():
        if not text.startswith("/") and matches(patterns, text):
            found += _fire(settings, "always_human", "always_human", topic)
            break
    score = anger_score(text, settings)
    if score >= float(settings.trigger("anger").options.get("threshold", 0.7)):
        found += _fire(settings, "anger", "anger", f"mood {score}")
    if intent == "request_human":
        found += _fire(settings, "customer_asks", "customer_asked", "asked for a person")
    in_a_row = int(settings.trigger("low_confidence").options.get("in_a_row", 2))
    if len(users) >= in_a_row and all(user_intent(u) == "nlu_fallback" for u in users[-in_a_row:]):
        found += _fire(settings, "low_confidence", "low_confidence", f"{in_a_row} unclear messages in a row")
    if _last_kb_unsure(recent) and (intent == "answer_not_helpful" or matches(NOT_IT_PHRASES, text)):
        found += _fire(settings, "kb_insists", "kb_no_answer", "not helped after a not-sure answer")
    return found


def _fire(settings: HandoffSettings, trigger_name: str, reason: str, detail: str) -> list[Decision]:
    trigger = settings.trigger(trigger_name)
    return [Decision(reason, trigger.priority, detail)] if trigger.enabled else []


def _kb_results(recent: list[dict[str, Any]]) -> list[bool]:
    """kb_answered after each KB action in the window, oldest first."""
    results: list[bool] = []
    last_action = None
    for event in recent:
        if event.get("event") == "action":
            last_action = event.get("name")
        elif event.get("event") == "slot" and event.get("name") == "kb_answered" and last_action == KB_ACTION:
            results.append(bool(event.get("value")))
    return results


def _last_kb_unsure(recent: list[dict[str, Any]]) -> bool:
    """The bot's last turn was a not-sure KB answer."""
    actions = [e.get("name") for e in recent if e.get("event") == "action" and e.get("name") != "action_listen"]
    results = _kb_results(recent)
    return bool(actions) and actions[-1] == KB_ACTION and bool(results) and not results[-1]


def _kb_unsure_in_a_row(recent: list[dict[str, Any]]) -> int:
    count = 0
    for answered in reversed(_kb_results(recent)):
        if answered:
            break
        count += 1
    return count
