"""Send the action server only the newest events of a conversation (Rasa server side).

Rasa 3.6 posts the whole current session to the action server on every custom action: at turn
200 of a FAQ chat that is about 1 MB of JSON to encode, send and decode, for actions that read
the latest message and the slots (both sent whole, apart from the events). Through Rasa's plugin
hook for rewriting that request body, every action but those in FULL_HISTORY gets the newest
`events` events. action_request_human keeps the whole session: it copies the transcript into the
agent's context card.

Registered by bot.tracker_store.CachedSQLTrackerStore (`action_server_events` in endpoints.yml),
the one Destek class the Rasa server loads from its endpoint settings (docs/turn-cost.md).
"""

from typing import Any

import pluggy
from rasa.plugin import plugin_manager

FULL_HISTORY = ("action_request_human",)
PLUGIN_NAME = "destek-action-payload"
hookimpl = pluggy.HookimplMarker("rasa")


class NewestEvents:
    def __init__(self, events: int) -> None:
        self.events = events

    @hookimpl
    def prefix_stripping_for_custom_actions(self, json_body: dict[str, Any]) -> dict[str, Any] | None:
        """The body with only the newest events, or None to send it unchanged."""
        tracker = json_body.get("tracker") or {}
        events = tracker.get("events") or []
        if json_body.get("next_action") in FULL_HISTORY or len(events) <= self.events:
            return None
        return {**json_body, "tracker": {**tracker, "events": events[-self.events :]}}


def register(events: int) -> None:
    """Install (or re-size) the hook in this Rasa process; 0 sends whole sessions as Rasa does."""
    manager = plugin_manager()
    if manager.get_plugin(PLUGIN_NAME) is not None:
        manager.unregister(name=PLUGIN_NAME)
    if events > 0:
        manager.register(NewestEvents(events), name=PLUGIN_NAME)
