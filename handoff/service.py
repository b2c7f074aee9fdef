"""What the agent inbox calls: claim, reply, transfer, close (docs/interfaces.md).

A reply is stored first, then sent to the customer through Rasa (trigger_intent
EXTERNAL_agent_message with output_channel=latest, so it reaches the customer's own channel:
web chat, WhatsApp with its 24-hour rule, or the REST tracker); the stored message is marked
sent, or failed with the error when Rasa is down. Closing triggers EXTERNAL_handoff_closed,
after which the bot is back and asks for a CSAT rating.

The stored copy is redacted (handoff.store, and the tracker store: bot/tracker_store.py), the
customer gets the text as the agent wrote it: what the checksums catch in an agent's reply is
mostly what the customer needs verbatim (the company's IBAN for a transfer, a cargo tracking or
return code next to "kod"), while a customer's own card number is never asked for.
"""

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from customer_store.store import CustomerStore
from handoff.context_card import refresh_card
from handoff.rasa_client import RasaClient, RasaUnavailable
from handoff.store import HandoffError, HandoffStore
from learning.harvest import keep_answer_safely
from settings.model import Settings, get_settings

MAX_REPLY_CHARS = 4000


@dataclass(frozen=True)
class HandoffService:
    store: HandoffStore
    rasa: RasaClient
    customers: CustomerStore

    @classmethod
    def configured(cls, settings: Settings) -> "HandoffService":
        database = settings.storage.database()
        return cls(HandoffStore(database), RasaClient.configured(settings), CustomerStore(database))

    def claim(self, handoff_id: int, agent: str) -> dict[str, Any]:
        """The agent takes a queued handoff; from now on the customer's messages go only to them."""
        return self.store.claim(handoff_id, _agent(agent))

    def reply(self, handoff_id: int, agent: str, text: str) -> dict[str, Any]:
        """Store the agent's message and deliver it; returns the stored message with status
        sent or failed (and the error). Raises HandoffError when the agent may not reply."""
        text = text.strip()
        if not text:
            raise HandoffError("field 'text': empty reply")
        if len(text) > MAX_REPLY_CHARS:
            raise HandoffError(f"field 'text': {len(text)} characters, at most {MAX_REPLY_CHARS}")
        handoff = self.store.require(handoff_id)
        if handoff["status"] != "assigned" or handoff["agent"] != agent:
            raise HandoffError(f"handoff {handoff_id} is {handoff['status']} ({handoff['agent'] or 'nobody'}); claim it before replying")
        message_id = self.store.add_message(handoff_id, "agent", agent, text, status="pending")
        try:
            self.rasa.trigger_intent(handoff["sender_id"], "EXTERNAL_agent_message", {"agent_text": text})
        except RasaUnavailable as error:
            self.store.set_message_status(message_id, "failed", str(error))
        else:
            self.store.set_message_status(message_id, "sent")
        return next(m for m in self.store.messages(handoff_id) if m["id"] == message_id)

    def transfer(self, handoff_id: int, from_agent: str, to_agent: str) -> dict[str, Any]:
        return self.store.transfer(handoff_id, from_agent, _agent(to_agent))

    def close(self, handoff_id: int, agent: str) -> dict[str, Any]:
        """Close the handoff and give the conversation back to the bot (which asks for CSAT).
        The handoff is closed even when Rasa is down; `notified` and `error` say whether the
        customer's conversation was told."""
        handoff = self.store.close(handoff_id, agent)
        keep_answer_safely(self.store, handoff)  # the agent's answer becomes a KB suggestion (learning/)
        try:
            self.rasa.trigger_intent(handoff["sender_id"], "EXTERNAL_handoff_closed", {})
        except RasaUnavailable as error:
            self.store.add_message(handoff_id, "system", agent, f"closing not delivered to the bot: {error}")
            return {**handoff, "notified": False, "error": str(error)}
        return {**handoff, "notified": True, "error": ""}

    def refresh_card(self, handoff_id: int) -> dict[str, Any]:
        return refresh_card(self.store, self.customers, self.rasa, handoff_id)


def _agent(name: str) -> str:
    if not name or not name.strip():
        raise HandoffError("field 'agent': empty")
    return name.strip()


@lru_cache(maxsize=1)
def default_service() -> HandoffService:
    """The service configured from the settings (created on first use)."""
    return HandoffService.configured(get_settings())


def claim(handoff_id: int, agent: str) -> dict[str, Any]:
    return default_service().claim(handoff_id, agent)


def reply(handoff_id: int, agent: str, text: str) -> dict[str, Any]:
    return default_service().reply(handoff_id, agent, text)


def transfer(handoff_id: int, from_agent: str, to_agent: str) -> dict[str, Any]:
    return default_service().transfer(handoff_id, from_agent, to_agent)


def close(handoff_id: int, agent: str) -> dict[str, Any]:
    return default_service().close(handoff_id, agent)
