"""WhatsApp's 24-hour customer service window: free text may go to an address only within 24 hours
of the customer's last message (ServiceWindows); outside it a text waits (HeldTexts) while an
approved template invites the customer back, and goes out when they write.

Both keep one connection per thread open on SQLite (`kept_open`), like the inbound log: they are
written on the path of every inbound message.
"""

import time
from typing import Any

from storage import schema
from storage.database import Store

WINDOW_SECONDS = 24 * 3600


class ServiceWindows(Store):
    """The `whatsapp_window` table: each address's last inbound message and the profile name it gave."""

    TABLES = (schema.whatsapp_window,)

    def touch(self, address: str, profile_name: str = "", at: float | None = None) -> None:
        """The customer wrote (at `at`, default now): the window reopens; an older webhook arriving late moves nothing back."""
        with self._transaction(kept_open=True) as connection:
            connection.execute(
                "INSERT INTO whatsapp_window (address, last_inbound, profile_name) VALUES (?, ?, ?) "
                "ON CONFLICT (address) DO UPDATE SET "
                f"last_inbound = {connection.greatest('whatsapp_window.last_inbound', 'excluded.last_inbound')}, "
                "profile_name = CASE WHEN excluded.profile_name != '' THEN excluded.profile_name ELSE whatsapp_window.profile_name END",
                (address, time.time() if at is None else at, profile_name),
            )

    def get(self, address: str) -> dict[str, Any] | None:
        """{"last_inbound", "profile_name", "closes_at"} or None if the customer never wrote."""
        with self._transaction(kept_open=True) as connection:
            row = connection.execute("SELECT last_inbound, profile_name FROM whatsapp_window WHERE address = ?", (address,)).fetchone()
        if row is None:
            return None
        return {"last_inbound": row["last_inbound"], "profile_name": row["profile_name"], "closes_at": row["last_inbound"] + WINDOW_SECONDS}

    def is_open(self, address: str, now: float | None = None) -> bool:
        window = self.get(address)
        return window is not None and (time.time() if now is None else now) < window["closes_at"]


class HeldTexts(Store):
    """The `whatsapp_pending` table: texts held back while an address's window is closed, in order."""

    TABLES = (schema.whatsapp_pending,)

    def hold(self, address: str, text: str) -> int:
        """Queue a text for when the customer writes again; returns how many were queued before it."""
        with self._transaction(write=True, kept_open=True) as connection:
            before = connection.execute("SELECT count(*) FROM whatsapp_pending WHERE address = ?", (address,)).scalar()
            connection.execute("INSERT INTO whatsapp_pending (address, text, created_at) VALUES (?, ?, ?)", (address, text, time.time()))
        return int(before)

    def release(self, address: str) -> list[str]:
        """The held texts, oldest first, taken out of the queue."""
        with self._transaction(write=True, kept_open=True) as connection:
            rows = connection.execute(
                "SELECT id, text FROM whatsapp_pending WHERE address = ? ORDER BY id" + connection.for_update(), (address,)
            ).fetchall()
            connection.execute("DELETE FROM whatsapp_pending WHERE address = ?", (address,))
        return [row["text"] for row in rows]
