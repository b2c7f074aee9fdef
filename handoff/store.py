"""The handoff tables in the support database (DESTEK_DB): handoffs, handoff_messages,
reply_templates, csat_ratings. Other parts read them through these methods only.

One short-lived unit of work per call (storage.database: SQLite or PostgreSQL), so the action server's threads
and the support app can share the file.
"""

import builtins
import json
import statistics
import time
from typing import Any

from cluster.inbox_feed import notify_inbox
from privacy.redaction import redact, redact_value
from storage import schema
from storage.database import Row, Store

OPEN = ("queued", "assigned")
FOLLOWUPS = ("callback", "email")


class HandoffError(ValueError):
    """A handoff operation that is not allowed now; the message says why."""


class HandoffStore(Store):
    TABLES = (schema.handoffs, schema.handoff_messages, schema.reply_templates, schema.csat_ratings)

    # --- handoffs -------------------------------------------------------------------
    def create(
        self,
        sender_id: str,
        channel: str,
        reason: str,
        priority: int,
        *,
        customer_id: str | None = None,
        language: str | None = None,
        reason_detail: str = "",
        out_of_hours: bool = False,
        now: float | None = None,
    ) -> dict[str, Any]:
        """A new queued handoff, or the sender's open one (never two at once)."""
        with self._transaction(write=True) as connection:
            connection.lock_key(f"handoff:{sender_id}")  # never two open handoffs for one sender, on any engine
            row = connection.execute(
                "SELECT * FROM handoffs WHERE sender_id = ? AND status IN ('queued', 'assigned') ORDER BY id DESC LIMIT 1", (sender_id,)
            ).fetchone()
            if row is not None:
                return _handoff(row)
            handoff_id = connection.insert_id(
                "INSERT INTO handoffs (sender_id, customer_id, channel, language, reason, reason_detail, priority, status, out_of_hours, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
                (sender_id, customer_id, channel, language, reason, redact(reason_detail), priority, int(out_of_hours), now or time.time()),
            )
        notify_inbox()
        assert handoff_id is not None  # an INSERT always sets it
        return self.require(int(handoff_id))

    def get(self, handoff_id: int) -> dict[str, Any] | None:
        with self._transaction() as connection:
            row = connection.execute("SELECT * FROM handoffs WHERE id = ?", (handoff_id,)).fetchone()
        return _handoff(row) if row else None

    def require(self, handoff_id: int) -> dict[str, Any]:
        handoff = self.get(handoff_id)
        if handoff is None:
            raise HandoffError(f"no handoff with id {handoff_id}")
        return handoff

    def open_for_sender(self, sender_id: str) -> dict[str, Any] | None:
        with self._transaction() as connection:
            row = connection.execute(
                "SELECT * FROM handoffs WHERE sender_id = ? AND status IN ('queued', 'assigned') ORDER BY id DESC LIMIT 1", (sender_id,)
            ).fetchone()
        return _handoff(row) if row else None

    def list(self, statuses: tuple = OPEN, limit: int = 200) -> list[dict[str, Any]]:
        """Handoffs with these statuses: highest priority first, then oldest first."""
        marks = ", ".join("?" for _ in statuses)
        with self._transaction() as connection:
            rows = connection.execute(
                f"SELECT * FROM handoffs WHERE status IN ({marks}) ORDER BY priority DESC, created_at, id LIMIT ?", (*statuses, limit)
            ).fetchall()
        return [_handoff(row) for row in rows]

    def position(self, handoff_id: int) -> int:
        """1-based place in the queue (0 when not queued)."""
        with self._transaction() as connection:
            row = connection.execute(
                "SELECT (SELECT COUNT(*) FROM handoffs o WHERE o.status = 'queued' AND "
                "(o.priority > h.priority OR (o.priority = h.priority AND (o.created_at < h.created_at "
                "OR (o.created_at = h.created_at AND o.id <= h.id))))) AS place "
                "FROM handoffs h WHERE h.id = ? AND h.status = 'queued'",
                (handoff_id,),
            ).fetchone()
        return int(row["place"]) if row else 0

    def claim(self, handoff_id: int, agent: str, now: float | None = None) -> dict[str, Any]:
        self._transition(handoff_id, ("queued",), "assigned", "cannot claim it", agent=agent, claimed_at=now or time.time())
        return self.require(handoff_id)

    def transfer(self, handoff_id: int, from_agent: str, to_agent: str) -> dict[str, Any]:
        if not to_agent.strip():
            raise HandoffError("field 'to_agent': empty")
        handoff = self.require(handoff_id)
        if handoff["status"] != "assigned" or handoff["agent"] != from_agent:
            raise HandoffError(f"handoff {handoff_id} is not assigned to {from_agent!r}; cannot transfer it")
        self._transition(handoff_id, ("assigned",), "assigned", "cannot transfer it", agent=to_agent)
        self.add_message(handoff_id, "system", from_agent, f"transferred from {from_agent} to {to_agent}")
        return self.require(handoff_id)

    def close(self, handoff_id: int, agent: str, now: float | None = None) -> dict[str, Any]:
        handoff = self.require(handoff_id)
        if handoff["status"] == "assigned" and handoff["agent"] != agent:
            raise HandoffError(f"handoff {handoff_id} is assigned to {handoff['agent']!r}, not {agent!r}; cannot close it")
        self._transition(handoff_id, OPEN, "closed", "cannot close it", closed_at=now or time.time(), agent=handoff["agent"] or agent)
        return self.require(handoff_id)

    def cancel(self, handoff_id: int) -> dict[str, Any]:
        """The customer withdrew the request (only while queued)."""
        self._transition(handoff_id, ("queued",), "cancelled", "cannot cancel it", closed_at=time.time())
        return self.require(handoff_id)

    def set_followup(self, handoff_id: int, followup: str) -> None:
        if followup not in FOLLOWUPS:
            raise HandoffError(f"field 'followup': {followup!r} is not one of {', '.join(FOLLOWUPS)}")
        with self._transaction() as connection:
            connection.execute("UPDATE handoffs SET followup = ? WHERE id = ?", (followup, handoff_id))

    def set_context_card(self, handoff_id: int, card: dict[str, Any]) -> None:
        with self._transaction() as connection:
            connection.execute(
                "UPDATE handoffs SET context_card = ? WHERE id = ?", (json.dumps(redact_value(card), ensure_ascii=False), handoff_id)
            )

    def _transition(self, handoff_id: int, allowed: tuple, status: str, action: str, **columns: Any) -> None:
        assignments = ", ".join(f"{name} = ?" for name in ("status", *columns))
        marks = ", ".join("?" for _ in allowed)
        with self._transaction() as connection:
            cursor = connection.execute(
                f"UPDATE handoffs SET {assignments} WHERE id = ? AND status IN ({marks})",
                (status, *columns.values(), handoff_id, *allowed),
            )
            changed = cursor.rowcount
        notify_inbox()
        if not changed:
            current = self.require(handoff_id)
            raise HandoffError(f"handoff {handoff_id} is {current['status']}; {action}")

    # --- messages -------------------------------------------------------------------
    def add_message(self, handoff_id: int, direction: str, author: str, text: str, status: str = "stored") -> int:
        """A message of the conversation, stored redacted (privacy.redaction) whoever wrote it: the
        customer, an agent (the customer still receives the agent's full text, handoff.service)
        or the system."""
        with self._transaction() as connection:
            message_id = connection.insert_id(
                "INSERT INTO handoff_messages (handoff_id, direction, author, text, status, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (handoff_id, direction, author, redact(text), status, time.time()),
            )
            assert message_id is not None  # an INSERT without ON CONFLICT always returns it
        notify_inbox()
        return message_id

    def set_message_status(self, message_id: int, status: str, error: str = "") -> None:
        with self._transaction() as connection:
            connection.execute("UPDATE handoff_messages SET status = ?, error = ? WHERE id = ?", (status, error, message_id))
            if status == "sent":
                connection.execute(
                    "UPDATE handoffs SET first_agent_reply_at = COALESCE(first_agent_reply_at, ?)"
                    " WHERE id = (SELECT handoff_id FROM handoff_messages WHERE id = ?)",
                    (time.time(), message_id),
                )
        notify_inbox()

    def messages(self, handoff_id: int) -> builtins.list[dict[str, Any]]:
        with self._transaction() as connection:
            rows = connection.execute("SELECT * FROM handoff_messages WHERE handoff_id = ? ORDER BY id", (handoff_id,)).fetchall()
        return [dict(row) for row in rows]

    # --- wait estimate inputs -------------------------------------------------------
    def median_handling_seconds(self, recent: int = 20) -> float | None:
        """Median claimed→closed time of the last `recent` closed handoffs (None without history)."""
        with self._transaction() as connection:
            rows = connection.execute(
                "SELECT closed_at - claimed_at FROM handoffs WHERE status = 'closed' AND claimed_at IS NOT NULL"
                " ORDER BY closed_at DESC LIMIT ?",
                (recent,),
            ).fetchall()
        durations = [row[0] for row in rows if row[0] is not None and row[0] >= 0]
        return statistics.median(durations) if durations else None

    def agents_active_since(self, since: float) -> int:
        """Agents who claimed, replied or closed since `since`."""
        with self._transaction() as connection:
            row = connection.execute(
                "SELECT COUNT(DISTINCT agent) FROM ("
                " SELECT agent FROM handoffs WHERE agent IS NOT NULL AND (claimed_at >= ? OR closed_at >= ? OR status = 'assigned')"
                " UNION SELECT author AS agent FROM handoff_messages WHERE direction = 'agent' AND created_at >= ?) AS agents",
                (since, since, since),
            ).fetchone()
        return int(row[0])

    # --- CSAT -----------------------------------------------------------------------
    def add_csat(self, handoff_id: int | None, sender_id: str, channel: str, rating: int) -> None:
        if not 1 <= int(rating) <= 5:
            raise HandoffError(f"field 'rating': {rating!r} is not between 1 and 5")
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO csat_ratings (handoff_id, sender_id, channel, rating, created_at) VALUES (?, ?, ?, ?, ?)",
                (handoff_id, sender_id, channel, int(rating), time.time()),
            )

    def csat_ratings(self, handoff_id: int | None = None) -> builtins.list[dict[str, Any]]:
        query, args = "SELECT * FROM csat_ratings ORDER BY id", tuple[int, ...]()
        if handoff_id is not None:
            query, args = "SELECT * FROM csat_ratings WHERE handoff_id = ? ORDER BY id", (handoff_id,)
        with self._transaction() as connection:
            return [dict(row) for row in connection.execute(query, args)]

    # --- reply templates (the inbox's canned answers) --------------------------------
    def save_template(self, name: str, language: str, text: str, updated_by: str = "") -> None:
        if not name.strip() or not text.strip():
            raise HandoffError("field 'name' and field 'text' must not be empty")
        if language not in ("tr", "en"):
            raise HandoffError(f"field 'language': {language!r} is not tr or en")
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO reply_templates (name, language, text, updated_by, updated_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (name, language) DO UPDATE SET text = excluded.text, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                (name.strip(), language, text, updated_by, time.time()),
            )

    def templates(self, language: str | None = None) -> builtins.list[dict[str, Any]]:
        query, args = "SELECT * FROM reply_templates ORDER BY name, language", tuple[str, ...]()
        if language:
            query, args = "SELECT * FROM reply_templates WHERE language = ? ORDER BY name", (language,)
        with self._transaction() as connection:
            return [dict(row) for row in connection.execute(query, args)]

    def delete_template(self, template_id: int) -> None:
        with self._transaction() as connection:
            connection.execute("DELETE FROM reply_templates WHERE id = ?", (template_id,))


def _handoff(row: Row) -> dict[str, Any]:
    handoff = dict(row)
    handoff["context_card"] = json.loads(handoff["context_card"]) if handoff.get("context_card") else None
    handoff["out_of_hours"] = bool(handoff["out_of_hours"])
    return handoff
