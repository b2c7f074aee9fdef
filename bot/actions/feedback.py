"""Store the customer's 👍/👎 on the last answer, with the query and the article it cited."""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import services
from bot.actions.conversation import latest_intent

POSITIVE_INTENTS = ("answer_helpful", "affirm")


class ActionRecordFeedback(Action):
    def name(self) -> str:
        return "action_record_feedback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        helpful = latest_intent(tracker) in POSITIVE_INTENTS
        services.records().add_feedback(
            tracker.sender_id,
            tracker.get_slot("kb_query"),
            tracker.get_slot("kb_article_id"),
            tracker.get_slot("kb_score"),
            helpful,
        )
        _remember_vote(tracker, helpful)
        if helpful:
            dispatcher.utter_message(response="utter_feedback_thanks")
        else:
            dispatcher.utter_message(response="utter_feedback_sorry")
            dispatcher.utter_message(response="utter_offer_human")
        if helpful:
            return [SlotSet("kb_feedback", "up")]
        # The handoff trigger "downvotes" reads this count instead of scanning the conversation.
        return [SlotSet("kb_feedback", "down"), SlotSet("kb_downvotes", int(tracker.get_slot("kb_downvotes") or 0) + 1)]


def _remember_vote(tracker: Tracker, helpful: bool) -> None:
    """The vote with the question's embedding, so similar questions rank the article accordingly."""
    query, article_id = tracker.get_slot("kb_query"), tracker.get_slot("kb_article_id")
    vector = services.knowledge_base().embed_query(query) if query and article_id else None
    if vector is not None:
        services.feedback_memory().add(article_id, tracker.get_slot("language"), vector, helpful)
