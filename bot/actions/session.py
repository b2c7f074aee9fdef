"""Start each conversation with what the bot already knows about the customer from any channel.

A customer who asked on the web and then writes on WhatsApp (or back) keeps their language
and their open question: the session starts with those slots set and a short reminder.
"""

import time
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import services

CONTEXT_MAX_AGE_S = 7 * 24 * 3600
_CARRIED_SLOTS = ("language", "kb_query", "kb_article_id", "kb_score", "kb_answered")


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        events: list[EventType] = [SessionStarted()]
        events += [SlotSet(name, value) for name, value in tracker.slots.items() if name in _CARRIED_SLOTS and value is not None]
        handoff = services.handoffs().open_for_sender(tracker.sender_id)
        if handoff is not None:  # a person still owns this conversation (HandoffPolicy reads the slot)
            events += [SlotSet("handoff_status", handoff["status"]), SlotSet("handoff_id", str(handoff["id"]))]
        customer_id = services.customers().customer_for_sender(tracker.sender_id)
        if customer_id is not None:
            events.append(SlotSet("customer_id", customer_id))
            events += _remembered(dispatcher, tracker.sender_id, services.customers().context(customer_id))
            if tracker.sender_id.startswith("web:"):
                _campaign_notices(dispatcher, customer_id)
        events.append(ActionExecuted("action_listen"))
        return events


def _remembered(dispatcher: CollectingDispatcher, sender_id: str, context: dict[str, Any]) -> list[EventType]:
    """Slots from the customer's last conversation on another channel, and a reminder of it."""
    fresh = time.time() - float(context.get("updated_at", 0)) < CONTEXT_MAX_AGE_S
    if not context or not fresh or context.get("sender_id") == sender_id:
        return []
    events: list[EventType] = []
    language = context.get("language") if context.get("language") in ("tr", "en") else "tr"
    events.append(SlotSet("language", language))
    if context.get("last_query"):
        events += [SlotSet("kb_query", context["last_query"]), SlotSet("kb_article_id", context.get("last_article_id"))]
        # Named per language: slots set by this action are not yet applied when Rasa renders it.
        dispatcher.utter_message(
            response=f"utter_welcome_back_{language}",
            last_query=context["last_query"],
            title=context.get("last_article_title") or "–",
            url=context.get("last_article_url") or "",
        )
    return events


def _campaign_notices(dispatcher: CollectingDispatcher, customer_id: str) -> None:
    """Campaign messages waiting for this web customer's next visit (web channel): shown once."""
    notices = services.campaigns().pending_web_notices(customer_id)
    for notice in notices:
        dispatcher.utter_message(text=notice["text"])
    services.campaigns().mark_web_notices_shown([notice["recipient_id"] for notice in notices])
