"""The cluster's event broker queues no card number or IBAN (an agent's reply included); checked under the
Rasa interpreter against the real RabbitMQ by tests/rasa_checks/broker_redaction_check.py."""

import os
import subprocess

import pytest

from tests.analytics.test_consumer import AMQP_URL, rabbitmq_reachable
from tests.helpers.servers import ROOT

RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"


def test_the_event_broker_publishes_texts_redacted() -> None:
    if not rabbitmq_reachable():
        if os.environ.get("CI") == "true":
            pytest.fail(f"RabbitMQ is not reachable at {AMQP_URL} (CI=true: it must run)")
        pytest.skip("RabbitMQ not reachable at 127.0.0.1:5672: start it (`service rabbitmq-server start`) to run the broker test")
    result = subprocess.run(
        [str(RASA_PYTHON), str(ROOT / "tests" / "rasa_checks" / "broker_redaction_check.py")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
