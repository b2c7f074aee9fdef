"""Hand the conversation to a person, and everything the bot does around it (docs/handoff.md).

action_request_human   start a handoff (reason from handoff.triggers), build the context card,
                       tell the customer their place and wait, or the opening hours
action_forward_to_agent  while a person owns the conversation: store the message for the inbox;
                       position only while queued; "iptal"/"cancel"/"vazgeçtim" cancels
action_relay_agent_message  the agent's reply (EXTERNAL_agent_message), only while assigned
action_handback        the agent closed it (EXTERNAL_handoff_closed): back to the bot, ask CSAT
action_record_csat     store the 1–5 rating
Each returns at least one event (ActionServerFallbackPolicy reads "no event" as "server down").
"""

import logging
import re
import threading
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import services
from bot.actions.conversation import latest_intent
from handoff import queue, triggers
from handoff import settings as handoff_settings
from handoff.context_card import collect_card
from handoff.rasa_client import RasaClient
from handoff.store import HandoffError
from handoff.webhook import HelpdeskWebhook
from language.fold import fold
from privacy.redaction import redact
from settings.model import get_settings

logger = logging.getLogger(__name__)

STATUS, HANDOFF_ID = "handoff_status", "handoff_id"
CHANNEL_NAMES = {"webchat": "web"}  # Rasa input channel -> customer_store / dashboard name


def _language(tracker: Tracker) -> str:
    return "en" if tracker.get_slot("language") == "en" else "tr"


def _channel(tracker: Tracker) -> str:
    """The channel as customer_store names it (web, whatsapp), or Rasa's input channel name."""
    channel = tracker.get_latest_input_channel() or "rest"
    return CHANNEL_NAMES.get(channel, channel)


def _decision(tracker: Tracker, config: handoff_settings.HandoffSettings) -> triggers.Decision:
    """Why now: the trigger that fired, or the customer accepting the bot's offer of a person."""
    decision = triggers.decide(tracker.events, config, downvotes=tracker.get_slot("kb_downvotes") or 0)
    if decision is not None:
        return decision
    if latest_intent(tracker) == "request_human":
        return triggers.Decision("customer_asked", config.trigger("customer_asks").priority, "asked for a person")
    return triggers.Decision("kb_no_answer", config.trigger("kb_insists").priority, "accepted the offer of a person")


def _tell_position(dispatcher: CollectingDispatcher, handoff: dict[str, Any], response: str, language: str) -> None:
    config = handoff_settings.load_or_default()
    if handoff["out_of_hours"] and not queue.is_open(config):
        back = queue.describe_opening(queue.next_opening(config), language)
        dispatcher.utter_message(response="utter_handoff_offline_waiting", back=back)
        return
    status = queue.queue_status(services.handoffs(), handoff["id"], config)
    dispatcher.utter_message(response=response, position=status.position, wait=status.wait_minutes)


class ActionRequestHuman(Action):
    def name(self) -> str:
        return "action_request_human"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        config = handoff_settings.load_or_default()
        language = _language(tracker)
        decision = _decision(tracker, config)
        store = services.handoffs()
        existing = store.open_for_sender(tracker.sender_id)
        if existing is not None:
            _tell_position(dispatcher, existing, "utter_handoff_position", language)
            return [SlotSet(STATUS, existing["status"]), SlotSet(HANDOFF_ID, str(existing["id"]))]
        services.records().add_handoff_request(tracker.sender_id, language, reason=decision.reason, last_query=tracker.get_slot("kb_query"))
        open_now = queue.is_open(config)
        handoff = store.create(
            tracker.sender_id,
            _channel(tracker),
            decision.reason,
            decision.priority,
            customer_id=tracker.get_slot("customer_id"),
            language=language,
            reason_detail=decision.detail,
            out_of_hours=not open_now,
        )
        events = list(tracker.events)
        self._store_card(handoff, events, rasa=None)
        if decision.reason == "anger":
            dispatcher.utter_message(response="utter_handoff_empathy")
        if open_now:
            status = queue.queue_status(store, handoff["id"], config)
            dispatcher.utter_message(response="utter_handoff_connecting", position=status.position, wait=status.wait_minutes)
        else:
            back = queue.describe_opening(queue.next_opening(config), language)
            dispatcher.utter_message(response="utter_handoff_out_of_hours", back=back)
        threading.Thread(target=self._complete_card, args=(handoff, events), name=f"handoff-{handoff['id']}-card", daemon=True).start()
        # A handoff starts a new count of 👎 (handoff.triggers.WINDOW_RESET_ACTIONS).
        return [
            SlotSet("handoff_requested", True),
            SlotSet(STATUS, "queued"),
            SlotSet(HANDOFF_ID, str(handoff["id"])),
            SlotSet("kb_downvotes", None),
        ]

    @staticmethod
    def _store_card(handoff: dict[str, Any], events: list[dict[str, Any]], rasa: RasaClient | None) -> dict[str, Any]:
        try:
            card = collect_card(handoff, services.customers(), rasa, current_events=events)
        except Exception:  # the card must never stop the customer from reaching a person
            logger.exception("context card of handoff %s failed", handoff["id"])
            card = {"handoff_id": handoff["id"], "error": "context card could not be built; see the action server log"}
        services.handoffs().set_context_card(handoff["id"], card)
        return card

    @classmethod
    def _complete_card(cls, handoff: dict[str, Any], events: list[dict[str, Any]]) -> None:
        """After the reply: add the customer's other conversations to the card (read through
        the Rasa HTTP API, which answers for them only once this turn is finished) and send
        the card to the helpdesk."""
        card = (
            cls._store_card(handoff, events, services.rasa())
            if handoff.get("customer_id")
            else services.handoffs().require(handoff["id"])["context_card"]
        )
        try:
            webhook = HelpdeskWebhook.configured(get_settings().proactive)
        except ValueError as error:
            logger.error("helpdesk webhook not sent: %s", error)
            return
        if webhook is not None:
            webhook.post({"event": "handoff.created", "handoff": card})


def _whole_message_is(patterns: list["re.Pattern[str]"], text: str) -> bool:
    folded = fold(re.sub(r"[^\w\s'-]", " ", text))
    return any(p.fullmatch(folded) for p in patterns)


def _followup_choice(text: str, config: handoff_settings.HandoffSettings) -> str | None:
    for kind, patterns in config.followup_words.items():
        if handoff_settings.matches(patterns, text):
            return kind
    return None


class ActionForwardToAgent(Action):
    def name(self) -> str:
        return "action_forward_to_agent"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        store = services.handoffs()
        handoff = store.open_for_sender(tracker.sender_id)
        language = _language(tracker)
        if handoff is None:
            dispatcher.utter_message(response="utter_handoff_ended")
            return [SlotSet(STATUS, None)]
        text = tracker.latest_message.get("text") or ""
        config = handoff_settings.load_or_default()
        if handoff["status"] == "queued" and _whole_message_is(config.cancel_words, text):
            try:
                store.cancel(handoff["id"])
            except HandoffError:  # claimed a moment ago: the agent gets the message instead
                handoff = store.require(handoff["id"])
            else:
                store.add_message(handoff["id"], "system", "customer", "cancelled by the customer")
                dispatcher.utter_message(response="utter_handoff_cancelled")
                return [SlotSet(STATUS, None), SlotSet(HANDOFF_ID, None)]
        store.add_message(handoff["id"], "customer", tracker.sender_id, redact(text))
        if handoff["status"] == "assigned":
            return [SlotSet(STATUS, "assigned")]
        choice = _followup_choice(text, config) if handoff["out_of_hours"] and not handoff["followup"] else None
        if choice:
            store.set_followup(handoff["id"], choice)
            back = queue.describe_opening(queue.next_opening(config), language)
            dispatcher.utter_message(response=f"utter_handoff_followup_{choice}", back=back)
        else:
            _tell_position(dispatcher, handoff, "utter_handoff_position", language)
        return [SlotSet(STATUS, "queued")]


class ActionRelayAgentMessage(Action):
    def name(self) -> str:
        return "action_relay_agent_message"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        entities = tracker.latest_message.get("entities") or []
        text = next((e.get("value") for e in entities if e.get("entity") == "agent_text"), None)
        handoff = services.handoffs().open_for_sender(tracker.sender_id)
        if handoff is None or handoff["status"] != "assigned" or not text:
            logger.warning("agent message for %s dropped: no assigned handoff", tracker.sender_id)
            return [SlotSet(STATUS, handoff["status"] if handoff else None)]
        dispatcher.utter_message(text=str(text))
        return [SlotSet(STATUS, "assigned")]


class ActionHandback(Action):
    def name(self) -> str:
        return "action_handback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        if services.handoffs().open_for_sender(tracker.sender_id) is not None:
            # A newer handoff is open (the customer asked again): stay with the person.
            return [SlotSet(STATUS, tracker.get_slot(STATUS))]
        dispatcher.utter_message(response="utter_handback")
        dispatcher.utter_message(response="utter_ask_csat")
        return [SlotSet(STATUS, "rating"), SlotSet("handoff_requested", False), SlotSet("kb_downvotes", None)]


class ActionRecordCsat(Action):
    def name(self) -> str:
        return "action_record_csat"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        found = re.search(r"[1-5]", tracker.latest_message.get("text") or "")
        if found is None:
            return [SlotSet(STATUS, None)]
        handoff_id = tracker.get_slot(HANDOFF_ID)
        handoff = services.handoffs().get(int(handoff_id)) if handoff_id and str(handoff_id).isdigit() else None
        channel = handoff["channel"] if handoff else _channel(tracker)
        services.handoffs().add_csat(handoff["id"] if handoff else None, tracker.sender_id, channel, int(found.group(0)))
        dispatcher.utter_message(response="utter_csat_thanks")
        return [SlotSet(STATUS, None), SlotSet(HANDOFF_ID, None)]
