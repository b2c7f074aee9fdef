"""Two Rasa replicas and two action servers behind real nginx, on PostgreSQL, Redis and RabbitMQ
(the cluster of `make run-cluster`, docs/cluster.md). Started once for the module."""

import asyncio
import secrets
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
import socketio
from twilio.request_validator import RequestValidator

from connectors.webchat_token import issue_token
from customer_store.store import CustomerStore
from handoff.rasa_client import RasaClient
from handoff.service import HandoffService
from handoff.store import HandoffStore
from tests.helpers.cluster import Cluster, services_problem
from tests.helpers.servers import AUTH_TOKEN, TWILIO_AUTH_TOKEN, UNLIMITED_RATE
from tests.helpers.services import skip_or_fail
from tests.helpers.waiting import eventually

# The cluster profile is the production one: its support database on PostgreSQL too, so it runs in the
# PostgreSQL run (make test-postgres), where DESTEK_TEST_DATABASE=postgres puts it there.
pytestmark = pytest.mark.postgres

WEBHOOK = "/webhooks/whatsapp/webhook"
TEXTS = [
    "merhaba",
    "siparişim nerede?",
    "hello",
    "where is my refund",
    "teşekkürler",
    "how do I change my wifi password",
    "kargo ne zaman gelir",
    "thanks",
    "iade süresi ne kadar",
    "ok",
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    problem = services_problem()
    if problem:
        skip_or_fail(problem)
    with Cluster(tmp_path_factory.mktemp("cluster"), env=UNLIMITED_RATE) as running:
        yield running


def signed(public_url: str, address: str, text: str) -> tuple[dict[str, str], dict[str, str]]:
    params = {
        "MessageSid": "SM" + secrets.token_hex(16),
        "AccountSid": "AC" + "0" * 32,
        "From": address,
        "To": "whatsapp:+14155238886",
        "Body": text,
        "NumMedia": "0",
        "ProfileName": "Cluster",
    }
    return params, {"X-Twilio-Signature": RequestValidator(TWILIO_AUTH_TOKEN).compute_signature(public_url + WEBHOOK, params)}


async def deliver(session: aiohttp.ClientSession, url: str, params: dict[str, str], headers: dict[str, str]) -> int:
    """Post until acknowledged, as Twilio retries a webhook that failed; returns the attempts."""
    for attempt in range(1, 200):
        try:
            async with session.post(url + WEBHOOK, data=params, headers=headers) as response:
                await response.read()
                if response.status == 200:
                    return attempt
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.25)
    raise AssertionError(f"{params['MessageSid']} never acknowledged")


def customers(cluster: Cluster, prefix: str, count: int, during: Any = None) -> dict[str, list[str]]:
    """`count` customers × 10 messages through nginx (round robin: alternately to both replicas),
    each sending the next once the last is acknowledged, every third one delivered twice.
    `during(acknowledged)` is awaited once half of all messages are acknowledged."""
    sent: dict[str, list[str]] = {}
    acknowledged = 0
    half = asyncio.Event()

    async def customer(session: aiohttp.ClientSession, number: int) -> None:
        nonlocal acknowledged
        address = f"whatsapp:+90{prefix}{number:07d}"
        sent[address] = []
        for index, text in enumerate(TEXTS):
            params, headers = signed(cluster.url, address, text)
            for _ in range(2 if index % 3 == 2 else 1):
                await deliver(session, cluster.url, params, headers)
            sent[address].append(params["MessageSid"])
            acknowledged += 1
            if acknowledged >= count * len(TEXTS) // 2:
                half.set()

    async def main() -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
            tasks = [asyncio.ensure_future(customer(session, number)) for number in range(count)]
            if during is not None:
                await half.wait()
                await asyncio.to_thread(during)
            await asyncio.gather(*tasks)

    asyncio.run(main())
    return sent


def assert_actions_ran(cluster: Cluster) -> None:
    """Every custom action reached an action server through nginx (Rasa logs each failure)."""
    for index in range(len(cluster.replica_ports)):
        log = (cluster.state / f"rasa{index}.log").read_text(errors="replace")
        assert "Failed to execute custom action" not in log, f"rasa{index}: an action call failed"


def all_handled(cluster: Cluster, sent: dict[str, list[str]]) -> dict[str, list[str]] | None:
    """Every conversation's stored MessageSids once each has as many turns as were sent, else None."""
    stored = cluster.user_messages()
    return stored if all(len(stored.get(address, [])) >= len(sids) for address, sids in sent.items()) else None


def test_forty_customers_on_two_replicas_each_message_once_in_order(cluster: Cluster) -> None:
    sent = customers(cluster, "531", 40)
    stored = eventually(lambda: all_handled(cluster, sent), "every turn stored", timeout=240, interval=1)
    assert len(sent) == 40 and all(len(sids) == 10 for sids in sent.values())
    owner = {sid: (address, index) for address, sids in sent.items() for index, sid in enumerate(sids)}
    for address, sids in sent.items():  # each MessageSid once, in the order sent
        assert stored[address] == sids, (address, [owner.get(sid) for sid in stored[address]])
    assert_actions_ran(cluster)
    for address in sent:  # and every turn answered the customer through (fake) Twilio
        assert len(cluster.base.whatsapp_sent_to(address)) >= len(TEXTS), address


def test_rasa_publishes_the_conversations_to_rabbitmq(cluster: Cluster) -> None:
    """The event broker of endpoints.cluster.yml: the turns of the test above are on the queue."""
    events = cluster.broker_events()
    users = [event for event in events if event.get("event") == "user" and str(event.get("sender_id", "")).startswith("whatsapp:+90531")]
    assert len(users) >= 100, f"{len(users)} user events of the 40 customers among {len(events)} on {cluster.queue}"
    assert all(event.get("message_id", "").startswith("SM") for event in users)


def test_webchat_customer_on_replica_a_gets_the_agent_reply_handled_by_replica_b(cluster: Cluster) -> None:
    sub = "cluster-" + secrets.token_hex(4)
    sender = f"web:{sub}"
    agent_text = "Merhaba, ben temsilciniz " + secrets.token_hex(3)

    async def chat() -> list[Any]:
        client = socketio.AsyncClient(reconnection=False)
        received: list[Any] = []
        turn_over = asyncio.Event()

        @client.on("bot_uttered")
        async def uttered(data: Any) -> None:
            received.append(data)

        @client.on("bot_typing")
        async def typing(data: Any) -> None:
            if data == {"typing": False}:
                turn_over.set()

        await client.connect(
            cluster.replica_url(0),
            auth={"token": issue_token(sub, cluster.base.webchat_secret, 600)},
            transports=["websocket"],
            headers={"Origin": cluster.base.support_url},
            wait_timeout=10,
        )
        try:
            await client.emit("user_uttered", {"message": "I want to talk to a person"})
            await asyncio.wait_for(turn_over.wait(), 60)
            database = cluster.base.database
            store = HandoffStore(database)
            handoff = await asyncio.to_thread(lambda: eventually(lambda: store.open_for_sender(sender), timeout=20))
            service = HandoffService(store, RasaClient(cluster.replica_url(1), AUTH_TOKEN), CustomerStore(database))
            await asyncio.to_thread(service.claim, handoff["id"], "agent1")
            reply = await asyncio.to_thread(service.reply, handoff["id"], "agent1", agent_text)
            assert reply["status"] == "sent", reply
            for _ in range(200):
                if any(isinstance(m, dict) and m.get("text") == agent_text for m in received):
                    break
                await asyncio.sleep(0.1)
            return received
        finally:
            await client.disconnect()

    received = asyncio.run(chat())
    assert any(isinstance(m, dict) and m.get("text") == agent_text for m in received), received


def test_kill_9_of_one_replica_halfway_loses_and_duplicates_nothing(cluster: Cluster) -> None:
    sent = customers(cluster, "532", 40, during=lambda: cluster.kill_replica(0))
    stored = eventually(lambda: all_handled(cluster, sent), "every turn stored", timeout=240, interval=1)
    for address, sids in sent.items():
        assert stored[address] == sids, address
