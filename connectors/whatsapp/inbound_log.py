"""The inbound log: every WhatsApp webhook received, so that each MessageSid is handled once (a
Twilio retry or duplicate is dropped, even across restarts) and what was acknowledged but never
handled (the server stopped in between) is replayed at the next start.

Customer text is stored redacted (a replay never needs a card number); ids such as MessageSid stay
exact for the replay. On SQLite one connection per thread, kept open (`kept_open`): the
acknowledgement path writes here, and opening a connection costs several system calls, each a
chance to lose the GIL to the bot's thread.
"""

import json
import time

from privacy.redaction import redact
from storage import schema
from storage.database import Store

CUSTOMER_TEXT_FIELDS = ("Body", "ButtonText")  # Twilio's fields that carry what the customer typed


def _redacted(params: dict[str, str]) -> dict[str, str]:
    """Only the customer's text: ids such as MessageSid must stay exact for the replay."""
    return {name: redact(value) if name in CUSTOMER_TEXT_FIELDS else value for name, value in params.items()}


class InboundLog(Store):
    """The `whatsapp_inbound` table: MessageSid → the webhook's fields, when it came and when it was handled."""

    TABLES = (schema.whatsapp_inbound,)

    def claim(self, message_sid: str, address: str, params: dict[str, str]) -> bool:
        """Store the webhook (its text redacted); False when this MessageSid was seen before (a retry or a duplicate)."""
        with self._transaction(kept_open=True) as connection:
            inserted = connection.execute(
                "INSERT INTO whatsapp_inbound (message_sid, address, params, received_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (message_sid, address, json.dumps(_redacted(params), ensure_ascii=False), time.time()),
            )
        return inserted.rowcount == 1

    def mark_handled(self, message_sid: str) -> None:
        with self._transaction(kept_open=True) as connection:
            connection.execute("UPDATE whatsapp_inbound SET handled_at = ? WHERE message_sid = ?", (time.time(), message_sid))

    def unhandled(self) -> list[dict[str, str]]:
        """Webhooks acknowledged but not processed (the server stopped in between), oldest first."""
        with self._transaction(kept_open=True) as connection:
            rows = connection.execute("SELECT params FROM whatsapp_inbound WHERE handled_at IS NULL ORDER BY received_at").fetchall()
        return [json.loads(row["params"]) for row in rows]
