"""A turn's work does not depend on how many events came before it (issue 18, docs/turn-cost.md).

Counted, not timed: on a conversation of 2,000 events each part touches as many events as on
one of 200, and no more than a fixed bound. The Rasa-side parts (HandoffPolicy,
ActionServerFallbackPolicy, CachedSQLTrackerStore) are checked under the Rasa interpreter by
tests/rasa_checks/turn_cost_check.py.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rasa_sdk import Tracker

from bot.actions.feedback import ActionRecordFeedback
from bot.actions.handoff import _decision
from handoff import settings as handoff_settings
from handoff import triggers
from tests.bot.test_actions import SLOTS, configured, run  # noqa: F401  (configured is a fixture)
from tests.helpers.rasa_checks import run_rasa_check

CONFIG = handoff_settings.load((handoff_settings.DEFAULT_PATH,))


class CountingList(list):
    """tracker.events that counts every event it hands out (iteration, reversed, indexing, slices)."""

    touched = 0

    def __iter__(self) -> Iterator[Any]:
        for event in super().__iter__():
            self.touched += 1
            yield event

    def __reversed__(self) -> Iterator[Any]:
        for event in super().__reversed__():
            self.touched += 1
            yield event

    def __getitem__(self, index: Any) -> Any:
        found = super().__getitem__(index)
        self.touched += len(found) if isinstance(index, slice) else 1
        return found


def faq_turn(number: int) -> list[dict[str, Any]]:
    text = f"question {number}"
    return [
        {"event": "user", "text": text, "parse_data": {"intent": {"name": "faq", "confidence": 0.9}, "entities": []}},
        {"event": "slot", "name": "language", "value": "tr"},
        {"event": "action", "name": "action_answer_from_kb"},
        {"event": "bot", "text": "an answer"},
        {"event": "bot", "text": "did it help?"},
        {"event": "slot", "name": "kb_query", "value": text},
        {"event": "slot", "name": "kb_answered", "value": True},
        {"event": "action", "name": "action_listen"},
    ]


def conversation(size: int, ending: list[dict[str, Any]]) -> CountingList:
    events: list[dict[str, Any]] = [{"event": "session_started"}, {"event": "action", "name": "action_listen"}]
    number = 0
    while len(events) + len(ending) < size:
        events += faq_turn(number)
        number += 1
    return CountingList(events + ending)


UNCLEAR: list[dict[str, Any]] = [
    {"event": "user", "text": "asdf", "parse_data": {"intent": {"name": "nlu_fallback"}}},
    {"event": "action", "name": "action_answer_from_kb"},
    {"event": "slot", "name": "kb_answered", "value": False},
    {"event": "action", "name": "action_listen"},
    {"event": "user", "text": "qwer", "parse_data": {"intent": {"name": "nlu_fallback"}}},
]


def test_triggers_read_only_the_newest_events() -> None:
    counts = []
    for size in (200, 2000):
        events = conversation(size, UNCLEAR)
        decision = triggers.decide(events, CONFIG)
        assert decision is not None and decision.reason == "low_confidence"
        counts.append(events.touched)
    assert counts[0] == counts[1] <= triggers.LOOKBACK


def tracker(events: CountingList, intent: str, **slots: Any) -> Tracker:
    return Tracker(
        "long",
        {**SLOTS, **slots},
        {"text": "x", "intent": {"name": intent, "confidence": 0.9}, "entities": []},
        events,
        False,
        None,
        {},
        "action_listen",
    )


def test_the_reason_of_a_handoff_reads_only_the_newest_events() -> None:
    counts = []
    for size in (200, 2000):
        events = conversation(size, UNCLEAR)
        assert _decision(tracker(events, "nlu_fallback"), CONFIG).reason == "low_confidence"
        counts.append(events.touched)
    assert counts[0] == counts[1] <= triggers.LOOKBACK


def test_feedback_touches_no_event_and_counts_downvotes_in_a_slot(configured: Path) -> None:  # noqa: F811
    events = conversation(2000, [])
    result, _ = run(ActionRecordFeedback(), tracker(events, "answer_not_helpful", kb_query="q", kb_article_id="a", kb_downvotes=1))
    assert result[-1] == {"event": "slot", "timestamp": None, "name": "kb_downvotes", "value": 2}
    assert events.touched == 0


def test_rasa_side_parts_do_bounded_work() -> None:
    run_rasa_check("turn_cost_check.py")
