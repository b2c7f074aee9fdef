"""Keep a closed handoff's customer question(s) and the agent's answer (called by handoff.service.close)."""

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from language.detect import detect_language
from language.fold import fold
from learning.store import AgentAnswerStore

MAX_QUESTIONS = 3
log = logging.getLogger(__name__)


class HandoffMessages(Protocol):
    """What harvesting needs of handoff.store.HandoffStore (a protocol, so learning does not import handoff back)."""

    url: str  # the support database (storage.database)

    def messages(self, handoff_id: int) -> list[dict[str, Any]]: ...


def questions_of(handoff: Mapping[str, Any], messages: list[dict[str, Any]]) -> list[str]:
    """The question the bot could not answer (context card's last KB query), then what the customer
    wrote before the agent's first reply; duplicates and one-word messages dropped."""
    candidates: list[str] = []
    card = handoff.get("context_card") or {}
    attempts = [a for a in card.get("kb_attempts") or [] if isinstance(a, dict) and a.get("query")]
    if attempts:
        candidates.append(str(attempts[-1]["query"]))
    for message in messages:
        if message["direction"] == "agent":
            break
        if message["direction"] == "customer":
            candidates.append(message["text"])
    seen: set[str] = set()
    kept = []
    for text in candidates:
        key = fold(text).strip(" ?!.")
        if len(key.split()) >= 2 and not text.startswith("/") and key not in seen:
            seen.add(key)
            kept.append(text.strip())
    return kept[:MAX_QUESTIONS]


def keep_answer(store: HandoffMessages, handoff: Mapping[str, Any]) -> bool:
    """True when the handoff had a question and a delivered agent answer, now kept (redacted)."""
    messages = store.messages(int(handoff["id"]))
    answer = "\n\n".join(m["text"] for m in messages if m["direction"] == "agent" and m["status"] == "sent")
    questions = questions_of(handoff, messages)
    if not answer.strip() or not questions:
        return False
    stored = str(handoff.get("language") or "")
    language = stored if stored in ("tr", "en") else detect_language(questions[0]).language or "tr"
    return AgentAnswerStore(store.url).keep(
        int(handoff["id"]),
        handoff["sender_id"],
        handoff["channel"],
        language,
        questions,
        answer,
        handoff.get("agent") or "",
        float(handoff.get("closed_at") or 0.0),
    )


def keep_answer_safely(store: HandoffMessages, handoff: Mapping[str, Any]) -> None:
    """Closing a handoff never fails because of this: a problem is logged and the close goes on."""
    try:
        keep_answer(store, handoff)
    except Exception:
        log.exception("could not keep the answer of handoff %s", handoff.get("id"))
