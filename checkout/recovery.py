"""Checkout nudges (the bot's offer, WhatsApp cart reminders) and the carts they recovered.

Tables `checkout_nudges` and `recovered_carts` in the support database (owner: this module).
A cart counts as recovered when an order is completed after the bot's offer or after a
reminder that was actually sent, within RECOVERY_WINDOW_S of the nudge; each nudge counts for
one order at most.
"""

import time
from pathlib import Path
from typing import Any

from storage import schema
from storage.database import Store

RECOVERY_WINDOW_S = 7 * 24 * 3600


class CheckoutRecovery(Store):
    TABLES = (schema.checkout_nudges, schema.recovered_carts)

    def record_prompt(self, subject: str, customer_id: str | None) -> None:
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO checkout_nudges (subject, customer_id, kind, created_at) VALUES (?, ?, 'prompt', ?)",
                (subject, customer_id, time.time()),
            )

    def record_reminder(self, subject: str, customer_id: str, dedup_key: str, send_at: float) -> None:
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO checkout_nudges (subject, customer_id, kind, dedup_key, send_at, created_at) VALUES (?, ?, 'reminder', ?, ?, ?)",
                (subject, customer_id, dedup_key, send_at, time.time()),
            )

    def pending_reminder(self, subject: str) -> dict[str, Any] | None:
        """The subject's scheduled reminder that is neither cancelled nor used by an order yet."""
        with self._transaction() as connection:
            row = connection.execute(
                "SELECT * FROM checkout_nudges WHERE subject = ? AND kind = 'reminder' AND cancelled_at IS NULL AND closed_at IS NULL "
                "ORDER BY id DESC LIMIT 1",
                (subject,),
            ).fetchone()
        return dict(row) if row else None

    def mark_cancelled(self, nudge_id: int) -> None:
        with self._transaction() as connection:
            connection.execute("UPDATE checkout_nudges SET cancelled_at = ? WHERE id = ?", (time.time(), nudge_id))

    def order_placed(self, subject: str, customer_id: str | None, order_id: str, total_kurus: int) -> str | None:
        """Close the subject's open nudges; when any of them reached the customer, count the cart as
        recovered and return how ("prompt", "reminder" or "prompt+reminder"), else None."""
        now = time.time()
        with self._transaction() as connection:
            rows = connection.execute(
                "SELECT id, kind FROM checkout_nudges WHERE subject = ? AND closed_at IS NULL AND cancelled_at IS NULL AND created_at >= ?",
                (subject, now - RECOVERY_WINDOW_S),
            ).fetchall()
            connection.execute("UPDATE checkout_nudges SET closed_at = ? WHERE subject = ? AND closed_at IS NULL", (now, subject))
            kinds = sorted({row["kind"] for row in rows})
            if not kinds:
                return None
            via = "+".join(kinds)
            connection.execute(
                "INSERT INTO recovered_carts (order_id, subject, customer_id, via, total_kurus, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (order_id, subject, customer_id, via, total_kurus, now),
            )
        return via

    def reminders(self, subject: str) -> list[dict[str, Any]]:
        """Every reminder scheduled for the subject, oldest first."""
        with self._transaction() as connection:
            rows = connection.execute("SELECT * FROM checkout_nudges WHERE subject = ? AND kind = 'reminder' ORDER BY id", (subject,))
            return [dict(row) for row in rows]

    def recovered(self) -> list[dict[str, Any]]:
        with self._transaction() as connection:
            return [dict(row) for row in connection.execute("SELECT * FROM recovered_carts ORDER BY created_at")]


def recovered_carts_summary(path: Path, since: float = 0.0) -> dict[str, Any]:
    """For the dashboard: recovered carts since a time, their value, and how they were recovered."""
    carts = [cart for cart in CheckoutRecovery(path).recovered() if cart["created_at"] >= since]
    by_via: dict[str, int] = {}
    for cart in carts:
        by_via[cart["via"]] = by_via.get(cart["via"], 0) + 1
    return {"recovered_carts": len(carts), "recovered_kurus": sum(cart["total_kurus"] for cart in carts), "by_via": by_via}
