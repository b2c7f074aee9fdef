"""Record that the customer wants a person. Routing to an agent inbox comes with the handoff feature."""

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import services
from bot.actions.conversation import latest_intent


class ActionRequestHuman(Action):
    def name(self) -> Text:
        return "action_request_human"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        asked = latest_intent(tracker) == "request_human"
        services.records().add_handoff_request(
            tracker.sender_id,
            tracker.get_slot("language"),
            reason="customer_asked" if asked else "kb_no_answer",
            last_query=tracker.get_slot("kb_query"),
        )
        dispatcher.utter_message(response="utter_handoff_recorded")
        return [SlotSet("handoff_requested", True)]
