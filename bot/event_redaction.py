"""Redaction of a serialised Rasa event (the dict of `Event.as_dict()`), for what leaves memory.

The tracker store (bot/tracker_store.py) writes events and the event broker (bot/event_broker.py)
publishes them; both pass user and bot events through here, so an agent's reply or a customer's
card number is never stored or queued in clear (privacy.redaction says what is redacted).
"""

import copy
from typing import Any

from privacy.redaction import redact

REDACTED_EVENTS = ("user", "bot")


def redacted_event_data(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of the event's data with its text, parse text and entity values redacted."""
    data = copy.deepcopy(data)  # as_dict shares the event's own parse_data
    if isinstance(data.get("text"), str):
        data["text"] = redact(data["text"])
    parse_data = data.get("parse_data")
    if isinstance(parse_data, dict):
        if isinstance(parse_data.get("text"), str):
            parse_data["text"] = redact(parse_data["text"])
        for entity in parse_data.get("entities") or []:
            if isinstance(entity, dict) and isinstance(entity.get("value"), str):
                entity["value"] = redact(entity["value"])
    return data
