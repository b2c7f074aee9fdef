"""The context card an agent sees with a handoff: every channel's transcript (redacted),
what the bot understood, the KB articles it tried, the customer's profile, orders and cart,
a mood trend, why the handoff happened and a short rule-written summary.

`build_card` is pure (tracker events in, JSON-ready dict out); `collect_card` gathers the
inputs (this conversation's events, the customer's other conversations through the Rasa
HTTP API, customer_store) and `refresh_card` rebuilds and stores it for an existing handoff.
"""

import logging
import re
import time
from collections.abc import Sequence
from typing import Any

from customer_store.store import CustomerStore
from handoff.mood import anger_score
from handoff.rasa_client import RasaClient, RasaUnavailable
from handoff.settings import HandoffSettings, load
from handoff.store import HandoffStore
from privacy.redaction import redact_value

logger = logging.getLogger(__name__)

Transcript = tuple[str, str, Sequence[dict[str, Any]]]  # (sender_id, channel, tracker events)
HIDDEN_ACTIONS = ("action_listen", "action_session_start", "action_extract_slots")
REASONS = {
    "customer_asked": "customer asked for a person",
    "low_confidence": "the bot did not understand twice in a row",
    "kb_no_answer": "the knowledge base had no answer and the customer insisted",
    "downvotes": "the customer rated answers 👎 twice",
    "anger": "the customer is upset",
    "always_human": "topic always handled by a person",
}
LANGUAGES = {"tr": "Turkish", "en": "English"}
_NUMBER = re.compile(r"(?<![\w])\d{5,8}(?![\w])")
# A number counts as an order number after an order word ("sipariş 12345", "order #12345",
# "12345 numaralı sipariş"), or when it is one of the customer's orders; a bare number may be
# a one-time code that the redactor had no code word to recognise.
_ORDER_MENTION = re.compile(
    r"(?i)(?:sipari[sş]\w*|order\w*)\s*(?:no\.?|numaras[ıi]|number|id)?\s*[:#]?\s*(\d{5,8})(?![\w])"
    r"|(?<![\w])(\d{5,8})\s*(?:numaral[ıi]\s+)?(?:sipari[sş]|order)"
)


def build_card(
    handoff: dict[str, Any],
    transcripts: Sequence[Transcript],
    *,
    profile: dict[str, Any] | None = None,
    orders: Sequence[dict[str, Any]] = (),
    cart: dict[str, Any] | None = None,
    settings: HandoffSettings | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    settings = settings or load()
    turns: list[dict[str, Any]] = []
    for sender_id, channel, events in transcripts:
        turns += _turns(sender_id, channel, events)
    turns.sort(key=lambda turn: turn.get("time") or 0)
    turns = redact_value(turns)  # before anything below cuts, scores or reads numbers from the text
    attempts = _kb_attempts(turns)
    mood: list[dict[str, Any]] = [
        {"time": t.get("time"), "score": anger_score(t["text"], settings)} for t in turns if t["role"] == "customer"
    ]
    card = {
        "handoff_id": handoff.get("id"),
        "sender_id": handoff.get("sender_id"),
        "customer_id": handoff.get("customer_id"),
        "channel": handoff.get("channel"),
        "language": handoff.get("language"),
        "reason": handoff.get("reason"),
        "reason_detail": handoff.get("reason_detail", ""),
        "priority": handoff.get("priority"),
        "created_at": handoff.get("created_at"),
        "built_at": now or time.time(),
        "channels": [{"sender_id": sender_id, "channel": channel} for sender_id, channel, _ in transcripts],
        "customer": _profile(profile),
        "recent_orders": list(orders),
        "cart": cart,
        "transcript": turns,
        "kb_attempts": attempts,
        "mood": mood,
        "mood_trend": _trend([m["score"] for m in mood]),
    }
    card["summary"] = summary(card)
    return redact_value(card)


def _profile(profile: dict[str, Any] | None) -> dict[str, Any] | None:
    if not profile:
        return None
    return {key: profile.get(key) for key in ("id", "name", "email", "phone", "language", "region", "plan", "timezone")}


def _turns(sender_id: str, channel: str, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Customer and bot messages, each customer turn with the intent, confidence and entities,
    each bot action with the slots it set."""
    turns: list[dict[str, Any]] = []
    last_action: dict[str, Any] | None = None
    for event in events:
        kind = event.get("event")
        base = {"sender_id": sender_id, "channel": channel, "time": event.get("timestamp")}
        if kind == "user":
            parse = event.get("parse_data") or {}
            intent = parse.get("intent") or {}
            if str(intent.get("name", "")).startswith("EXTERNAL_"):
                continue
            entities = [
                {"entity": e.get("entity"), "value": e.get("value")} for e in parse.get("entities") or [] if e.get("entity") != "language"
            ]
            turns.append(
                {
                    **base,
                    "role": "customer",
                    "text": event.get("text") or "",
                    "intent": intent.get("name"),
                    "confidence": round(float(intent.get("confidence") or 0), 3),
                    "entities": entities,
                }
            )
            last_action = None
        elif kind == "action" and event.get("name") not in HIDDEN_ACTIONS:
            last_action = {**base, "role": "action", "name": event.get("name"), "slots": {}}
            turns.append(last_action)
        elif kind == "slot" and last_action is not None:
            last_action["slots"][event.get("name")] = event.get("value")
        elif kind == "bot":
            agent = last_action is not None and last_action.get("name") == "action_relay_agent_message"
            turns.append({**base, "role": "agent" if agent else "bot", "text": event.get("text") or ""})
    return turns


def _kb_attempts(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each KB search: the query, the article chosen (if any), the candidates with scores,
    and the customer's 👍/👎 on it."""
    attempts: list[dict[str, Any]] = []
    for turn in turns:
        slots = turn.get("slots") or {}
        if turn.get("name") == "action_answer_from_kb" and "kb_answered" in slots:
            attempts.append(
                {
                    "query": slots.get("kb_query"),
                    "answered": bool(slots.get("kb_answered")),
                    "article_id": slots.get("kb_article_id"),
                    "score": slots.get("kb_score"),
                    "candidates": slots.get("kb_candidates") or [],
                    "feedback": None,
                }
            )
        elif turn.get("name") == "action_record_feedback" and attempts:
            attempts[-1]["feedback"] = slots.get("kb_feedback")
    return attempts


def _trend(scores: list[float]) -> str:
    if len(scores) < 2:
        return "upset" if scores and scores[-1] >= 0.7 else "calm"
    half = max(1, len(scores) // 2)
    early, late = sum(scores[:half]) / half, sum(scores[half:]) / len(scores[half:])
    if late - early >= 0.2:
        return "rising"
    if early - late >= 0.2:
        return "falling"
    return "upset" if late >= 0.7 else "steady"


def summary(card: dict[str, Any]) -> str:
    """One or two sentences for the inbox list, e.g. 'Asked about “refund for order 12345”
    in Turkish; 2 articles did not help; customer frustrated. Handed over: …'."""
    customer_turns = [t for t in card["transcript"] if t["role"] == "customer" and not t["text"].startswith("/")]
    attempts = card["kb_attempts"]
    question = next((a["query"] for a in reversed(attempts) if a.get("query")), None)
    if question is None and customer_turns:
        question = customer_turns[0]["text"]
    language = LANGUAGES.get(card.get("language") or "", card.get("language") or "an unknown language")
    parts = [f"Asked about “{_short(question)}” in {language}" if question else f"Wrote in {language}"]
    failed = [a for a in attempts if not a["answered"] or a.get("feedback") == "down"]
    if failed:
        parts.append(f"{len(failed)} article{'s' if len(failed) != 1 else ''} did not help")
    orders = sorted({n for t in customer_turns for n in _order_numbers(t["text"], card.get("recent_orders") or [])})
    if orders:
        parts.append("mentions order " + ", ".join(orders))
    if len(card["channels"]) > 1:
        parts.append("wrote on " + " and ".join(sorted({c["channel"] for c in card["channels"]})))
    mood = card["mood"][-1]["score"] if card["mood"] else 0
    parts.append("customer frustrated" if mood >= 0.7 or card["mood_trend"] in ("rising", "upset") else "customer calm")
    reason = REASONS.get(card.get("reason") or "", card.get("reason") or "")
    detail = f" ({card['reason_detail']})" if card.get("reason_detail") else ""
    return "; ".join(parts) + f". Handed over: {reason}{detail}."


def _order_numbers(text: str, known_orders: Sequence[dict[str, Any]]) -> list[str]:
    """Order numbers the (redacted) text mentions: after an order word, or known as the customer's."""
    known = {str(order.get("order_id")) for order in known_orders}
    mentioned = [first or second for first, second in _ORDER_MENTION.findall(text)]
    return mentioned + [number for number in _NUMBER.findall(text) if number in known]


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def collect_card(
    handoff: dict[str, Any],
    customers: CustomerStore,
    rasa: RasaClient | None,
    current_events: Sequence[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The card from this conversation (its events, or fetched) and the customer's other
    conversations (fetched through the Rasa HTTP API; one that cannot be read is skipped)."""
    sender_id, customer_id = handoff["sender_id"], handoff.get("customer_id")
    conversations = [(sender_id, handoff["channel"])]
    if customer_id:
        conversations += [(c["sender_id"], c["channel"]) for c in customers.conversations(customer_id) if c["sender_id"] != sender_id]
    transcripts: list[Transcript] = []
    for other_sender, channel in conversations:
        if other_sender == sender_id and current_events is not None:
            transcripts.append((sender_id, channel, list(current_events)))
            continue
        if rasa is None:
            continue
        try:
            transcripts.append((other_sender, channel, rasa.tracker_events(other_sender)))
        except RasaUnavailable as error:
            logger.warning("context card of handoff %s: %s", handoff.get("id"), error)
    profile = customers.customer(customer_id) if customer_id else None
    orders = customers.recent_orders(customer_id) if customer_id else []
    # Carts belong to the customer id, or to an anonymous web visitor's "anon-…" subject; no
    # other sender (a REST id such as "rest:web:cust-ayse", a WhatsApp address) has a cart.
    subject = customer_id or (sender_id.removeprefix("web:") if sender_id.startswith("web:") else None)
    cart = customers.cart(subject) if subject else None
    return build_card(handoff, transcripts, profile=profile, orders=orders, cart=cart)


def refresh_card(store: HandoffStore, customers: CustomerStore, rasa: RasaClient, handoff_id: int) -> dict[str, Any]:
    """Rebuild a handoff's card from the current trackers and store it (the inbox's refresh)."""
    card = collect_card(store.require(handoff_id), customers, rasa)
    store.set_context_card(handoff_id, card)
    return card
