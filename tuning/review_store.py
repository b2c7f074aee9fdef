"""What staff did on the review page: messages added as training examples and questions marked "needs an article".

Table `review_actions` in DESTEK_DB (owned here). The gap report reads the "needs an article"
marks; the review page shows which messages were already handled.
"""

import time
from typing import Any

from privacy.redaction import redact
from storage import schema
from storage.database import Store

NEEDS_ARTICLE = "needs_article"
ADDED_EXAMPLE = "added_example"


class ReviewStore(Store):
    TABLES = (schema.review_actions,)

    def record(
        self, kind: str, sender_id: str, message_at: float, text: str, language: str | None, staff: str, intent: str | None = None
    ) -> bool:
        """Store one action on one message (its text redacted); False when that message already had it (nothing changed)."""
        if kind not in (NEEDS_ARTICLE, ADDED_EXAMPLE):
            raise ValueError(f"unknown review action {kind!r}")
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO review_actions (kind, sender_id, message_at, text, language, intent, staff, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (kind, sender_id, message_at, redact(text), language, intent, staff, time.time()),
            )
            return cursor.rowcount == 1

    def actions(self, kind: str | None = None) -> list[dict[str, Any]]:
        query = "SELECT * FROM review_actions" + (" WHERE kind = ?" if kind else "") + " ORDER BY id"
        with self._transaction() as db:
            return [dict(row) for row in db.execute(query, (kind,) if kind else ())]
