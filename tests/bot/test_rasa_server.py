"""The real Rasa 3.6 server and the real rasa-sdk action server, over HTTP on loopback.

Needs `make train index` first (make test does it).
"""

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers.databases import query
from tests.helpers.servers import AUTH_TOKEN, MODEL, Servers, conversation, http, running_servers

pytestmark = pytest.mark.skipif(not MODEL.exists(), reason="no trained model: run `make train index` (make test does)")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    with running_servers(tmp_path_factory.mktemp("servers"), fake_twilio=True) as running:
        yield running


def new_sender() -> str:
    return f"it-{uuid.uuid4().hex[:10]}"


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(reply.get("text", "") for reply in replies)


@pytest.mark.parametrize(
    ("question", "article_url", "source_word"),
    [
        ("kargom nerede, takip numarasını nereden görürüm", "https://yardim.pusula.example/tr/order-tracking", "Kaynak:"),
        ("faturamı nasıl ödeyebilirim", "https://yardim.pusula.example/tr/pay-invoice", "Kaynak:"),
        ("modemdeki kirmizi LOS isigi ne demek", "https://yardim.pusula.example/tr/modem-lights", "Kaynak:"),
        ("how long does delivery take and how much is shipping", "https://help.pusula.example/en/shipping-fees-times", "Source:"),
        ("my internet is not working at all", "https://help.pusula.example/en/no-internet", "Source:"),
        ("I forgot my password and can't log in", "https://help.pusula.example/en/reset-password", "Source:"),
    ],
)
def test_questions_are_answered_from_the_right_article(servers: Servers, question: str, article_url: str, source_word: str) -> None:
    replies = servers.say(new_sender(), question)
    assert article_url in texts(replies)
    assert source_word in texts(replies)
    assert [b["payload"] for b in replies[-1]["buttons"]] == ["/answer_helpful", "/answer_not_helpful"]


def test_unanswerable_question_gets_the_honest_fallback(servers: Servers) -> None:
    replies = servers.say(new_sender(), "ikinci el araba satıyor musunuz")
    assert "emin değilim" in texts(replies)
    assert "Kaynak:" not in texts(replies)
    assert "/request_human" in [b["payload"] for reply in replies for b in reply.get("buttons", [])]


def test_feedback_is_stored_with_the_query_and_article(servers: Servers) -> None:
    sender = new_sender()
    servers.say(sender, "I want to return a product, how many days do I have")
    replies = servers.say(sender, "/answer_helpful")
    assert "Glad it helped" in texts(replies)
    rows = query(servers.database, "SELECT query, article_id, helpful FROM answer_feedback WHERE sender_id = ?", conversation(sender))
    assert rows == [("I want to return a product, how many days do I have", "return-product-en", 1)]


def test_language_follows_the_customer(servers: Servers) -> None:
    sender = new_sender()
    assert "Hello" in texts(servers.say(sender, "hello there"))
    assert "Merhaba" in texts(servers.say(sender, "merhaba"))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/conversations/someone/tracker"),
        ("POST", "/conversations/someone/tracker/events"),
        ("POST", "/conversations/someone/execute"),
        ("POST", "/conversations/someone/trigger_intent"),
        ("PUT", "/model"),
        ("POST", "/model/train"),
    ],
)
def test_http_api_needs_the_token(servers: Servers, method: str, path: str) -> None:
    status, _ = http(method, servers.rasa_url + path, body={})
    assert status in (401, 403)
    status, _ = http(method, f"{servers.rasa_url}{path}?token=wrong-token", body={})
    assert status in (401, 403)


def test_action_server_down_gets_a_polite_message_then_recovers(servers: Servers) -> None:
    sender = new_sender()
    servers.say(sender, "kargom nerede kaldı")
    servers.stop_actions()
    try:
        started = time.monotonic()
        replies = servers.say(sender, "faturamı nasıl ödeyebilirim")
        elapsed = time.monotonic() - started
        assert "teknik bir sorun" in texts(replies)
        assert "0850 000 11 22" in texts(replies)
        assert elapsed < 5, f"the polite message took {elapsed:.1f}s"
    finally:
        servers.start_actions()
    replies = servers.say(sender, "faturamı nasıl ödeyebilirim")
    assert "https://yardim.pusula.example/tr/pay-invoice" in texts(replies)
    said = [e["text"] for e in servers.tracker(sender)["events"] if e["event"] == "user"]
    assert said == ["kargom nerede kaldı", "faturamı nasıl ödeyebilirim", "faturamı nasıl ödeyebilirim"]


def test_history_survives_a_rasa_restart(servers: Servers) -> None:
    sender = new_sender()
    servers.say(sender, "how do I change my wifi password")
    before = servers.tracker(sender)["events"]
    servers.stop_rasa()
    servers.start_rasa()
    after = servers.tracker(sender)["events"]
    assert [e["event"] for e in after[: len(before)]] == [e["event"] for e in before]
    assert "how do I change my wifi password" in [e.get("text") for e in after if e["event"] == "user"]
    assert "Source:" in texts(servers.say(sender, "and how do I set up the modem?"))


def test_token_grants_access(servers: Servers) -> None:
    sender = new_sender()
    servers.say(sender, "merhaba")
    status, tracker = http("GET", f"{servers.rasa_url}/conversations/{conversation(sender)}/tracker?token={AUTH_TOKEN}")
    assert status == 200 and tracker["sender_id"] == f"rest:{sender}"


def test_customer_context_follows_them_to_another_conversation(servers: Servers) -> None:
    """Sender ids carry the channel (`web:<customer>`, `whatsapp:<phone>`); the customer store links them.
    Both messages go through the real channels (a signed web chat token, a signed Twilio webhook)."""
    from customer_store.store import CustomerStore

    CustomerStore(servers.database).seed_demo_customers()
    servers.say("web:cust-john", "how do I change my wifi password")
    replies = servers.say("whatsapp:+905551110002", "ok")
    assert "Welcome back" in texts(replies)
    assert "how do I change my wifi password" in texts(replies)
    assert "How can I help you?" in texts(replies)
