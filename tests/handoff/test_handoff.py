"""Handoff parts without Rasa: settings, triggers, queue and wait, store, context card, webhook."""

import http.server
import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from customer_store.store import CustomerStore
from handoff import queue, triggers, webhook
from handoff import settings as handoff_settings
from handoff.context_card import build_card, collect_card
from handoff.store import HandoffError, HandoffStore
from settings.model import load
from storage.database import Database

ROOT = Path(__file__).resolve().parents[2]
CONFIG = handoff_settings.load((handoff_settings.DEFAULT_PATH,))


# --- tracker events as Rasa/rasa-sdk give them ---------------------------------------------
def user(text: str, intent: str, confidence: float = 0.9, ts: float = 0.0) -> dict[str, Any]:
    return {
        "event": "user",
        "text": text,
        "timestamp": ts,
        "parse_data": {"intent": {"name": intent, "confidence": confidence}, "entities": []},
    }


def action(name: str, ts: float = 0.0) -> dict[str, Any]:
    return {"event": "action", "name": name, "timestamp": ts}


def slot(name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "name": name, "value": value}


def bot(text: str, ts: float = 0.0) -> dict[str, Any]:
    return {"event": "bot", "text": text, "timestamp": ts}


LISTEN = action("action_listen")


def kb_turn(text: str, answered: bool, intent: str = "faq") -> list[dict[str, Any]]:
    return [user(text, intent), action("action_answer_from_kb"), slot("kb_query", text), slot("kb_answered", answered), LISTEN]


def test_settings_file_errors_name_the_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "handoff.yml"
    bad.write_text("business_hours:\n  open: '9 am'\n")
    with pytest.raises(handoff_settings.SettingsError, match=r"handoff.yml: field 'business_hours.open': expected HH:MM"):
        handoff_settings.load((handoff_settings.DEFAULT_PATH, bad))
    bad.write_text("business_hours: [\n")
    with pytest.raises(handoff_settings.SettingsError, match=r"handoff\.yml: invalid YAML"):
        handoff_settings.load((handoff_settings.DEFAULT_PATH, bad))


def test_an_override_file_changes_only_what_it_names(tmp_path: Path) -> None:
    override = tmp_path / "handoff.yml"
    override.write_text("triggers:\n  anger: {enabled: false}\nbusiness_hours: {open: '08:30'}\n")
    merged = handoff_settings.load((handoff_settings.DEFAULT_PATH, override))
    assert merged.open_time == (8, 30) and merged.close_time == (18, 0)
    assert not merged.trigger("anger").enabled and merged.trigger("always_human").enabled
    assert triggers.decide([LISTEN, user("bu ne rezalet, bıktım artık!!!", "faq")], merged) is None


@pytest.mark.parametrize(
    ("events", "reason"),
    [
        ([LISTEN, user("I want to talk to a person", "request_human")], "customer_asked"),
        ([LISTEN, user("hesabımı kapatmak istiyorum", "faq")], "always_human"),
        ([LISTEN, user("I will take legal action, my lawyer is ready", "faq")], "always_human"),
        ([LISTEN, user("Bu ne REZALET bir hizmet, bıktım artık!!!", "faq")], "anger"),
        ([LISTEN, user("this is ridiculous and unacceptable", "faq")], "anger"),
        ([LISTEN, *kb_turn("asdf qwer", False, "nlu_fallback"), user("zxcv uiop", "nlu_fallback")], "low_confidence"),
        ([LISTEN, *kb_turn("tv kanalı ekleyebilir miyim", False), user("bu değil", "nlu_fallback")], "kb_no_answer"),
        ([LISTEN, *kb_turn("can I add tv channels", False), user("/answer_not_helpful", "answer_not_helpful")], "kb_no_answer"),
        ([LISTEN, *kb_turn("tv kanalı", False)[:-1], LISTEN, *kb_turn("uydu anteni", False)[:-1]], "kb_no_answer"),
    ],
)
def test_each_trigger_gives_its_reason(events: list[dict[str, Any]], reason: str) -> None:
    decision = triggers.decide(events, CONFIG)
    assert decision is not None and decision.reason == reason


def test_downvotes_are_counted_by_the_slot_not_by_scanning() -> None:
    """The second 👎 (kb_downvotes = 2, kept by action_record_feedback) hands over; the first does not."""
    vote = [LISTEN, user("/answer_not_helpful", "answer_not_helpful"), action("action_record_feedback"), slot("kb_feedback", "down")]
    assert triggers.decide(vote, CONFIG, downvotes=1) is None
    decision = triggers.decide(vote, CONFIG, downvotes=2)
    assert decision is not None and decision.reason == "downvotes"


@pytest.mark.parametrize(
    "events",
    [
        [LISTEN, user("siparişim nerede", "faq")],
        [LISTEN, *kb_turn("asdf", True, "nlu_fallback"), user("teşekkürler", "thank")],
        [LISTEN, *kb_turn("kargo ne zaman gelir", True), user("bu değil", "nlu_fallback")],  # answered: not the insist rule
        [LISTEN, user("/answer_not_helpful", "answer_not_helpful"), action("action_record_feedback"), slot("kb_feedback", "down")],
        [LISTEN, user("siparişimi iptal etmek istiyorum", "faq")],
        # counting restarts after a handoff ended
        [LISTEN, user("asdf", "nlu_fallback"), action("action_handback"), LISTEN, user("qwer", "nlu_fallback")],
    ],
)
def test_ordinary_turns_do_not_trigger(events: list[dict[str, Any]]) -> None:
    assert triggers.decide(events, CONFIG) is None


def test_the_strongest_trigger_wins() -> None:
    decision = triggers.decide([LISTEN, user("rezalet! hesabımı kapatın, avukatıma gidiyorum", "request_human")], CONFIG)
    assert decision is not None and (decision.reason, decision.priority) == ("always_human", 4)


def test_business_hours_in_istanbul() -> None:
    istanbul = ZoneInfo("Europe/Istanbul")
    friday_evening = datetime(2026, 11, 27, 18, 30, tzinfo=istanbul).timestamp()
    monday_morning = datetime(2026, 11, 30, 10, 0, tzinfo=istanbul).timestamp()
    assert queue.is_open(CONFIG, monday_morning) and not queue.is_open(CONFIG, friday_evening)
    opening = queue.next_opening(CONFIG, friday_evening)
    assert (opening.weekday(), opening.hour) == (0, 9)
    assert queue.describe_opening(opening, "en", friday_evening) == "on Monday at 09:00"
    assert queue.describe_opening(opening, "tr", friday_evening) == "Pazartesi saat 09:00 itibarıyla"
    thursday_night = datetime(2026, 11, 26, 20, 0, tzinfo=istanbul).timestamp()
    assert queue.describe_opening(queue.next_opening(CONFIG, thursday_night), "en", thursday_night) == "tomorrow at 09:00"


def test_queue_position_follows_priority_then_age(database: Database) -> None:
    store = HandoffStore(database)
    first = store.create("s1", "rest", "customer_asked", 2, now=100)
    second = store.create("s2", "rest", "customer_asked", 2, now=200)
    angry = store.create("s3", "rest", "anger", 3, now=300)
    assert store.create("s1", "rest", "anger", 3)["id"] == first["id"]  # one open handoff per sender
    assert [store.position(h["id"]) for h in (first, second, angry)] == [2, 3, 1]


def test_wait_estimate_uses_recent_handling_times_and_active_agents(database: Database) -> None:
    store = HandoffStore(database)
    waiting = store.create("w", "rest", "customer_asked", 2)
    assert queue.queue_status(store, waiting["id"], CONFIG) == queue.QueueStatus(1, 6)  # default 6 min, no history
    now = time.time()
    for index, minutes in enumerate((4, 10, 12)):
        done = store.create(f"d{index}", "rest", "customer_asked", 2)
        store.claim(done["id"], "agent1", now=now - 1000)
        store.close(done["id"], "agent1", now=now - 1000 + minutes * 60)
    other = store.create("x", "rest", "anger", 3)  # ahead in the queue
    assert queue.queue_status(store, waiting["id"], CONFIG) == queue.QueueStatus(2, 20)  # 2 × median 10 min ÷ 1 agent
    helper = store.create("h", "rest", "customer_asked", 1)
    store.claim(helper["id"], "agent2")
    store.claim(other["id"], "agent2")
    assert queue.queue_status(store, waiting["id"], CONFIG) == queue.QueueStatus(1, 5)  # 1 × 10 min ÷ 2 agents


def test_store_refuses_what_is_not_allowed(database: Database) -> None:
    store = HandoffStore(database)
    handoff = store.create("s", "rest", "customer_asked", 2)
    store.claim(handoff["id"], "agent1")
    with pytest.raises(HandoffError, match=f"handoff {handoff['id']} is assigned; cannot claim it"):
        store.claim(handoff["id"], "agent2")
    with pytest.raises(HandoffError, match="not assigned to 'agent2'"):
        store.transfer(handoff["id"], "agent2", "agent1")
    assert store.transfer(handoff["id"], "agent1", "agent2")["agent"] == "agent2"
    with pytest.raises(HandoffError, match="assigned to 'agent2', not 'agent1'"):
        store.close(handoff["id"], "agent1")
    assert store.close(handoff["id"], "agent2")["status"] == "closed"
    with pytest.raises(HandoffError, match="is closed; cannot cancel it"):
        store.cancel(handoff["id"])
    with pytest.raises(HandoffError, match="field 'rating'"):
        store.add_csat(handoff["id"], "s", "rest", 6)
    with pytest.raises(HandoffError, match="no handoff with id 999"):
        store.claim(999, "agent1")


def test_reply_templates(database: Database) -> None:
    store = HandoffStore(database)
    store.save_template("greeting", "tr", "Merhaba, ben {agent}.", "admin")
    store.save_template("greeting", "tr", "Merhaba!", "admin")
    store.save_template("greeting", "en", "Hello!", "admin")
    assert [(t["name"], t["language"], t["text"]) for t in store.templates()] == [
        ("greeting", "en", "Hello!"),
        ("greeting", "tr", "Merhaba!"),
    ]
    with pytest.raises(HandoffError, match="field 'language'"):
        store.save_template("x", "de", "Hallo")


CARD_NUMBER, IBAN_NUMBER, TCKN_NUMBER = "4111 1111 1111 1111", "TR33 0006 1005 1978 6457 8413 26", "10000000146"


def conversation_events() -> list[dict[str, Any]]:
    return [
        action("action_session_start", 1),
        LISTEN,
        user(f"iade param ne zaman yatar, sipariş 12345, kartım {CARD_NUMBER}", "faq", 0.82, 10),
        action("action_answer_from_kb", 11),
        slot("kb_query", f"iade param ne zaman yatar, sipariş 12345, kartım {CARD_NUMBER}"),
        slot("kb_candidates", [{"id": "refund-tr", "title": "İade", "score": 0.31}, {"id": "pay-tr", "title": "Ödeme", "score": 0.2}]),
        slot("kb_article_id", None),
        slot("kb_score", 0.31),
        slot("kb_answered", False),
        bot("Bu sorunun doğru yanıtından emin değilim", 11),
        LISTEN,
        user(f"IBAN {IBAN_NUMBER} TC {TCKN_NUMBER}, bu değil! rezalet, bıktım", "nlu_fallback", 0.3, 20),
    ]


def test_context_card_has_everything_and_no_personal_numbers(database: Database) -> None:
    customers = CustomerStore(database)
    customers.seed_demo_customers()
    customer_id = "cust-ayse"
    handoff = {
        "id": 7,
        "sender_id": "web-1",
        "customer_id": customer_id,
        "channel": "webchat",
        "language": "tr",
        "reason": "anger",
        "reason_detail": "mood 1.0",
        "priority": 3,
        "created_at": 30,
    }
    card = collect_card(handoff, customers, rasa=None, current_events=conversation_events())
    raw = json.dumps(card, ensure_ascii=False)
    for secret in (CARD_NUMBER, CARD_NUMBER.replace(" ", ""), IBAN_NUMBER, IBAN_NUMBER.replace(" ", ""), TCKN_NUMBER):
        assert secret not in raw
    assert "[CARD]" in raw and "[IBAN]" in raw and "[TCKN]" in raw
    customer_turns = [t for t in card["transcript"] if t["role"] == "customer"]
    assert [(t["intent"], t["confidence"]) for t in customer_turns] == [("faq", 0.82), ("nlu_fallback", 0.3)]
    kb_action = next(t for t in card["transcript"] if t.get("name") == "action_answer_from_kb")
    assert kb_action["slots"]["kb_answered"] is False and kb_action["slots"]["kb_score"] == 0.31
    assert card["kb_attempts"][0]["candidates"][0] == {"id": "refund-tr", "title": "İade", "score": 0.31}
    assert [m["score"] for m in card["mood"]][-1] == 1.0 and card["mood_trend"] == "rising"
    assert card["customer"]["id"] == customer_id and card["recent_orders"] == customers.recent_orders(customer_id)
    assert card["summary"].startswith(
        "Asked about “iade param ne zaman yatar, sipariş 12345, kartım [CARD]” in Turkish; 1 article did not help"
    )
    assert "mentions order 12345" in card["summary"] and "customer frustrated" in card["summary"]
    assert card["summary"].endswith("Handed over: the customer is upset (mood 1.0).")


def test_card_of_an_anonymous_web_visitor_has_their_cart(database: Database) -> None:
    customers = CustomerStore(database)
    customers.save_cart("anon-123", [{"product_id": "p1", "name": "Modem", "quantity": 1, "price_kurus": 99900}], 99900)
    handoff = {
        "id": 1,
        "sender_id": "web:anon-123",
        "customer_id": None,
        "channel": "webchat",
        "language": "tr",
        "reason": "customer_asked",
    }
    card = collect_card(handoff, customers, rasa=None, current_events=[LISTEN, user("modem sepetimde kaldı", "faq")])
    assert card["cart"]["total_kurus"] == 99900 and card["customer"] is None


def test_card_merges_channels_in_time_order() -> None:
    web = [LISTEN, user("where is my order", "faq", ts=5)]
    whatsapp = [LISTEN, user("still waiting for order 55555", "faq", ts=50)]
    card = build_card(
        {"id": 1, "language": "en", "reason": "customer_asked"},
        [("web-1", "webchat", web), ("whatsapp:+90555", "whatsapp", whatsapp)],
        settings=CONFIG,
    )
    assert [t["channel"] for t in card["transcript"] if t["role"] == "customer"] == ["webchat", "whatsapp"]
    assert "wrote on webchat and whatsapp" in card["summary"]


# --- the helpdesk webhook, against a real local HTTP receiver -----------------------------
class Receiver(http.server.BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []
    fail_first = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((dict(self.headers), body))
        status = 503 if len(Receiver.received) <= Receiver.fail_first else 204
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.received, Receiver.fail_first = [], 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/destek"
    server.shutdown()


def docs_verification_snippet() -> dict[str, Any]:
    """The receiver's verification code exactly as docs/handoff.md shows it."""
    text = (ROOT / "docs" / "handoff.md").read_text(encoding="utf-8")
    code = re.search(r"<!-- verify-snippet -->\s*```python\n(.*?)```", text, re.S)
    assert code, "docs/handoff.md lost its verification snippet"
    namespace: dict[str, Any] = {}
    exec(code.group(1), namespace)
    return namespace


def test_webhook_is_signed_and_the_documented_check_verifies_it(receiver: str) -> None:
    hook = webhook.HelpdeskWebhook(url=receiver, secret="s3cret", backoff_s=0.01)
    assert hook.post({"event": "handoff.created", "handoff": {"id": 1, "summary": "Türkçe özet"}})
    headers, body = Receiver.received[-1]
    check = docs_verification_snippet()["verify_destek_webhook"]
    assert check("s3cret", headers["X-Destek-Timestamp"], headers["X-Destek-Signature"], body)
    assert json.loads(body)["handoff"]["summary"] == "Türkçe özet"
    tampered = body.replace(b'"id": 1', b'"id": 2')
    assert tampered != body and not check("s3cret", headers["X-Destek-Timestamp"], headers["X-Destek-Signature"], tampered)
    assert not check("other-secret", headers["X-Destek-Timestamp"], headers["X-Destek-Signature"], body)
    old = str(int(headers["X-Destek-Timestamp"]) - 3600)
    assert not check("s3cret", old, webhook.sign("s3cret", old, body), body)  # replay outside the window
    assert webhook.verify("s3cret", headers["X-Destek-Timestamp"], headers["X-Destek-Signature"], body)


def test_webhook_retries_with_backoff_then_gives_up(receiver: str) -> None:
    Receiver.fail_first = 2
    sleeps: list[float] = []
    assert webhook.HelpdeskWebhook(url=receiver, secret="s", backoff_s=0.5).post({"n": 1}, sleep=sleeps.append)
    assert len(Receiver.received) == 3 and sleeps == [0.5, 1.0]
    Receiver.received, Receiver.fail_first = [], 99
    assert not webhook.HelpdeskWebhook(url=receiver, secret="s", attempts=3, backoff_s=0.5).post({"n": 2}, sleep=sleeps.append)
    assert len(Receiver.received) == 3


def test_webhook_to_a_dead_address_fails_within_its_timeout() -> None:
    started = time.monotonic()
    assert not webhook.HelpdeskWebhook(url="http://127.0.0.1:9/", secret="s", attempts=2, timeout=1).post({}, sleep=lambda _: None)
    assert time.monotonic() - started < 5


def test_webhook_without_a_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HELPDESK_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("HELPDESK_WEBHOOK_SECRET", raising=False)
    assert webhook.HelpdeskWebhook.configured(load().proactive) is None
    monkeypatch.setenv("HELPDESK_WEBHOOK_URL", "http://helpdesk.example/hook")
    with pytest.raises(ValueError, match="HELPDESK_WEBHOOK_SECRET is empty"):
        webhook.HelpdeskWebhook.configured(load().proactive)


def test_a_broken_override_falls_back_to_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "handoff.yml"
    broken.write_text("triggers:\n  anger: {priority: high}\n")
    monkeypatch.setenv("HANDOFF_SETTINGS", str(broken))
    settings = handoff_settings.load_or_default()
    assert settings.trigger("anger").priority == 3
    assert "field 'triggers.anger.priority'" in caplog.text
