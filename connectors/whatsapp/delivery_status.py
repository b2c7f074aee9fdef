"""Delivery status of the messages sent to WhatsApp addresses (bot and agent replies, templates,
campaigns), from Twilio's answer to the send and then its status callbacks, which arrive out of
order: a stored status never moves backwards, and a failure is final.
"""

import time
from typing import Any

from storage import schema
from storage.database import Store

# Twilio message statuses in the order a message moves through them. A callback never moves
# a stored status backwards; the last rank (failed, undelivered, canceled) is terminal.
STATUS_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "read": 5,
    "failed": 6,
    "undelivered": 6,
    "canceled": 6,
}


class DeliveryStatuses(Store):
    """The `whatsapp_outbound` table: MessageSid → address, kind (text, template, campaign-…), the furthest status."""

    TABLES = (schema.whatsapp_outbound,)

    def record_sent(self, message_sid: str, address: str, kind: str, status: str) -> None:
        """A message Twilio accepted, with the status it answered."""
        self.update(message_sid, status, address=address, kind=kind)

    def update(self, message_sid: str, status: str, error_code: str = "", address: str | None = None, kind: str = "") -> None:
        """Store a status unless the stored one is further along or terminal (callbacks arrive out of order)."""
        if status not in STATUS_RANK:
            raise ValueError(f"unknown message status {status!r}")
        now = time.time()
        with self._transaction(kept_open=True) as connection:
            connection.execute(
                "INSERT INTO whatsapp_outbound (message_sid, address, kind, status, rank, error_code, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (message_sid) DO UPDATE SET "
                "address = coalesce(whatsapp_outbound.address, excluded.address), "
                "kind = CASE WHEN whatsapp_outbound.kind = '' THEN excluded.kind ELSE whatsapp_outbound.kind END, "
                "status = CASE WHEN excluded.rank > whatsapp_outbound.rank THEN excluded.status ELSE whatsapp_outbound.status END, "
                "error_code = CASE WHEN excluded.rank > whatsapp_outbound.rank THEN excluded.error_code ELSE whatsapp_outbound.error_code END, "
                "updated_at = CASE WHEN excluded.rank > whatsapp_outbound.rank THEN excluded.updated_at ELSE whatsapp_outbound.updated_at END, "
                f"rank = {connection.greatest('whatsapp_outbound.rank', 'excluded.rank')}",
                (message_sid, address, kind, status, STATUS_RANK[status], error_code, now, now),
            )

    def get(self, message_sid: str) -> dict[str, Any] | None:
        """The stored row (status, error_code, address, kind, times), or None for a MessageSid never recorded."""
        with self._transaction(kept_open=True) as connection:
            row = connection.execute("SELECT * FROM whatsapp_outbound WHERE message_sid = ?", (message_sid,)).fetchone()
        return dict(row) if row else None
