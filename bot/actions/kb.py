"""Answer a question from the knowledge base, or say honestly that there is no good answer."""

import time
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import services
from bot.actions.outage import outage_notice
from kb_index.search import Hit
from privacy.redaction import redact

RELATED_LIMIT = 3


class ActionAnswerFromKb(Action):
    def name(self) -> str:
        return "action_answer_from_kb"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        query = (tracker.latest_message.get("text") or "").strip()
        if not query:
            dispatcher.utter_message(response="utter_how_can_i_help")
            return [SlotSet("kb_answered", False)]
        kb = services.knowledge_base()
        settings = services.settings()
        language = tracker.get_slot("language")
        hits, vector = kb.search_embedded(query, k=RELATED_LIMIT + 2, lang=language if language in kb.languages else None)
        hits = services.feedback_memory().rerank(hits, vector)[:RELATED_LIMIT]
        notice = outage_notice(dispatcher, tracker, query, hits)  # a known outage comes before troubleshooting
        if notice is not None:
            return notice
        threshold = settings.kb_threshold if settings.kb_threshold is not None else kb.threshold
        best = hits[0] if hits else None
        answered = best is not None and best.score >= threshold
        _remember(tracker, language, query, best if answered else None)
        if answered and best is not None:
            services.records().add_answer_served(tracker.sender_id, query, language, best.id, best.score)
            dispatcher.utter_message(response="utter_kb_answer", answer=best.snippet, title=best.title, url=best.url)
            dispatcher.utter_message(response="utter_ask_helpful")
            return _result(query, best, answered=True, hits=hits)
        services.records().add_unanswered(tracker.sender_id, query, language, best.id if best else None, best.score if best else None)
        dispatcher.utter_message(response="utter_kb_not_sure")
        related = [hit for hit in hits if hit.score >= settings.kb_related_min_score]
        if related:
            dispatcher.utter_message(
                response="utter_kb_related",
                articles="\n".join(f"• {hit.title} – {hit.url}" for hit in related),
                buttons=[{"title": hit.title, "payload": hit.title} for hit in related],
            )
        dispatcher.utter_message(response="utter_offer_human")
        return _result(query, best, answered=False, hits=hits)


def _remember(tracker: Tracker, language: str | None, query: str, answer: Hit | None) -> None:
    """Keep the open question for the customer's other channels (see actions/session.py)."""
    customer_id = tracker.get_slot("customer_id")
    if not customer_id:
        return
    services.customers().remember_context(
        customer_id,
        language=language,
        last_query=redact(query),
        last_article_id=answer.id if answer else None,
        last_article_title=answer.title if answer else None,
        last_article_url=answer.url if answer else None,
        sender_id=tracker.sender_id,
        updated_at=time.time(),
    )


def _result(query: str, best: Hit | None, answered: bool, hits: list[Hit]) -> list[dict[str, Any]]:
    return [
        SlotSet("kb_query", query),
        SlotSet("kb_article_id", best.id if answered and best else None),
        SlotSet("kb_score", best.score if best else None),
        SlotSet("kb_answered", answered),
        # Every article considered, for the agent's context card (handoff/context_card.py).
        SlotSet("kb_candidates", [{"id": hit.id, "title": hit.title, "score": round(hit.score, 3)} for hit in hits]),
    ]
