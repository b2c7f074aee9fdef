"""Small readers of the tracker that several actions share."""

from rasa_sdk import Tracker


def latest_intent(tracker: Tracker) -> str | None:
    """The intent Rasa acted on for the latest message (button payloads included)."""
    return (tracker.latest_message.get("intent") or {}).get("name")
