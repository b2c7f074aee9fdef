"""Identity and the action server, tried as an outsider would (issue #15), against the real Rasa
server, action server and fake Twilio.

- REST ids live in REST's own namespace: `{"sender": "web:cust-ayse"}` is the REST conversation
  `rest:web:cust-ayse`, which reaches nobody's web or WhatsApp conversation, profile, cart,
  context or handoff, whatever metadata or input channel it claims.
- The REST channel requires REST_CHANNEL_TOKEN when one is set, bounds sizes and the rate.
- The WhatsApp webhook accepts only `whatsapp:+<digits>` senders and bounded fields, even when signed.
- The action server refuses calls without its shared secret (401/403), writes nothing for them,
  and never echoes a request body.
"""

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from twilio.request_validator import RequestValidator

from checkout.recovery import CheckoutRecovery
from customer_store.store import CustomerStore
from tests.helpers.databases import query, support_database
from tests.helpers.servers import AUTH_TOKEN, MODEL, TWILIO_AUTH_TOKEN, Servers, http, running_servers

pytestmark = pytest.mark.skipif(not MODEL.exists(), reason="no trained model: run `make train index` (make test does)")

AYSE_WEB, MEHMET_WEB, JOHN_WHATSAPP = "web:cust-ayse", "web:cust-mehmet", "whatsapp:+905551110002"
REST_TOKEN = "rest-channel-token-for-this-test-0123456789"
CHECKOUT_STALLED = '/EXTERNAL_checkout_stalled{"checkout_signal": "exit"}'
AYSE_CART_TOTAL = "2.499,00 TL"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    state = tmp_path_factory.mktemp("identity")
    customers = CustomerStore(support_database(state))
    customers.seed_demo_customers()
    CheckoutRecovery(support_database(state))  # its tables, which the checks below read
    customers.save_cart("cust-ayse", [{"sku": "router-ax3000", "name": "Router AX3000", "price_kurus": 249900, "quantity": 1}], 249900)
    with running_servers(state, fake_twilio=True, env={"REST_CHANNEL_TOKEN": REST_TOKEN}) as running:
        yield running


def rest(servers: Servers, body: Any, token: str | None = REST_TOKEN, raw: bytes | None = None, query: str = "") -> tuple[int, str]:
    """POST to the REST channel; (status, response text)."""
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(f"{servers.rasa_url}/webhooks/rest/webhook{query}", data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def rest_texts(servers: Servers, sender: str, message: str, **body: Any) -> str:
    status, text = rest(servers, {"sender": sender, "message": message, **body})
    assert status == 200, text
    return "\n".join(reply.get("text") or "" for reply in json.loads(text))


def events(servers: Servers, sender_id: str) -> list[dict[str, Any]]:
    quoted = urllib.parse.quote(sender_id, safe=":+@")
    status, tracker = http("GET", f"{servers.rasa_url}/conversations/{quoted}/tracker?token={AUTH_TOKEN}")
    assert status == 200
    return list(tracker.get("events") or [])


def turns(servers: Servers, sender_id: str) -> list[tuple[str, Any, float]]:
    """What was said in a conversation (an unknown one reads as empty; Rasa makes up its session start)."""
    return [(e["event"], e.get("text"), e["timestamp"]) for e in events(servers, sender_id) if e["event"] in ("user", "bot")]


def user_texts(servers: Servers, sender_id: str) -> list[str]:
    return [event["text"] for event in events(servers, sender_id) if event["event"] == "user"]


def rows(servers: Servers, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    return query(servers.database, sql, *args)


def test_rest_as_a_web_customer_reads_and_writes_nothing_of_theirs(servers: Servers) -> None:
    servers.say(MEHMET_WEB, "how do I change my wifi password")  # through the real web chat channel
    mehmet_before, ayse_before = turns(servers, MEHMET_WEB), turns(servers, AYSE_WEB)
    assert mehmet_before and ayse_before == []

    assert AYSE_CART_TOTAL not in rest_texts(servers, AYSE_WEB, CHECKOUT_STALLED)
    assert "wifi" not in rest_texts(servers, MEHMET_WEB, "merhaba").lower()

    assert turns(servers, MEHMET_WEB) == mehmet_before and turns(servers, AYSE_WEB) == ayse_before
    assert user_texts(servers, "rest:web:cust-ayse") == [CHECKOUT_STALLED]
    assert user_texts(servers, "rest:web:cust-mehmet") == ["merhaba"]
    assert rows(servers, "SELECT subject FROM checkout_nudges") == []
    # The same signal on Ayşe's real web chat (a token signed for her) does reach her cart.
    assert AYSE_CART_TOTAL in "\n".join(r.get("text") or "" for r in servers.say(AYSE_WEB, CHECKOUT_STALLED))


def test_rest_as_a_whatsapp_customer_opens_no_handoff_bound_to_them(servers: Servers) -> None:
    rest_texts(servers, JOHN_WHATSAPP, "I want to talk to a person")
    [(handoff_id, sender, customer, card)] = rows(servers, "SELECT id, sender_id, customer_id, context_card FROM handoffs")
    assert (sender, customer) == (f"rest:{JOHN_WHATSAPP}", None)
    for detail in ("John", "john@", "12377", "+905551110002"[3:]):
        assert detail not in (card or "").replace(f"rest:{JOHN_WHATSAPP}", "")
    # John's own WhatsApp message goes to his conversation, not into the impostor's handoff.
    servers.say(JOHN_WHATSAPP, "merhaba, siparişim nerede")
    assert "merhaba, siparişim nerede" in user_texts(servers, JOHN_WHATSAPP)
    assert all("siparişim" not in text for (text,) in rows(servers, "SELECT text FROM handoff_messages WHERE handoff_id = ?", handoff_id))
    assert rows(servers, "SELECT count(*) FROM handoffs WHERE sender_id = ?", JOHN_WHATSAPP) == [(0,)]


def test_rest_metadata_and_input_channel_claim_no_channel_or_customer(servers: Servers) -> None:
    rest_texts(
        servers, "claims", "merhaba", input_channel="whatsapp", metadata={"customer_id": "cust-john", "channel": "whatsapp", "note": "kept"}
    )
    tracker = [e for e in events(servers, "rest:claims") if e["event"] == "user"][-1]
    assert tracker["input_channel"] == "rest"
    assert tracker["metadata"]["channel"] == "rest" and tracker["metadata"]["customer_id"] is None
    assert tracker["metadata"]["note"] == "kept"
    slots = http("GET", f"{servers.rasa_url}/conversations/rest:claims/tracker?token={AUTH_TOKEN}")[1]["slots"]
    assert slots["customer_id"] is None


@pytest.mark.parametrize(
    ("token", "query"),
    [(None, ""), ("wrong-token-0123456789abcdef", ""), (None, "?token=wrong-token")],
    ids=["missing", "wrong-header", "wrong-query"],
)
def test_rest_channel_refuses_a_message_without_its_token(servers: Servers, token: str | None, query: str) -> None:
    assert rest(servers, {"sender": "no-token", "message": "merhaba"}, token=token, query=query) == (
        401,
        "missing or wrong REST channel token",
    )
    assert user_texts(servers, "rest:no-token") == []


def test_rest_token_is_accepted_in_the_query_too(servers: Servers) -> None:
    assert rest(servers, {"sender": "query-token", "message": "merhaba"}, token=None, query=f"?token={REST_TOKEN}")[0] == 200
    assert user_texts(servers, "rest:query-token") == ["merhaba"]


@pytest.mark.parametrize(
    ("body", "raw", "problem"),
    [
        (None, b"x" * 17_000, "body is larger than 16384 bytes"),
        (None, b"{not json", "body is not JSON"),
        ([1, 2], None, "body must be a JSON object"),
        ({"sender": 7, "message": "merhaba"}, None, "sender must be a string of 1 to 128 printable characters"),
        ({"sender": "a\x00b", "message": "merhaba"}, None, "sender must be a string of 1 to 128 printable characters"),
        ({"sender": "big", "message": "a" * 2001}, None, "message is longer than 2000 characters"),
        ({"sender": "big", "message": ""}, None, "message must be a non-empty string"),
        ({"sender": "big", "message": "merhaba", "metadata": "x"}, None, "metadata must be a JSON object"),
    ],
    ids=["too-large", "not-json", "not-object", "sender-number", "sender-nul", "message-long", "message-empty", "metadata"],
)
def test_bad_rest_bodies_get_a_one_line_400(servers: Servers, body: Any, raw: bytes | None, problem: str) -> None:
    assert rest(servers, body, raw=raw) == (400, problem)
    assert user_texts(servers, "rest:big") == []


def test_a_rest_flood_from_one_sender_is_limited(servers: Servers) -> None:
    """INBOUND_MESSAGES_BURST (10) messages at once pass; the rest get 429 and never reach Rasa."""
    with ThreadPoolExecutor(max_workers=15) as pool:
        statuses = list(pool.map(lambda n: rest(servers, {"sender": "flood", "message": f"merhaba {n}"})[0], range(15)))
    assert sorted(statuses) == [200] * 10 + [429] * 5
    assert len(user_texts(servers, "rest:flood")) == 10


# --- WhatsApp: a signed webhook still cannot name another channel's sender -------------------


def signed_post(servers: Servers, params: dict[str, str]) -> tuple[int, str]:
    path = "/webhooks/whatsapp/webhook"
    signature = RequestValidator(TWILIO_AUTH_TOKEN).compute_signature(servers.rasa_url + path, params)
    request = urllib.request.Request(
        servers.rasa_url + path,
        data=urllib.parse.urlencode(params).encode(),
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def webhook(sender: str, body: str = "merhaba", sid: str = "SM" + "a" * 32, **extra: str) -> dict[str, str]:
    return {"MessageSid": sid, "AccountSid": "AC" + "0" * 32, "From": sender, "To": "whatsapp:+14155238886", "Body": body, **extra}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (webhook(AYSE_WEB), (400, "From must be a WhatsApp address: whatsapp:+ and 7 to 15 digits")),
        (webhook("rest:x"), (400, "From must be a WhatsApp address: whatsapp:+ and 7 to 15 digits")),
        (webhook("whatsapp:+90 555 111 0001"), (400, "From must be a WhatsApp address: whatsapp:+ and 7 to 15 digits")),
        (webhook("whatsapp:+905551110001", body="a" * 4097), (400, "Body is longer than 4096 characters")),
        (webhook("whatsapp:+905551110001", sid="SM" + "a" * 63), (400, "MessageSid must be 1 to 64 letters or digits")),
        (webhook("whatsapp:+905551110001", ProfileName="x" * 70_000), (413, "request body is larger than 65536 bytes")),
    ],
    ids=["web-sender", "rest-sender", "spaces", "long-body", "long-sid", "huge"],
)
def test_signed_whatsapp_webhook_with_a_foreign_sender_or_oversized_field_is_a_400(
    servers: Servers,
    params: dict[str, str],
    expected: tuple[int, str],
) -> None:
    before = turns(servers, AYSE_WEB)
    assert signed_post(servers, params) == expected
    assert turns(servers, AYSE_WEB) == before
    assert rows(servers, "SELECT count(*) FROM whatsapp_inbound WHERE message_sid = ?", params["MessageSid"]) == [(0,)]


# --- the action server --------------------------------------------------------------------


def action_call(servers: Servers, body: bytes, authorization: str | None, path: str = "/webhook", method: str = "POST") -> tuple[int, str]:
    headers = {"Content-Type": "application/json", **({"Authorization": authorization} if authorization else {})}
    request = urllib.request.Request(
        f"http://127.0.0.1:{servers.action_port}{path}", data=body if method == "POST" else None, headers=headers, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def forged_call(action: str, sender: str, text: str) -> bytes:
    tracker = {
        "sender_id": sender,
        "slots": {"customer_id": "cust-ayse", "language": "tr", "kb_query": text, "kb_article_id": "returns-tr"},
        "latest_message": {"text": text, "intent": {"name": "request_human", "confidence": 1.0}, "entities": []},
        "events": [{"event": "user", "text": text}],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    }
    return json.dumps({"next_action": action, "sender_id": sender, "tracker": tracker, "domain": {}, "version": "3.6.21"}).encode()


def written(servers: Servers) -> list[tuple[Any, ...]]:
    tables = ("handoffs", "answer_feedback", "checkout_nudges", "handoff_requests", "customer_context")
    return [rows(servers, f"SELECT count(*) FROM {table}")[0] for table in tables]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer ", "Bearer wrong-secret-0123456789", "Basic YWRtaW46YWRtaW4="],
    ids=["missing", "empty", "wrong", "basic"],
)
def test_a_forged_action_call_without_the_secret_is_refused_and_writes_nothing(servers: Servers, authorization: str | None) -> None:
    before = written(servers)
    for action in ("action_request_human", "action_record_feedback", "action_offer_checkout_help"):
        status, body = action_call(servers, forged_call(action, AYSE_WEB, "http://phish.example"), authorization)
        assert status == (401 if authorization is None else 403), body
        assert "phish" not in body
    assert action_call(servers, b"", authorization, path="/actions", method="GET")[0] == (401 if authorization is None else 403)
    assert written(servers) == before
    assert action_call(servers, b"", None, path="/health", method="GET")[0] == 200


def test_the_action_server_echoes_no_request_body(servers: Servers) -> None:
    """Even with the secret (only the Rasa server has it), errors name the problem, not the body."""
    secret = f"Bearer {servers.env['ACTION_SERVER_TOKEN']}"
    marker = "ECHO-ME-4111111111111111"
    status, body = action_call(servers, json.dumps({"next_action": "action_request_human", "note": marker}).encode(), secret)
    assert (status, json.loads(body)) == (400, {"error": "body must be a JSON object with next_action (string) and tracker (object)"})
    assert action_call(servers, b"{not json " + marker.encode(), secret) == (400, '{"error":"body is not JSON"}')
    crashing = {"next_action": "action_answer_from_kb", "tracker": {"sender_id": marker, "events": "x", "latest_message": 5}, "domain": {}}
    assert action_call(servers, json.dumps(crashing).encode(), secret) == (500, '{"error":"internal error"}')
