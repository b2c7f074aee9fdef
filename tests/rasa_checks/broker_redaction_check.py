"""RedactingPikaEventBroker, loaded by Rasa from an endpoints file as the cluster profile does, publishes
user and bot events to a real RabbitMQ with their texts redacted, and leaves the events it was given
(what the customer is sent) in full.

Run with the Rasa interpreter by tests/bot/test_event_broker.py; exits non-zero on the first failed
check and prints "ok" at the end."""

import asyncio
import json
import sys
import uuid
from pathlib import Path

import aio_pika
from rasa.core.brokers.broker import EventBroker
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered
from rasa.utils.endpoints import EndpointConfig

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bot.event_broker import RedactingPikaEventBroker  # noqa: E402

AMQP = "amqp://guest:guest@127.0.0.1:5672/"
IBAN, CARD = "TR33 0006 1005 1978 6457 8413 26", "4111 1111 1111 1111"
AGENT_TEXT = f"Havale için IBAN: {IBAN}."
CUSTOMER_TEXT = f"kartım {CARD}"
CLEAR = (IBAN, IBAN.replace(" ", ""), CARD, CARD.replace(" ", ""))


def check(condition: bool, what: str) -> None:
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


async def main() -> None:
    queue = f"destek-broker-check-{uuid.uuid4().hex[:8]}"
    config = EndpointConfig(
        type="bot.event_broker.RedactingPikaEventBroker",
        url="127.0.0.1",
        port=5672,
        username="guest",
        password="guest",
        queues=[queue],
        exchange_name=f"{queue}-exchange",
        raise_on_failure=True,
    )
    broker = await EventBroker.create(config)
    check(isinstance(broker, RedactingPikaEventBroker), f"Rasa built {type(broker).__name__} from the endpoints type")
    assert broker is not None
    published = [
        UserUttered(
            "EXTERNAL: EXTERNAL_agent_message",
            intent={"name": "EXTERNAL_agent_message", "confidence": 1.0},
            entities=[{"entity": "agent_text", "value": AGENT_TEXT}],
        ).as_dict(),
        UserUttered(CUSTOMER_TEXT, intent={"name": "nlu_fallback", "confidence": 1.0}).as_dict(),
        BotUttered(AGENT_TEXT).as_dict(),
        SlotSet("handoff_status", "assigned").as_dict(),
    ]
    before = json.dumps(published, sort_keys=True)
    for event in published:
        broker.publish(event)
    check(json.dumps(published, sort_keys=True) == before, "publish changed the caller's events")
    connection = await aio_pika.connect(AMQP)
    async with connection:
        channel = await connection.channel()
        stored = await channel.declare_queue(queue, passive=True)
        bodies: list[str] = []
        for _ in range(200):
            message = await stored.get(no_ack=True, fail=False)
            if message is not None:
                bodies.append(message.body.decode())
            if len(bodies) == len(published):
                break
            if message is None:
                await asyncio.sleep(0.05)
        await channel.queue_delete(queue)
        await channel.exchange_delete(f"{queue}-exchange")
    await broker.close()
    check(len(bodies) == len(published), f"{len(bodies)} of {len(published)} events reached the queue")
    for body in bodies:
        for clear in CLEAR:
            check(clear not in body, f"{clear!r} is in a queued event: {body[:200]}")
    events = [json.loads(body) for body in bodies]
    check([e["event"] for e in events] == ["user", "user", "bot", "slot"], f"event types {[e['event'] for e in events]}")
    check(events[2]["text"].startswith("Havale için IBAN: ["), f"bot text {events[2]['text']!r}")
    check(events[3]["value"] == "assigned", "other events are published as they are")
    print("ok")


asyncio.run(main())
