"""WhatsApp through Twilio: the Rasa input channel (channel.py), the one way to send to a WhatsApp address
(sender.py), message shaping (text.py), Twilio's API (twilio_client.py) and the loop the channel works on
(background_loop.py). What must survive restarts, in the support database (one table a store):
inbound_log.py (each MessageSid handled once, replay), window.py (the 24-hour window and the texts held
until it reopens), choices.py (the numbered options last shown) and delivery_status.py (Twilio's statuses).

credentials.yml names the channel `connectors.whatsapp.WhatsAppInput`; it is looked up here, lazily, so that the
action server and the scheduler (no Rasa installed) can import the other modules of this package.
"""

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "WhatsAppInput":
        from connectors.whatsapp.channel import WhatsAppInput

        return WhatsAppInput
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
