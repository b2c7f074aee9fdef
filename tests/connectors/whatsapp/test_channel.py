"""WhatsApp through Twilio, end to end: the real Rasa server and action server, the real
`twilio` library (signatures, and the sender inside Rasa), and fake_twilio as Twilio's servers.
Assertions look at what the fake received (its inbox), the Rasa tracker and the SQLite state."""

import asyncio
import dataclasses
import json
import random
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from twilio.request_validator import RequestValidator

from connectors.whatsapp.delivery_status import DeliveryStatuses
from connectors.whatsapp.inbound_log import InboundLog
from connectors.whatsapp.sender import WhatsAppMessenger
from connectors.whatsapp.twilio_client import DEMO_TEMPLATE_SID, TwilioSettings
from connectors.whatsapp.window import ServiceWindows
from customer_store.store import CustomerStore
from settings.rasa_side import RasaSettings
from storage.database import Database
from tests.helpers.browser import chromium
from tests.helpers.databases import query, support_database
from tests.helpers.servers import AUTH_TOKEN, MODEL, TWILIO_AUTH_TOKEN, Servers, http, running_servers
from tests.helpers.waiting import eventually as wait_for

pytestmark = pytest.mark.skipif(not MODEL.exists(), reason="no trained model: run `make train index` (make test does)")

WEBHOOK = "/webhooks/whatsapp/webhook"
STATUS = "/webhooks/whatsapp/status"
AYSE, JOHN = "whatsapp:+905551110001", "whatsapp:+905551110002"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    state = tmp_path_factory.mktemp("whatsapp")
    CustomerStore(support_database(state)).seed_demo_customers()
    with running_servers(state, fake_twilio=True) as running:
        yield running


def new_number() -> str:
    return "whatsapp:+90555" + "".join(random.choices("0123456789", k=7))


def new_sid() -> str:
    return "SM" + secrets.token_hex(16)


def inbound_params(sender: str, body: str, sid: str | None = None, **extra: str) -> dict[str, str]:
    return {
        "MessageSid": sid or new_sid(),
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": "whatsapp:+14155238886",
        "Body": body,
        "NumMedia": "0",
        "ProfileName": "Test",
        **extra,
    }


def post_form(servers: Servers, path: str, params: dict[str, str], signature: str | None = "valid") -> int:
    """POST Twilio-style form fields to Rasa; signature "valid" signs them with the real twilio library."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature == "valid":
        signature = RequestValidator(TWILIO_AUTH_TOKEN).compute_signature(servers.rasa_url + path, params)
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    request = urllib.request.Request(servers.rasa_url + path, data=urllib.parse.urlencode(params).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def sent_to(servers: Servers, address: str) -> list[dict[str, Any]]:
    """What Destek sent to this address through the fake Twilio API, oldest first."""
    status, inbox = http(
        "GET", f"{servers.fake_url}/_fake/messages?" + urllib.parse.urlencode({"to": address, "direction": "outbound-api"})
    )
    assert status == 200
    return list(inbox["messages"])


def wait_for_replies(servers: Servers, address: str, count: int) -> list[dict[str, Any]]:
    return wait_for(lambda: (lambda sent: sent if len(sent) >= count else None)(sent_to(servers, address)), f"{count} replies to {address}")


def user_events(servers: Servers, sender: str) -> list[dict[str, Any]]:
    return [event for event in servers.tracker(sender).get("events") or [] if event["event"] == "user"]


def wait_for_turn(servers: Servers, sender: str, message_sid: str) -> list[dict[str, Any]]:
    """The user events once the one with this MessageSid is stored (the tracker is saved after the replies went out)."""
    return wait_for(
        lambda: (lambda events: events if message_sid in [e["message_id"] for e in events] else None)(user_events(servers, sender)),
        f"the turn of {message_sid}",
    )


def support_db(servers: Servers) -> Database:
    return servers.database


def status_of(servers: Servers, sid: str) -> dict[str, Any] | None:
    return DeliveryStatuses(support_db(servers)).get(sid)


def trigger_greet(servers: Servers, address: str) -> int:
    url = f"{servers.rasa_url}/conversations/{address}/trigger_intent?output_channel=whatsapp&token={AUTH_TOKEN}"
    return http("POST", url, {"name": "greet"})[0]


def test_forged_or_missing_signature_is_rejected_and_changes_nothing(servers: Servers) -> None:
    victim = new_number()
    forged = RequestValidator("not-the-token").compute_signature(servers.rasa_url + WEBHOOK, inbound_params(victim, "merhaba"))
    assert post_form(servers, WEBHOOK, inbound_params(victim, "merhaba"), signature=None) == 403
    assert post_form(servers, WEBHOOK, inbound_params(victim, "merhaba"), signature=forged) == 403
    params = inbound_params(victim, "merhaba")
    tampered = {**params, "Body": "hello"}
    good_for_original = RequestValidator(TWILIO_AUTH_TOKEN).compute_signature(servers.rasa_url + WEBHOOK, params)
    assert post_form(servers, WEBHOOK, tampered, signature=good_for_original) == 403
    assert post_form(servers, STATUS, {"MessageSid": new_sid(), "MessageStatus": "read"}, signature=None) == 403
    # A valid message from the same number afterwards is the only one handled.
    barrier = new_sid()
    assert post_form(servers, WEBHOOK, inbound_params(victim, "merhaba", sid=barrier)) == 200
    wait_for_replies(servers, victim, 1)
    assert [event["message_id"] for event in wait_for_turn(servers, victim, barrier)] == [barrier]
    assert len(sent_to(servers, victim)) == 1


def test_signed_webhook_without_message_sid_is_a_clear_400(servers: Servers) -> None:
    params = inbound_params(new_number(), "merhaba")
    del params["MessageSid"]
    assert post_form(servers, WEBHOOK, params) == 400


def test_same_webhook_five_times_in_parallel_gives_one_bot_turn(servers: Servers) -> None:
    sender = new_number()
    params = inbound_params(sender, "merhaba")
    with ThreadPoolExecutor(5) as pool:
        statuses = list(pool.map(lambda _: post_form(servers, WEBHOOK, params), range(5)))
    assert statuses == [200] * 5
    assert_one_turn_then_barrier(servers, sender, params["MessageSid"])


def test_same_webhook_five_times_spaced_and_after_a_restart_gives_one_bot_turn(servers: Servers) -> None:
    sender = new_number()
    params = inbound_params(sender, "merhaba")
    for attempt in range(4):
        assert post_form(servers, WEBHOOK, params) == 200
        if attempt == 0:
            wait_for_replies(servers, sender, 1)
        time.sleep(1.5)  # spacing between Twilio's retries (about 15 s in reality), not an assertion
    servers.stop_rasa()
    # A webhook acknowledged just before the stop but never processed is handled after the start.
    pending_sender = new_number()
    pending = inbound_params(pending_sender, "merhaba")
    assert InboundLog(support_db(servers)).claim(pending["MessageSid"], pending_sender, pending)
    servers.start_rasa()
    assert post_form(servers, WEBHOOK, params) == 200  # the fifth delivery reaches a restarted server
    assert_one_turn_then_barrier(servers, sender, params["MessageSid"])
    assert [e["message_id"] for e in wait_for_turn(servers, pending_sender, pending["MessageSid"])] == [pending["MessageSid"]]
    assert len(wait_for_replies(servers, pending_sender, 1)) == 1


def assert_one_turn_then_barrier(servers: Servers, sender: str, sid: str) -> None:
    """Another message of the same conversation runs after any duplicate would have (Rasa's lock
    keeps order), so once its reply is in, every duplicate has had its chance to show up."""
    barrier = new_sid()
    assert post_form(servers, WEBHOOK, inbound_params(sender, "teşekkürler", sid=barrier)) == 200
    wait_for_replies(servers, sender, 2)
    assert [event["message_id"] for event in wait_for_turn(servers, sender, barrier)] == [sid, barrier]
    replies = sent_to(servers, sender)
    assert len(replies) == 2, [reply["body"] for reply in replies]
    assert replies[0]["body"].startswith("Merhaba!")


def test_shuffled_and_duplicated_status_callbacks_end_at_the_furthest_status(servers: Servers) -> None:
    rng = random.Random(3)
    cases = {
        new_sid(): (["queued", "sent", "delivered", "read"] * 2, "read"),
        new_sid(): (["queued", "sent", "delivered"] * 3, "delivered"),
        new_sid(): (["queued", "sent", "failed", "delivered", "failed"], "failed"),
    }
    callbacks = [(sid, status) for sid, (statuses, _) in cases.items() for status in statuses]
    rng.shuffle(callbacks)
    with ThreadPoolExecutor(6) as pool:
        codes = list(
            pool.map(lambda call: post_form(servers, STATUS, {"MessageSid": call[0], "MessageStatus": call[1], "To": AYSE}), callbacks)
        )
    assert codes == [200] * len(callbacks)
    for sid, (_, final) in cases.items():
        assert status_of(servers, sid)["status"] == final
    # A read message never goes back to "sent" however late that callback comes.
    read_sid = next(sid for sid, (_, final) in cases.items() if final == "read")
    assert post_form(servers, STATUS, {"MessageSid": read_sid, "MessageStatus": "sent"}) == 200
    assert status_of(servers, read_sid)["status"] == "read"
    assert post_form(servers, STATUS, {"MessageSid": read_sid, "MessageStatus": "exploded"}) == 400


def test_fake_twilio_callbacks_bring_a_real_reply_to_read(servers: Servers) -> None:
    sender = new_number()
    assert post_form(servers, WEBHOOK, inbound_params(sender, "merhaba")) == 200
    reply = wait_for_replies(servers, sender, 1)[0]
    wait_for(lambda: (status_of(servers, reply["sid"]) or {}).get("status") == "read", "status read")
    assert status_of(servers, reply["sid"])["address"] == sender


def test_customer_outside_the_window_gets_the_template_never_free_text(servers: Servers) -> None:
    address = new_number()
    ServiceWindows(support_db(servers)).touch(address, "Deniz", at=time.time() - 25 * 3600)  # last seen 25 h ago
    assert trigger_greet(servers, address) == 200
    sent = wait_for_replies(servers, address, 1)
    assert len(sent) == 1
    assert sent[0]["content_sid"] == DEMO_TEMPLATE_SID and sent[0]["content_variables"] == {"1": "Deniz"}
    assert sent[0]["free_text"] == ""
    # When the customer writes back, the held text goes out first, then the answer.
    assert post_form(servers, WEBHOOK, inbound_params(address, "merhaba")) == 200
    later = wait_for_replies(servers, address, 3)
    assert [message["content_sid"] for message in later] == [DEMO_TEMPLATE_SID, None, None]
    assert later[1]["free_text"].startswith("Merhaba!")


def test_dur_opts_out_with_a_confirmation_and_basla_opts_in(servers: Servers) -> None:
    store = CustomerStore(servers.database)
    assert post_form(servers, WEBHOOK, inbound_params(AYSE, "DUR")) == 200
    confirmation = wait_for_replies(servers, AYSE, 1)[-1]
    assert "çıkarıldınız" in confirmation["body"] and "BAŞLA" in confirmation["body"]
    assert store.is_opted_out(AYSE)
    assert user_events(servers, AYSE) == []  # the keyword never reached the NLU
    # No proactive message after DUR (trigger_intent answers only after the output channel ran).
    assert trigger_greet(servers, AYSE) == 200
    assert len(sent_to(servers, AYSE)) == 1
    assert post_form(servers, WEBHOOK, inbound_params(AYSE, "BAŞLA")) == 200
    assert "yeniden abone" in wait_for_replies(servers, AYSE, 2)[-1]["body"]
    assert not store.is_opted_out(AYSE)
    # An English-speaking customer is confirmed in English, whatever keyword he uses.
    assert post_form(servers, WEBHOOK, inbound_params(JOHN, "İptal")) == 200
    assert "unsubscribed" in wait_for_replies(servers, JOHN, 1)[-1]["body"]
    assert store.is_opted_out(JOHN)


def test_long_text_is_split_at_paragraphs_and_sentences(servers: Servers) -> None:
    address = new_number()
    ServiceWindows(support_db(servers)).touch(address, "Test")
    sentence = "Modeminizi kapatıp otuz saniye bekleyin ve yeniden açın."
    paragraphs = [" ".join([sentence] * 20), " ".join([sentence] * 40), "Kısa son paragraf."]
    text = "\n\n".join(paragraphs)
    settings = dataclasses.replace(
        TwilioSettings.of(RasaSettings(), TWILIO_AUTH_TOKEN),
        api_base=servers.fake_url,
        public_url=servers.rasa_url,
        account_sid="AC" + "0" * 32,
    )
    messenger = WhatsAppMessenger(settings, support_db(servers), CustomerStore(support_db(servers)))

    async def send() -> list[str]:
        try:
            return await messenger.send(address, text, proactive=True)
        finally:
            await messenger.sender.close()

    sids = asyncio.run(send())
    sent = sent_to(servers, address)
    assert [message["sid"] for message in sent] == sids and len(sids) >= 3
    assert all(len(message["body"]) <= 1600 for message in sent)
    assert all(message["body"].endswith(".") for message in sent)  # never cut inside a sentence
    assert " ".join(message["body"].replace("\n\n", " ") for message in sent) == " ".join(paragraphs)


def test_buttons_are_numbered_and_a_number_answers_with_the_payload(servers: Servers) -> None:
    sender = new_number()
    assert post_form(servers, WEBHOOK, inbound_params(sender, "Siparişimi nasıl takip edebilirim?")) == 200
    question = wait_for(lambda: [m for m in sent_to(servers, sender) if "\n1. " in m["body"]], "numbered options")[0]
    assert "Bu yanıt işinize yaradı mı?\n\n1. 👍\n2. 👎" in question["body"]
    choice = inbound_params(sender, "1")
    assert post_form(servers, WEBHOOK, choice) == 200
    chosen = wait_for_turn(servers, sender, choice["MessageSid"])[-1]
    assert chosen["text"] == "/answer_helpful" and chosen["parse_data"]["intent"]["name"] == "answer_helpful"
    # The options hold for the next message only: a later "1" is just text.
    again = inbound_params(sender, "1")
    assert post_form(servers, WEBHOOK, again) == 200
    assert wait_for_turn(servers, sender, again["MessageSid"])[-1]["text"] == "1"


class _CountingHandler(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


def test_media_urls_are_metadata_and_never_fetched(servers: Servers) -> None:
    media_server = ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    threading.Thread(target=media_server.serve_forever, daemon=True).start()
    try:
        photo = f"http://127.0.0.1:{media_server.server_address[1]}/photo.jpg"
        status, result = http(
            "POST",
            f"{servers.fake_url}/_fake/inbound",
            {
                "from": "+905551110003",
                "body": "modemin fotoğrafı",
                "profile_name": "Mehmet",
                "media": [{"url": photo, "content_type": "image/jpeg"}],
            },
        )
        assert status == 200 and result["destek_status"] == 200
        sender = "whatsapp:+905551110003"
        event = wait_for(lambda: [e for e in user_events(servers, sender) if e["message_id"] == result["sid"]], "the user event")[0]
        assert event["metadata"]["media"] == [{"url": photo, "content_type": "image/jpeg"}]
        assert event["metadata"]["channel"] == "whatsapp" and event["metadata"]["customer_id"] == "cust-mehmet"
        assert event["metadata"]["profile_name"] == "Mehmet"
        assert sender in [c["sender_id"] for c in CustomerStore(servers.database).conversations("cust-mehmet")]
        wait_for_replies(servers, sender, 1)
        assert _CountingHandler.hits == []
    finally:
        media_server.shutdown()


def test_fake_inbound_rejects_bad_input_clearly(servers: Servers) -> None:
    request = urllib.request.Request(
        f"{servers.fake_url}/_fake/inbound",
        data=json.dumps({"from": "abc", "body": "x"}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=10)
    assert error.value.code == 400 and "'from'" in json.loads(error.value.read())["error"]


def test_fake_page_plays_the_customer_and_shows_their_text_as_text(servers: Servers) -> None:
    number = new_number().removeprefix("whatsapp:")
    with chromium() as driver:
        driver.get(servers.fake_url + "/")
        driver.find_element(By.ID, "from").clear()
        driver.find_element(By.ID, "from").send_keys(number)
        # A clear greeting around the markup (with one word of text, the classifier may call it a KB question).
        driver.find_element(By.ID, "body").send_keys("<img src=x onerror=alert(1)> merhaba, iyi günler")
        driver.find_element(By.CSS_SELECTOR, "#send button").click()
        # Read the conversation in one script: the page redraws it every second.
        inbound, outbound, images = WebDriverWait(driver, 30).until(
            lambda d: d.execute_script("""
            const texts = (selector) => [...document.querySelectorAll(selector)].map((e) => e.textContent);
            const inbound = texts("#chat li.inbound"), outbound = texts("#chat li.outbound");
            return inbound.length && outbound.length ? [inbound, outbound, document.querySelectorAll("#chat img").length] : null;
        """)
        )
        assert inbound[0].startswith("<img src=x onerror=alert(1)> merhaba, iyi günler") and images == 0
        assert "Merhaba!" in outbound[0]


def test_a_flood_from_one_number_is_limited_told_once_and_stop_still_works(servers: Servers) -> None:
    """Each inbound message can trigger paid sends: past INBOUND_MESSAGES_BURST (10) at once, messages
    are kept but not answered, the sender is told once, and an opt-out keyword always passes."""
    flooder = new_number()
    sids = [new_sid() for _ in range(14)]
    for number, sid in enumerate(sids):
        assert post_form(servers, WEBHOOK, inbound_params(flooder, f"merhaba {number}", sid=sid)) == 200
    assert post_form(servers, WEBHOOK, inbound_params(flooder, "DUR")) == 200
    wait_for(lambda: set(sids) <= set(handled_sids(servers, flooder)), "all 14 messages handled")
    turns = user_events(servers, flooder)
    assert 10 <= len(turns) <= 11  # 10 at once, plus at most one refilled token (30 a minute) while posting
    bodies = [message["body"] for message in sent_to(servers, flooder)]
    assert sum("Çok hızlı mesaj" in body for body in bodies) == 1
    assert any("çıkarıldınız" in body for body in bodies)
    assert CustomerStore(servers.database).is_opted_out(flooder)


def handled_sids(servers: Servers, address: str) -> list[str]:
    rows = query(servers.database, "SELECT message_sid FROM whatsapp_inbound WHERE address = ? AND handled_at IS NOT NULL", address)
    return [row[0] for row in rows]


def test_signed_webhook_with_blank_fields_is_accepted(servers: Servers) -> None:
    """Twilio signs blank fields too (a photo without a caption has Body=""; ProfileName may be empty)."""
    sender, sid = new_number(), new_sid()
    params = inbound_params(
        sender, "", sid=sid, ProfileName="", NumMedia="1", MediaUrl0="http://127.0.0.1:9/photo.jpg", MediaContentType0="image/jpeg"
    )
    assert post_form(servers, WEBHOOK, params) == 200
    wait_for(lambda: sid in handled_sids(servers, sender), "the blank-field message handled")
