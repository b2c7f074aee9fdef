"""The consumer fed through a real RabbitMQ: events published as Rasa's Pika broker publishes them
(JSON of the event plus sender_id, persistent, on a fanout exchange) give the same aggregates as the
backfill; duplicates, a batch committed but never acknowledged, and a consumer killed with SIGKILL
half-way all end in the same tables. Skipped (one line) without RabbitMQ outside CI."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError

from analytics.aggregate_schema import conversations, engine_for
from analytics.aggregate_store import Event, apply_events, rebuild
from analytics.backfill import tracker_events
from tests.analytics.test_aggregates import TZ, month, support_copy, table_rows
from tests.helpers.services import require_reachable

ROOT = Path(__file__).resolve().parents[2]
AMQP_URL = os.environ.get("ANALYTICS_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


@pytest.fixture
def broker() -> Iterator[tuple[str, str]]:
    """A unique queue and exchange for this test, deleted afterwards."""
    parameters = pika.URLParameters(AMQP_URL)
    require_reachable(parameters.host, parameters.port, "RabbitMQ", "start it (`service rabbitmq-server start`) to run the consumer tests")
    name = f"destek-analytics-test-{uuid.uuid4().hex[:12]}"
    yield name, name
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    channel.queue_delete(name)
    channel.exchange_delete(name)
    connection.close()


def publish(exchange: str, queue: str, events: list[Event]) -> None:
    """As rasa.core.brokers.pika.PikaEventBroker: body json.dumps(event + sender_id), persistent, fanout exchange
    (no publisher confirms, as Rasa: closing the connection flushes what was sent)."""
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    channel.exchange_declare(exchange, exchange_type="fanout")
    channel.queue_declare(queue, durable=True)
    channel.queue_bind(queue, exchange, routing_key="")
    for sender, event in events:
        channel.basic_publish(
            exchange,
            "",
            json.dumps({**event, "sender_id": sender}).encode(),
            pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent),
        )
    connection.close()


def consumer(database: Path, queue: str, exchange: str, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ANALYTICS_TIMEZONE": TZ.key}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "analytics.consumer",
            "--amqp-url",
            AMQP_URL,
            "--queue",
            queue,
            "--exchange",
            exchange,
            "--database-url",
            f"sqlite:///{database}",
            *extra,
        ],
        env=env,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def month_events(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Event], Engine]:
    """A synthetic month's events (in tracker order) and the backfill of the same month (into its support database, whose
    handoff rows the consumers' copies hold too)."""
    tracker, support = month(tmp_path_factory.mktemp("month"), 400)
    backfilled = engine_for(f"sqlite:///{support}")
    rebuild(backfilled, tracker_events(engine_for(f"sqlite:///{tracker}")), TZ)
    events = list(tracker_events(engine_for(f"sqlite:///{tracker}")))
    return events, backfilled


def interleaved(events: list[Event]) -> list[Event]:
    """Senders' events interleaved as live traffic would be, each sender's kept in order."""
    per_sender: dict[str, list[Event]] = {}
    for sender, event in events:
        per_sender.setdefault(sender, []).append((sender, event))
    out: list[Event] = []
    queues = list(per_sender.values())
    while queues:
        for stream in queues:
            out.append(stream.pop(0))
        queues = [q for q in queues if q]
    return out


def test_consumer_through_rabbitmq_equals_the_backfill_despite_duplicates(
    tmp_path: Path, broker: tuple[str, str], month_events: tuple[list[Event], Engine]
) -> None:
    queue, exchange = broker
    events, backfilled = month_events
    live = interleaved(events)
    database = support_copy(Path(str(backfilled.url.database)), tmp_path / "consumer.sqlite3")
    engine = engine_for(f"sqlite:///{database}")
    rebuild(engine, [], TZ)  # an empty store, backfilled: the consumer sees every event
    # a batch committed by a consumer that died before acknowledging it: the broker delivers it again
    apply_events(engine, live[:700], TZ)
    # at-least-once: some messages delivered twice, and a poison message
    publish(exchange, queue, live[:1500] + live[1000:1200] + live[1500:])
    publish(exchange, queue, [])
    with pika.BlockingConnection(pika.URLParameters(AMQP_URL)) as connection:
        connection.channel().basic_publish(exchange, "", b"not json")
    process = consumer(database, queue, exchange, "--exit-when-idle", "2", "--batch", "150")
    assert process.wait(timeout=120) == 0
    assert table_rows(engine) == table_rows(backfilled)
    with pika.BlockingConnection(pika.URLParameters(AMQP_URL)) as connection:
        assert connection.channel().queue_declare(queue, passive=True).method.message_count == 0  # all acknowledged


def test_consumer_killed_midway_loses_and_doubles_nothing(
    tmp_path: Path, broker: tuple[str, str], month_events: tuple[list[Event], Engine]
) -> None:
    queue, exchange = broker
    events, backfilled = month_events
    database = support_copy(Path(str(backfilled.url.database)), tmp_path / "consumer.sqlite3")
    engine = engine_for(f"sqlite:///{database}")
    rebuild(engine, [], TZ)
    publish(exchange, queue, interleaved(events))
    process = consumer(database, queue, exchange, "--batch", "50")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            if connection.execute(select(func.count()).select_from(conversations)).scalar_one() >= 100:
                break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert table_rows(engine) != table_rows(backfilled)  # killed before the end
    process = consumer(database, queue, exchange, "--exit-when-idle", "2", "--batch", "50")
    assert process.wait(timeout=120) == 0
    assert table_rows(engine) == table_rows(backfilled)


def test_consumer_stops_cleanly_on_sigterm(tmp_path: Path, broker: tuple[str, str]) -> None:
    queue, exchange = broker
    process = consumer(tmp_path / "consumer.sqlite3", queue, exchange)
    sample: list[Any] = [("web:term", {"event": "action", "name": "action_session_start", "timestamp": 1.0})]
    publish(exchange, queue, sample)
    engine = engine_for(f"sqlite:///{tmp_path / 'consumer.sqlite3'}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with engine.connect() as connection:
                if connection.execute(select(func.count()).select_from(conversations)).scalar_one():
                    break
        except OperationalError:  # tables not created yet
            pass
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0
