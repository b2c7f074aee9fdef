"""Tell a customer in an affected region about a known outage, before any troubleshooting.

Called by action_answer_from_kb before it answers: when the message is about connectivity
(the KB's best article is a connectivity one, or the text says so) and an open incident
covers the customer's region (profile region, through the sender id), the customer gets the
operator's message and the ETA in their language — no troubleshooting steps, no handoff —
and is counted once on the incident (incident_contacts).
"""

import re
from collections.abc import Sequence
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import services
from incidents.store import SERVICE_NAMES
from incidents.times import eta_text
from kb_index.search import Hit
from language.fold import fold

# KB topics about connectivity (article ids are "<topic>-<lang>") → the service they concern.
CONNECTIVITY_TOPICS = {"no-internet": "internet", "slow-internet": "internet", "modem-lights": "internet", "outage-status": None}
# Phrases that mean "my connection is broken" even when the KB's best article is something else.
_CONNECTIVITY_TEXT = re.compile(
    r"\b(internet\w*|baglanti\w*|wi-?fi\w*|modem\w*)\b.*\b(yok|gitti|kesil\w*|kopuyor|kopt\w*|calismiyor|cekmiyor|yavas\w*)\b"
    r"|\b(no|lost|slow|bad) (internet|connection|signal|wi-?fi)\b"
    r"|\b(internet|connection|wi-?fi)\b.*\b(down|dropping|drops|dropped|keeps dropping|not working|slow|cut)\b"
    r"|\b(kesinti|ariza|outage)\b"
)
OUTAGE_TEXT = {
    "tr": (
        "Bölgenizde bilinen bir {service} kesintisi var: {message}\n"
        "Tahmini çözüm zamanı: {eta}. Ekiplerimiz çalışıyor; modeminizle bir şey yapmanıza gerek yok. "
        "Hizmet düzeldiğinde size haber vereceğiz."
    ),
    "en": (
        "There is a known {service} outage in your area: {message}\n"
        "Expected fix: {eta}. Our teams are working on it; there is nothing you need to do with your modem. "
        "We will let you know when the service is back."
    ),
}


def is_about_connectivity(text: str, best: Hit | None, min_score: float) -> bool:
    if best is not None and best.score >= min_score and _topic(best.id) in CONNECTIVITY_TOPICS:
        return True
    return bool(_CONNECTIVITY_TEXT.search(fold(text)))


def _topic(article_id: str) -> str:
    return re.sub(r"-(tr|en)$", "", article_id)


def outage_notice(dispatcher: CollectingDispatcher, tracker: Tracker, query: str, hits: Sequence[Hit]) -> list[dict[str, Any]] | None:
    """The events of the outage notice when one applies, else None (the KB answers as usual)."""
    best = hits[0] if hits else None
    if not is_about_connectivity(query, best, services.settings().kb_related_min_score):
        return None
    customers = services.customers()
    customer_id = tracker.get_slot("customer_id") or customers.customer_for_sender(tracker.sender_id)
    profile = customers.customer(customer_id) if customer_id else None
    if profile is None:
        return None
    service = CONNECTIVITY_TOPICS.get(_topic(best.id)) if best is not None else None
    incident = services.incidents().open_incident_for(profile.get("region"), service)
    if incident is None:
        return None
    services.incidents().record_contact(incident.id, profile["id"], tracker.sender_id)
    language = tracker.get_slot("language") or profile.get("language")
    language = "en" if language == "en" else "tr"
    dispatcher.utter_message(
        text=OUTAGE_TEXT[language].format(
            service=SERVICE_NAMES[language][incident.service],
            message=incident.message(language),
            eta=eta_text(incident.eta, language, profile.get("timezone")),
        )
    )
    return [
        SlotSet("kb_query", query),
        SlotSet("kb_article_id", f"incident-{incident.id}"),
        SlotSet("kb_score", None),
        SlotSet("kb_answered", True),
    ]
