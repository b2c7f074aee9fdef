"""Handoff on WhatsApp: the signed Twilio webhook in, fake_twilio out, the agent's reply through
handoff.service and Rasa's trigger_intent(output_channel=latest) — inside the 24-hour window
as free text, outside it as the approved template (the text waits for the customer's answer)."""

import time
from collections.abc import Iterator

import pytest

from customer_store.store import CustomerStore
from handoff.rasa_client import RasaClient
from handoff.service import HandoffService
from handoff.store import HandoffStore
from tests.connectors.whatsapp.test_channel import DEMO_TEMPLATE_SID, WEBHOOK, inbound_params, new_number, post_form, sent_to, wait_for
from tests.helpers.databases import execute, support_database
from tests.helpers.servers import AUTH_TOKEN, MODEL, Servers, running_servers

pytestmark = pytest.mark.skipif(not MODEL.exists(), reason="no trained model: run `make train index` (make test does)")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    folder = tmp_path_factory.mktemp("handoff-whatsapp")
    CustomerStore(support_database(folder)).seed_demo_customers()
    with running_servers(folder, fake_twilio=True) as running:
        yield running


def service(servers: Servers) -> HandoffService:
    database = servers.database
    return HandoffService(HandoffStore(database), RasaClient(servers.rasa_url, AUTH_TOKEN), CustomerStore(database))


def texts_to(servers: Servers, address: str) -> list[str]:
    return [m["free_text"] for m in sent_to(servers, address)]


def test_whatsapp_handoff_reply_inside_and_outside_the_24_hour_window(servers: Servers) -> None:
    address = new_number()
    agents = service(servers)
    assert post_form(servers, WEBHOOK, inbound_params(address, "müşteri temsilcisine bağlar mısınız")) == 200
    wait_for(lambda: any("Sırada 1. kişisiniz" in t for t in texts_to(servers, address)), "the queue position on WhatsApp")
    handoff = wait_for(lambda: agents.store.open_for_sender(address), "the handoff")
    assert handoff["channel"] == "whatsapp"
    agents.claim(handoff["id"], "agent1")

    before = len(sent_to(servers, address))
    assert post_form(servers, WEBHOOK, inbound_params(address, "merhaba, orada mısınız?")) == 200
    wait_for(lambda: any(m["text"] == "merhaba, orada mısınız?" for m in agents.store.messages(handoff["id"])), "the stored message")
    time.sleep(1)
    assert len(sent_to(servers, address)) == before  # assigned: the bot says nothing

    assert agents.reply(handoff["id"], "agent1", "Merhaba, ben Ayşe. Hemen bakıyorum.")["status"] == "sent"
    wait_for(lambda: "Merhaba, ben Ayşe. Hemen bakıyorum." in texts_to(servers, address), "the agent's reply as free text")

    # time passes: last message 25 h ago
    execute(servers.database, "UPDATE whatsapp_window SET last_inbound = ? WHERE address = ?", time.time() - 25 * 3600, address)
    before = len(sent_to(servers, address))
    assert agents.reply(handoff["id"], "agent1", "Siparişiniz yola çıktı.")["status"] == "sent"
    template = wait_for(lambda: sent_to(servers, address)[before:], "the template outside the window")
    assert [(m["content_sid"], m["free_text"]) for m in template] == [(DEMO_TEMPLATE_SID, "")]
    assert post_form(servers, WEBHOOK, inbound_params(address, "tamam")) == 200
    wait_for(lambda: "Siparişiniz yola çıktı." in texts_to(servers, address), "the held reply once the customer wrote")


def test_vazgectim_cancels_a_queued_whatsapp_handoff(servers: Servers) -> None:
    address = new_number()
    agents = service(servers)
    assert post_form(servers, WEBHOOK, inbound_params(address, "canlı destek istiyorum")) == 200
    handoff = wait_for(lambda: agents.store.open_for_sender(address), "the handoff")
    assert post_form(servers, WEBHOOK, inbound_params(address, "vazgeçtim")) == 200
    wait_for(lambda: any("iptal ettim" in t for t in texts_to(servers, address)), "the cancellation on WhatsApp")
    assert agents.store.require(handoff["id"])["status"] == "cancelled"
