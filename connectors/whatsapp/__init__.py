"""WhatsApp through Twilio: the Rasa input channel (channel.py), the one way to send to a WhatsApp address
(sender.py), what must survive restarts (state.py: inbound log, 24-hour window, held texts, delivery status),
message shaping (text.py), Twilio's API (twilio_client.py) and the loop the channel works on (background_loop.py).

credentials.yml names the channel `connectors.whatsapp.WhatsAppInput`; it is looked up here, lazily, so that the
action server and the scheduler (no Rasa installed) can import the other modules of this package.
"""

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "WhatsAppInput":
        from connectors.whatsapp.channel import WhatsAppInput

        return WhatsAppInput
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
