"""`python -m analytics.consumer`: keep the analytics aggregates from Rasa's events on RabbitMQ.

Rasa's Pika event broker publishes every tracker event (its `as_dict()` plus `sender_id`, JSON) to a
fanout exchange (`rasa-exchange`) bound to durable queues. This consumer reads one such queue, folds
each batch of events into the aggregate tables in one transaction and acknowledges the batch only
after the commit: a crash before the ack means redelivery, and analytics.fold makes a redelivered
event change nothing. Run exactly one consumer per queue (the fold keeps each sender's order).
"""

import argparse
import json
import logging
import signal
import sys
import time
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import Engine

from analytics import handoff_match
from analytics.aggregate_schema import engine_for
from analytics.aggregate_store import Event, TimezoneChanged, apply_events, prepare
from analytics.settings import analytics_timezone
from settings.model import get_settings

log = logging.getLogger("analytics.consumer")
DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
DEFAULT_QUEUE = "rasa_core_events"  # Rasa's default queue name (rasa/core/brokers/pika.py)
DEFAULT_EXCHANGE = "rasa-exchange"
CATCH_UP_EVERY = 1.0  # seconds between the idle consumer's handoff-row catch-ups


def parse(body: bytes) -> Event | None:
    """One broker message → (sender_id, event); None for a message that is not a Rasa event."""
    try:
        event = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(event, dict) or not isinstance(event.get("sender_id"), str) or not isinstance(event.get("event"), str):
        return None
    sender = event.pop("sender_id")
    return sender, event


def declare(channel: BlockingChannel, queue: str, exchange: str) -> None:
    """The same durable queue and fanout binding Rasa's broker declares (idempotent)."""
    channel.exchange_declare(exchange, exchange_type="fanout")
    channel.queue_declare(queue, durable=True)
    channel.queue_bind(queue, exchange, routing_key="")


class Consumer:
    def __init__(self, engine: Engine, channel: BlockingChannel, queue: str, batch: int) -> None:
        self.engine, self.channel, self.queue, self.batch = engine, channel, queue, batch
        self.stopping = False
        self.timezone = analytics_timezone()
        self.pending: list[tuple[int, bytes]] = []
        self.applied = self.ignored = 0
        self.caught_up = -CATCH_UP_EVERY

    def flush(self) -> None:
        """Commit the pending messages' events, then acknowledge them all at once."""
        if not self.pending:
            return
        events: list[Event] = []
        for _, body in self.pending:
            parsed = parse(body)
            if parsed is None:
                self.ignored += 1
                log.warning("analytics consumer: skipped a message that is not a Rasa event (%d bytes)", len(body))
            else:
                events.append(parsed)
        self.applied += apply_events(self.engine, events, self.timezone)  # with the handoff rows' catch-up
        self.caught_up = time.monotonic()
        self.channel.basic_ack(delivery_tag=self.pending[-1][0], multiple=True)
        self.pending = []

    def catch_up(self) -> None:
        """While the queue is idle, match the handoff rows created since the last batch (analytics.handoff_match),
        at most once a second: a handoff shows on the dashboard without waiting for the next event."""
        if time.monotonic() - self.caught_up < CATCH_UP_EVERY:
            return
        with self.engine.begin() as connection:
            handoff_match.catch_up(connection)
        self.caught_up = time.monotonic()

    def run(self, exit_when_idle: float | None) -> None:
        idle_since = time.monotonic()
        self.channel.basic_qos(prefetch_count=self.batch)
        for method, _properties, body in self.channel.consume(self.queue, inactivity_timeout=0.2):
            if method is None:
                self.flush()
                self.catch_up()
                if self.stopping or (exit_when_idle is not None and time.monotonic() - idle_since >= exit_when_idle):
                    break
                continue
            idle_since = time.monotonic()
            self.pending.append((method.delivery_tag, body))
            if len(self.pending) >= self.batch or self.stopping:
                self.flush()
            if self.stopping:
                break
        self.flush()
        self.channel.cancel()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analytics.consumer", description=__doc__.splitlines()[0])
    parser.add_argument("--amqp-url", default=None, help=f"RabbitMQ (default: ANALYTICS_AMQP_URL, else {DEFAULT_URL})")
    parser.add_argument("--queue", default=None, help=f"queue (default: ANALYTICS_QUEUE, else {DEFAULT_QUEUE})")
    parser.add_argument("--exchange", default=None, help=f"Rasa's fanout exchange (default: ANALYTICS_EXCHANGE, else {DEFAULT_EXCHANGE})")
    parser.add_argument("--database-url", help="support database (default: DESTEK_DATABASE_URL, else sqlite:///$DESTEK_DB)")
    parser.add_argument("--batch", type=int, default=200, help="events per transaction (and prefetch)")
    parser.add_argument("--exit-when-idle", type=float, help="stop after the queue has been empty this many seconds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("pika").setLevel(logging.WARNING)
    if args.batch < 1:
        print("analytics consumer: --batch must be at least 1", file=sys.stderr)
        return 2
    try:
        settings = get_settings()  # every setting, read and checked once, at start
        args.amqp_url = args.amqp_url or settings.tools.amqp_url
        args.queue = args.queue or settings.tools.amqp_queue
        args.exchange = args.exchange or settings.tools.amqp_exchange
        engine = engine_for(args.database_url or settings.storage.url())
        prepare(engine, analytics_timezone())
    except (ValueError, TimezoneChanged) as error:
        print(f"analytics consumer: {error}", file=sys.stderr)
        return 2
    try:
        connection = pika.BlockingConnection(pika.URLParameters(args.amqp_url))
    except pika.exceptions.AMQPError as error:
        print(f"analytics consumer: cannot reach RabbitMQ at {pika.URLParameters(args.amqp_url).host}: {error!r}", file=sys.stderr)
        return 1
    channel = connection.channel()
    declare(channel, args.queue, args.exchange)
    consumer = Consumer(engine, channel, args.queue, args.batch)

    def stop(*_: Any) -> None:
        consumer.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("analytics consumer: reading queue %s", args.queue)
    try:
        consumer.run(args.exit_when_idle)
    finally:
        connection.close()
    log.info("analytics consumer: %d events applied, %d messages skipped", consumer.applied, consumer.ignored)
    return 0


if __name__ == "__main__":
    sys.exit(main())
