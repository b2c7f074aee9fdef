"""What the WhatsApp channel must remember across restarts, in the support database (storage.database):
inbound MessageSids (deduplication and replay), each address's 24-hour window, the numbered
options last shown, texts held back until a closed window reopens, and delivery statuses.

Runs inside the Rasa server (Python 3.10, SQLAlchemy 1.4): only the database layer's Core API common to 1.4 and 2.0.
"""

import json
import time
from contextlib import AbstractContextManager
from typing import Any

from privacy.redaction import redact
from storage import schema
from storage.database import Connection, Database, create_tables, sqlite_path, transaction, url_of

WINDOW_SECONDS = 24 * 3600

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

CUSTOMER_TEXT_FIELDS = ("Body", "ButtonText")  # Twilio's fields that carry what the customer typed


def _redacted(params: dict[str, str]) -> dict[str, str]:
    """Only the customer's text: ids such as MessageSid must stay exact for the replay."""
    return {name: redact(value) if name in CUSTOMER_TEXT_FIELDS else value for name, value in params.items()}


class WhatsAppState:
    """On SQLite, one connection per thread, kept open (`kept_open`): the acknowledgement path writes here, and
    opening a connection costs several system calls, each a chance to lose the GIL to the bot's thread."""

    TABLES = (schema.whatsapp_inbound, schema.whatsapp_window, schema.whatsapp_choices, schema.whatsapp_pending, schema.whatsapp_outbound)

    def __init__(self, database: Database) -> None:
        self.url = url_of(database)
        self.path = sqlite_path(database)
        create_tables(self.url, self.TABLES)

    def _connection(self, write: bool = False) -> AbstractContextManager[Connection]:
        return transaction(self.url, write, kept_open=True)

    # inbound messages: each MessageSid is handled once, even across restarts

    def claim_inbound(self, message_sid: str, address: str, params: dict[str, str]) -> bool:
        """Store the webhook (its text redacted: a replay never needs a card number); False when
        this MessageSid was seen before (a retry or a duplicate)."""
        with self._connection() as connection:
            inserted = connection.execute(
                "INSERT INTO whatsapp_inbound (message_sid, address, params, received_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (message_sid, address, json.dumps(_redacted(params), ensure_ascii=False), time.time()),
            )
        return inserted.rowcount == 1

    def mark_handled(self, message_sid: str) -> None:
        with self._connection() as connection:
            connection.execute("UPDATE whatsapp_inbound SET handled_at = ? WHERE message_sid = ?", (time.time(), message_sid))

    def unhandled(self) -> list[dict[str, str]]:
        """Webhooks acknowledged but not processed (the server stopped in between), oldest first."""
        with self._connection() as connection:
            rows = connection.execute("SELECT params FROM whatsapp_inbound WHERE handled_at IS NULL ORDER BY received_at").fetchall()
        return [json.loads(row["params"]) for row in rows]

    # the 24-hour customer service window

    def touch_window(self, address: str, profile_name: str = "", at: float | None = None) -> None:
        with self._connection() as connection:
            connection.execute(
                "INSERT INTO whatsapp_window (address, last_inbound, profile_name) VALUES (?, ?, ?) "
                "ON CONFLICT (address) DO UPDATE SET "
                f"last_inbound = {connection.greatest('whatsapp_window.last_inbound', 'excluded.last_inbound')}, "
                "profile_name = CASE WHEN excluded.profile_name != '' THEN excluded.profile_name ELSE whatsapp_window.profile_name END",
                (address, time.time() if at is None else at, profile_name),
            )

    def window(self, address: str) -> dict[str, Any] | None:
        """{"last_inbound", "profile_name", "closes_at"} or None if the customer never wrote."""
        with self._connection() as connection:
            row = connection.execute("SELECT last_inbound, profile_name FROM whatsapp_window WHERE address = ?", (address,)).fetchone()
        if row is None:
            return None
        return {"last_inbound": row["last_inbound"], "profile_name": row["profile_name"], "closes_at": row["last_inbound"] + WINDOW_SECONDS}

    def window_open(self, address: str, now: float | None = None) -> bool:
        window = self.window(address)
        return window is not None and (time.time() if now is None else now) < window["closes_at"]

    # numbered options: valid for the customer's next message only

    def set_choices(self, address: str, payloads: list[str]) -> None:
        with self._connection() as connection:
            connection.execute(
                "INSERT INTO whatsapp_choices (address, payloads, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (address) DO UPDATE SET payloads = excluded.payloads, created_at = excluded.created_at",
                (address, json.dumps(payloads, ensure_ascii=False), time.time()),
            )

    def take_choices(self, address: str) -> list[str]:
        with self._connection(write=True) as connection:
            row = connection.execute(
                "SELECT payloads FROM whatsapp_choices WHERE address = ?" + connection.for_update(), (address,)
            ).fetchone()
            connection.execute("DELETE FROM whatsapp_choices WHERE address = ?", (address,))
        return json.loads(row["payloads"]) if row else []

    # texts held back while the window is closed

    def hold(self, address: str, text: str) -> int:
        """Queue a text for when the customer writes again; returns how many were queued before it."""
        with self._connection(write=True) as connection:
            before = connection.execute("SELECT count(*) FROM whatsapp_pending WHERE address = ?", (address,)).scalar()
            connection.execute("INSERT INTO whatsapp_pending (address, text, created_at) VALUES (?, ?, ?)", (address, text, time.time()))
        return int(before)

    def release(self, address: str) -> list[str]:
        with self._connection(write=True) as connection:
            rows = connection.execute(
                "SELECT id, text FROM whatsapp_pending WHERE address = ? ORDER BY id" + connection.for_update(), (address,)
            ).fetchall()
            connection.execute("DELETE FROM whatsapp_pending WHERE address = ?", (address,))
        return [row["text"] for row in rows]

    # outbound messages and their delivery status

    def record_outbound(self, message_sid: str, address: str, kind: str, status: str) -> None:
        self.update_status(message_sid, status, address=address, kind=kind)

    def update_status(self, message_sid: str, status: str, error_code: str = "", address: str | None = None, kind: str = "") -> None:
        """Store a status unless the stored one is further along or terminal (callbacks arrive out of order)."""
        if status not in STATUS_RANK:
            raise ValueError(f"unknown message status {status!r}")
        now = time.time()
        with self._connection() as connection:
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

    def outbound(self, message_sid: str) -> dict[str, Any] | None:
        with self._connection() as connection:
            row = connection.execute("SELECT * FROM whatsapp_outbound WHERE message_sid = ?", (message_sid,)).fetchone()
        return dict(row) if row else None
