"""The numbered options last shown to a WhatsApp address (buttons become "1. …" lines, text.py):
stored when shown, taken by the customer's next message, whose answer "2" means the second payload.
"""

import json
import time

from storage import schema
from storage.database import Store


class OfferedChoices(Store):
    """The `whatsapp_choices` table: address → the payloads of the options last shown, in order."""

    TABLES = (schema.whatsapp_choices,)

    def offer(self, address: str, payloads: list[str]) -> None:
        """Replace what was offered before: only the last message's options count."""
        with self._transaction(kept_open=True) as connection:
            connection.execute(
                "INSERT INTO whatsapp_choices (address, payloads, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (address) DO UPDATE SET payloads = excluded.payloads, created_at = excluded.created_at",
                (address, json.dumps(payloads, ensure_ascii=False), time.time()),
            )

    def take(self, address: str) -> list[str]:
        """The offered payloads, removed: they are valid for the customer's next message only."""
        with self._transaction(write=True, kept_open=True) as connection:
            row = connection.execute(
                "SELECT payloads FROM whatsapp_choices WHERE address = ?" + connection.for_update(), (address,)
            ).fetchone()
            connection.execute("DELETE FROM whatsapp_choices WHERE address = ?", (address,))
        return json.loads(row["payloads"]) if row else []
