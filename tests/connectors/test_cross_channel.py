"""One customer across channels, through the real channels: a question in the web chat
(socket.io, token-bound), then a message on WhatsApp (signed Twilio webhook, replies through
the fake Twilio API). The bot recognises the customer, keeps their language and reminds them
of the open question; the customer store lists both conversations for later steps."""

import asyncio
from collections.abc import Iterator

import pytest

from customer_store.store import CustomerStore
from tests.connectors.test_webchat import Chat, token_for
from tests.connectors.whatsapp.test_channel import inbound_params, post_form, wait_for_replies
from tests.helpers.databases import support_database
from tests.helpers.servers import MODEL, Servers, running_servers

pytestmark = pytest.mark.skipif(not MODEL.exists(), reason="no trained model: run `make train index` (make test does)")

JOHN_WHATSAPP = "whatsapp:+905551110002"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    state = tmp_path_factory.mktemp("cross")
    CustomerStore(support_database(state)).seed_demo_customers()
    with running_servers(state, fake_twilio=True, support_app=True) as running:
        yield running


def bot_texts(chat: Chat) -> str:
    return "\n".join(str(data.get("text", "")) for event, data in chat.events if event == "bot_uttered" and isinstance(data, dict))


def test_web_question_then_whatsapp_is_recognised_in_the_same_language(servers: Servers) -> None:
    async def ask_on_the_web() -> Chat:
        chat = Chat(servers, token_for(servers, "cust-john"))
        await chat.connect()
        await chat.say({"message": "how do I change my wifi password"})
        await chat.client.disconnect()
        return chat

    web = asyncio.run(ask_on_the_web())
    assert "https://help.pusula.example/en/wifi-password" in bot_texts(web)

    # "ok" alone carries no language: the reply must still be English, with the web question.
    assert post_form(servers, "/webhooks/whatsapp/webhook", inbound_params(JOHN_WHATSAPP, "ok")) == 200
    replies = "\n".join(message["body"] for message in wait_for_replies(servers, JOHN_WHATSAPP, 2))
    assert "Welcome back" in replies
    assert "how do I change my wifi password" in replies
    assert "How can I help you?" in replies

    store = CustomerStore(servers.database)
    assert {c["sender_id"] for c in store.conversations("cust-john")} == {"web:cust-john", JOHN_WHATSAPP}
