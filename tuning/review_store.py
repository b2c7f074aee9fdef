"""What staff did on the review page: messages added as training examples and questions marked "needs an article".

Table `review_actions` in DESTEK_DB (owned here). The gap report reads the "needs an article"
marks; the review page shows which messages were already handled.
"""

import time
from typing import Any, Optional

from privacy.redaction import redact
from storage.sqlite import SqliteStore

NEEDS_ARTICLE = "needs_article"
ADDED_EXAMPLE = "added_example"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS review_actions (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    message_at REAL NOT NULL,
    text TEXT NOT NULL,
    language TEXT,
    intent TEXT,
    staff TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (kind, sender_id, message_at)
);
"""


class ReviewStore(SqliteStore):
    SCHEMA = _SCHEMA

    def record(self, kind: str, sender_id: str, message_at: float, text: str, language: Optional[str], staff: str, intent: Optional[str] = None) -> bool:
        """Store one action on one message (its text redacted); False when that message already had it (nothing changed)."""
        if kind not in (NEEDS_ARTICLE, ADDED_EXAMPLE):
            raise ValueError(f"unknown review action {kind!r}")
        with self._connection() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO review_actions (kind, sender_id, message_at, text, language, intent, staff, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (kind, sender_id, message_at, redact(text), language, intent, staff, time.time()),
            )
            return cursor.rowcount == 1

    def actions(self, kind: Optional[str] = None) -> list[dict[str, Any]]:
        query = "SELECT * FROM review_actions" + (" WHERE kind = ?" if kind else "") + " ORDER BY id"
        with self._connection() as db:
            return [dict(row) for row in db.execute(query, (kind,) if kind else ())]
