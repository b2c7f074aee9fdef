"""Custom actions against a real (tiny) index and a real SQLite file: exact events and responses."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import services
from bot.actions.feedback import ActionRecordFeedback
from bot.actions.handoff import ActionRequestHuman
from bot.actions.kb import ActionAnswerFromKb
from bot.actions.session import ActionSessionStart
from settings.model import get_settings
from storage.database import Database
from tests.helpers.databases import support_database, use_database

SLOTS = {
    "language": "tr",
    "kb_answered": None,
    "kb_query": None,
    "kb_article_id": None,
    "kb_score": None,
    "kb_feedback": None,
    "kb_downvotes": None,
    "handoff_requested": None,
    "customer_id": None,
}


@pytest.fixture
def configured(tiny_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """Point the services at the tiny index and a fresh database."""
    monkeypatch.setenv("DESTEK_KB_INDEX", str(tiny_index))
    database = support_database(tmp_path)
    use_database(monkeypatch, database)
    monkeypatch.delenv("DESTEK_KB_THRESHOLD", raising=False)
    monkeypatch.delenv("DESTEK_EMBEDDING_MODEL", raising=False)
    monkeypatch.setenv("HANDOFF_SETTINGS", str(Path(__file__).resolve().parents[1] / "data" / "handoff_always_open.yml"))
    caches = (services.settings, services.knowledge_base, services.records, services.customers, services.handoffs, services.rasa)
    for cached in caches:
        cached.cache_clear()
    services.customers().seed_demo_customers()
    yield database
    for cached in caches:
        cached.cache_clear()


def tracker(text: str, intent: str = "faq", sender_id: str = "customer-1", **slots: Any) -> Tracker:
    return Tracker(
        sender_id=sender_id,
        slots={**SLOTS, **slots},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def run(action: Any, current: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, current, {})
    return events, dispatcher.messages


def message(response: str, buttons: list[dict[str, str]] | None = None, **kwargs: Any) -> dict[str, Any]:
    return {
        "text": None,
        "buttons": buttons or [],
        "elements": [],
        "custom": {},
        "template": response,
        "response": response,
        "image": None,
        "attachment": None,
        **kwargs,
    }


def test_answer_cites_the_article_in_the_customers_language(configured: Path) -> None:
    events, messages = run(ActionAnswerFromKb(), tracker("Kargom nerede kaldı?", language="tr"))
    score = events[2]["value"]
    assert events == [
        SlotSet("kb_query", "Kargom nerede kaldı?"),
        SlotSet("kb_article_id", "track-tr"),
        SlotSet("kb_score", score),
        SlotSet("kb_answered", True),
        SlotSet("kb_candidates", events[4]["value"]),
    ]
    assert score >= 0.35
    assert events[4]["value"][0] == {"id": "track-tr", "title": "Siparişimi nasıl takip ederim?", "score": round(score, 3)}
    assert messages == [
        message(
            "utter_kb_answer",
            answer="Siparişinizin nerede olduğunu hesabınızdaki Siparişlerim sayfasından görebilirsiniz. Kargo takip numarası, paket depodan çıktığında gönderdiğimiz SMS'te yer alır.",
            title="Siparişimi nasıl takip ederim?",
            url="https://yardim.example/tr/track",
        ),
        message("utter_ask_helpful"),
    ]


def test_no_good_answer_is_said_honestly_and_recorded(configured: Path) -> None:
    events, messages = run(ActionAnswerFromKb(), tracker("who won the football match yesterday", language="en"))
    assert [e["name"] for e in events] == ["kb_query", "kb_article_id", "kb_score", "kb_answered", "kb_candidates"]
    assert events[1] == SlotSet("kb_article_id", None) and events[3] == SlotSet("kb_answered", False)
    names = [m["response"] for m in messages]
    assert names[0] == "utter_kb_not_sure" and names[-1] == "utter_offer_human"
    if len(messages) == 3:  # related articles are offered only above the related-score floor
        assert messages[1]["response"] == "utter_kb_related" and 1 <= len(messages[1]["buttons"]) <= 3
    rows = services.records().rows("unanswered_questions")
    assert [(r["sender_id"], r["query"], r["language"]) for r in rows] == [("customer-1", "who won the football match yesterday", "en")]


def test_related_articles_are_offered_below_the_threshold(configured: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESTEK_KB_THRESHOLD", "0.999")
    get_settings.cache_clear()  # the action server reads its settings once; this test is a new start
    services.settings.cache_clear()
    events, messages = run(ActionAnswerFromKb(), tracker("wifi sifremi unuttum", language="tr"))
    assert events[3] == SlotSet("kb_answered", False)
    assert [m["response"] for m in messages] == ["utter_kb_not_sure", "utter_kb_related", "utter_offer_human"]
    related = messages[1]
    assert related["buttons"][0] == {"title": "Wi-Fi şifremi nasıl değiştiririm?", "payload": "Wi-Fi şifremi nasıl değiştiririm?"}
    assert related["articles"].startswith("• Wi-Fi şifremi nasıl değiştiririm? – https://yardim.example/tr/wifi")


@pytest.mark.parametrize(
    ("intent", "helpful"), [("answer_helpful", True), ("affirm", True), ("answer_not_helpful", False), ("deny", False)]
)
def test_feedback_is_stored_with_query_and_article(configured: Path, intent: str, helpful: bool) -> None:
    current = tracker("👍", intent=intent, kb_query="Kargom nerede?", kb_article_id="track-tr", kb_score=0.8)
    events, messages = run(ActionRecordFeedback(), current)
    assert events == ([SlotSet("kb_feedback", "up")] if helpful else [SlotSet("kb_feedback", "down"), SlotSet("kb_downvotes", 1)])
    expected = ["utter_feedback_thanks"] if helpful else ["utter_feedback_sorry", "utter_offer_human"]
    assert [m["response"] for m in messages] == expected
    rows = services.records().rows("answer_feedback")
    assert [(r["query"], r["article_id"], r["score"], r["helpful"]) for r in rows] == [("Kargom nerede?", "track-tr", 0.8, int(helpful))]


@pytest.mark.parametrize(("intent", "reason"), [("request_human", "customer_asked"), ("affirm", "kb_no_answer")])
def test_request_for_a_person_is_recorded(configured: Path, intent: str, reason: str) -> None:
    events, messages = run(ActionRequestHuman(), tracker("temsilciye bağlan", intent=intent, kb_query="araba satıyor musunuz"))
    assert events == [
        SlotSet("handoff_requested", True),
        SlotSet("handoff_status", "queued"),
        SlotSet("handoff_id", "1"),
        SlotSet("kb_downvotes", None),
    ]
    assert messages == [message("utter_handoff_connecting", position=1, wait=6)]
    rows = services.records().rows("handoff_requests")
    assert [(r["sender_id"], r["language"], r["reason"], r["last_query"]) for r in rows] == [
        ("customer-1", "tr", reason, "araba satıyor musunuz")
    ]
    handoff = services.handoffs().require(1)
    assert (handoff["status"], handoff["reason"], handoff["channel"]) == ("queued", reason, "rest")
    assert handoff["context_card"]["reason"] == reason


def test_session_start_for_an_unknown_sender(configured: Path) -> None:
    events, messages = run(ActionSessionStart(), tracker("", intent="", sender_id="shell-1", language=None))
    assert events == [SessionStarted(), ActionExecuted("action_listen")]
    assert messages == []


def test_question_on_the_web_is_remembered_on_whatsapp(configured: Path) -> None:
    """The web answer is stored as context; a WhatsApp session of the same customer starts with it."""
    web = tracker("Where is my package?", sender_id="web:cust-john", language="en", customer_id="cust-john")
    run(ActionAnswerFromKb(), web)
    events, messages = run(ActionSessionStart(), tracker("", intent="", sender_id="whatsapp:+905551110002", language="tr"))
    assert events == [
        SessionStarted(),
        SlotSet("language", "tr"),
        SlotSet("customer_id", "cust-john"),
        SlotSet("language", "en"),
        SlotSet("kb_query", "Where is my package?"),
        SlotSet("kb_article_id", "track-en"),
        ActionExecuted("action_listen"),
    ]
    assert messages == [
        message(
            "utter_welcome_back_en",
            last_query="Where is my package?",
            title="How can I track my order?",
            url="https://help.example/en/track",
        )
    ]


def test_same_channel_session_does_not_repeat_the_reminder(configured: Path) -> None:
    run(ActionAnswerFromKb(), tracker("Kargom nerede?", sender_id="web:cust-ayse", customer_id="cust-ayse"))
    events, messages = run(ActionSessionStart(), tracker("", intent="", sender_id="web:cust-ayse", language="tr"))
    assert events == [SessionStarted(), SlotSet("language", "tr"), SlotSet("customer_id", "cust-ayse"), ActionExecuted("action_listen")]
    assert messages == []
