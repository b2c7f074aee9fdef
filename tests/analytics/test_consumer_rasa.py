"""One integration run with the real parts: a Rasa 3.6 server whose Pika event broker publishes to a
real RabbitMQ (endpoints file generated here: endpoints.yml plus `event_broker`), the action server,
conversations through the REST channel; then `python -m analytics.consumer` on the broker's queue
and `python -m analytics.backfill` on Rasa's tracker store write the same aggregates, and the
dashboard's figures from them equal the recomputed ones."""

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pika
import pytest
import yaml

from analytics.aggregate_figures import compute_from_aggregates
from analytics.aggregate_schema import engine_for
from analytics.figures import Filters, compute
from analytics.support_db import read_support_data
from analytics.tracker import iter_conversations
from tests.analytics.test_aggregates import TZ, same_figures, table_rows
from tests.analytics.test_consumer import AMQP_URL, broker, consumer  # noqa: F401  (broker is a fixture)
from tests.helpers.servers import MODEL, ROOT, Servers, running_servers

pytestmark = pytest.mark.skipif(not MODEL.exists(), reason="no trained model: run `make train index` (make test does)")


def broker_endpoints(state: Path, queue: str, exchange: str) -> Path:
    """endpoints.yml plus an event broker publishing to RabbitMQ (queue and exchange of this test)."""
    endpoints = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    parameters = pika.URLParameters(AMQP_URL)
    endpoints["event_broker"] = {
        "type": "pika",
        "url": parameters.host,
        "port": parameters.port,
        "username": parameters.credentials.username,
        "password": parameters.credentials.password,
        "queues": [queue],
        "exchange_name": exchange,
        "raise_on_failure": True,
    }
    path = state / "endpoints-broker.yml"
    path.write_text(yaml.safe_dump(endpoints), encoding="utf-8")
    return path


@pytest.fixture
def servers(tmp_path: Path, broker: tuple[str, str]) -> Iterator[Servers]:  # noqa: F811
    queue, exchange = broker
    with running_servers(tmp_path, endpoints=broker_endpoints(tmp_path, queue, exchange)) as running:
        yield running


def test_real_rasa_events_through_rabbitmq_give_the_backfills_aggregates(servers: Servers, broker: tuple[str, str]) -> None:  # noqa: F811
    queue, exchange = broker
    run = uuid.uuid4().hex[:6]
    servers.say(f"analytics-{run}-1", "how can I track my order")
    servers.say(f"analytics-{run}-1", "/answer_helpful")
    servers.say(f"analytics-{run}-2", "pusula hisseleri borsada işlem görüyor mu fiyatı ne")
    servers.say(f"analytics-{run}-3", "/greet")
    time.sleep(1)  # Rasa publishes in background tasks
    streamed = servers.state / "consumer.sqlite3"
    assert consumer(streamed, queue, exchange, "--exit-when-idle", "3").wait(timeout=120) == 0
    backfilled = servers.state / "backfill.sqlite3"
    env = {**servers.env, "ANALYTICS_TIMEZONE": TZ.key}
    subprocess.run([sys.executable, "-m", "analytics.backfill", "--database-url", f"sqlite:///{backfilled}"], env=env, cwd=ROOT, check=True)
    streamed_rows, backfilled_rows = table_rows(engine_for(f"sqlite:///{streamed}")), table_rows(engine_for(f"sqlite:///{backfilled}"))
    assert streamed_rows == backfilled_rows
    conversations, counts = streamed_rows
    assert len(conversations) == 3 and ("kb", "answered") in {(row[3], row[4]) for row in counts}
    tracker = servers.state / "tracker.sqlite3"
    data = read_support_data(servers.state / "no-support.sqlite3")
    everything = Filters(timezone=TZ)
    expected = compute(list(iter_conversations(tracker)), data, everything)
    assert expected.conversations == 3 and expected.kb_answered == 1 and expected.kb_unanswered == 1
    assert same_figures(compute_from_aggregates(engine_for(f"sqlite:///{streamed}"), everything), expected)
