"""Rasa's Pika (RabbitMQ) event broker, publishing user and bot events with their texts redacted.

A queue is storage too: RabbitMQ keeps what Rasa publishes on disk until the analytics consumer
takes it, and the consumer needs no customer or agent text in clear. endpoints.cluster.yml:
`event_broker: {type: bot.event_broker.RedactingPikaEventBroker, ...}` with Pika's own settings.
"""

from typing import Any

from rasa.core.brokers.pika import PikaEventBroker

from bot.event_redaction import REDACTED_EVENTS, redacted_event_data


class RedactingPikaEventBroker(PikaEventBroker):
    def publish(self, event: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        """Publish `event` as Rasa does, its texts redacted (the caller's dict is left as it was)."""
        if event.get("event") in REDACTED_EVENTS:
            event = redacted_event_data(event)
        super().publish(event, headers)
