"""The cluster's event broker queues no card number or IBAN (an agent's reply included); checked under the
Rasa interpreter against the real RabbitMQ by tests/rasa_checks/broker_redaction_check.py."""

from tests.helpers.rasa_checks import run_rasa_check
from tests.helpers.services import require_reachable


def test_the_event_broker_publishes_texts_redacted() -> None:
    require_reachable("127.0.0.1", 5672, "RabbitMQ", "start it (`service rabbitmq-server start`) to run the broker test")
    run_rasa_check("broker_redaction_check.py", timeout=300)
