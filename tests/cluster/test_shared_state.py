"""The shared state of several replicas, against a real Redis: rate limits, the WhatsApp queue
and the inbox change signal (the two-replica module shows them with real Rasa)."""

import asyncio
import os
import secrets
import time
from collections.abc import Iterator

import pytest
import redis

from cluster import inbox_feed as feed_module
from cluster.buckets import SharedBuckets
from cluster.whatsapp_queue import SharedWhatsAppQueue
from connectors.rate_limit import SenderRateLimit, Verdict
from settings.rasa_side import read
from tests.helpers.services import require_reachable

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def prefix(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    require_reachable("127.0.0.1", 6379, "Redis", "start it with: service redis-server start")
    name = "t" + secrets.token_hex(6)
    monkeypatch.setenv("DESTEK_REDIS_URL", REDIS_URL)
    monkeypatch.setenv("DESTEK_REDIS_PREFIX", name)
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{name}*"))
    if keys:
        client.delete(*keys)


def test_two_replicas_share_one_bucket_per_sender(prefix: str) -> None:
    replicas = [SenderRateLimit(per_minute=1, burst=3, shared=SharedBuckets.configured("inbound", REDIS_URL, prefix)) for _ in range(2)]
    verdicts = [replicas[number % 2].check("whatsapp:+905550000001") for number in range(6)]
    assert verdicts == [Verdict.ALLOW] * 3 + [Verdict.REFUSE_AND_TELL] + [Verdict.REFUSE_SILENTLY] * 2
    assert replicas[1].check("whatsapp:+905550000002") is Verdict.ALLOW  # another sender, its own bucket


def test_the_limit_uses_redis_only_when_configured(prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert SenderRateLimit.inbound(read(os.environ)).shared is not None
    monkeypatch.delenv("DESTEK_REDIS_URL")
    assert SenderRateLimit.inbound(read(os.environ)).shared is None


def params(address: str, number: int) -> dict[str, str]:
    return {"MessageSid": f"SM{address[-4:]}{number:04d}{secrets.token_hex(4)}", "From": address, "Body": f"message {number}"}


def test_two_replicas_work_one_queue_each_message_once_in_order(prefix: str) -> None:
    addresses = [f"whatsapp:+9055500{number:05d}" for number in range(6)]
    sent = {address: [params(address, number) for number in range(8)] for address in addresses}
    handled: dict[str, list[str]] = {address: [] for address in addresses}
    by_replica = [0, 0]

    async def main() -> None:
        replicas = [SharedWhatsAppQueue.configured(REDIS_URL, prefix) for _ in range(2)]
        assert all(replica is not None for replica in replicas)
        for number in range(8):  # alternately acknowledged by both replicas; every message twice
            for address in addresses:
                first = await replicas[number % 2].push(sent[address][number], "allow")  # type: ignore[union-attr]
                again = await replicas[(number + 1) % 2].push(sent[address][number], "allow")  # type: ignore[union-attr]
                assert (first, again) == (True, False)

        def handler(index: int):  # type: ignore[no-untyped-def]
            async def handle(message: dict[str, str], verdict: str) -> None:
                await asyncio.sleep(0.005)
                handled[message["From"]].append(message["MessageSid"])
                by_replica[index] += 1

            return handle

        async def never_handled(_: dict[str, str]) -> bool:
            return False

        workers = [asyncio.ensure_future(replica.run(3, handler(index), never_handled)) for index, replica in enumerate(replicas)]  # type: ignore[union-attr]
        deadline = time.monotonic() + 30
        while sum(map(len, handled.values())) < 48 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for worker in workers:
            worker.cancel()

    asyncio.run(main())
    assert handled == {address: [message["MessageSid"] for message in messages] for address, messages in sent.items()}
    assert all(by_replica), by_replica  # both replicas worked


def test_a_dead_workers_address_is_taken_over_and_its_turn_not_repeated(prefix: str) -> None:
    address = "whatsapp:+905551234567"
    messages = [params(address, number) for number in range(3)]
    handled: list[str] = []

    async def main() -> None:
        queue = SharedWhatsAppQueue.configured(REDIS_URL, prefix)
        assert queue is not None
        for message in messages:
            assert await queue.push(message, "allow")
        client = redis.asyncio.Redis.from_url(REDIS_URL)
        # A replica died while handling the first message: its lease is about to lapse, its
        # in-flight mark stays, and Rasa had already stored that turn.
        await client.set(f"{prefix}:whatsapp:lease:{address}", "dead-replica", px=300)
        await client.set(f"{prefix}:whatsapp:inflight:{messages[0]['MessageSid']}", "dead-replica")
        await client.aclose()

        async def handle(message: dict[str, str], verdict: str) -> None:
            handled.append(message["MessageSid"])

        async def already_handled(message: dict[str, str]) -> bool:
            return message["MessageSid"] == messages[0]["MessageSid"]

        worker = asyncio.ensure_future(queue.run(1, handle, already_handled))
        deadline = time.monotonic() + 20
        while len(handled) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        worker.cancel()

    asyncio.run(main())
    assert handled == [messages[1]["MessageSid"], messages[2]["MessageSid"]]


def test_a_handoff_write_wakes_the_inbox_feed_at_once(prefix: str) -> None:
    async def main() -> float:
        feed = feed_module.InboxFeed(REDIS_URL)
        await feed.wait(0.5)  # subscribes
        started = time.monotonic()
        waiting = asyncio.ensure_future(feed.wait(5))
        await asyncio.sleep(0.1)
        await asyncio.to_thread(feed_module.notify_inbox)
        await waiting
        return time.monotonic() - started

    assert asyncio.run(main()) < 1.5
