"""What the bot records for support staff: answers served, answer feedback, unanswered questions, handoff requests.

Customer text is redacted (card numbers, IBANs, TCKNs, one-time codes) before it is stored.

SQLite by default (DESTEK_DB) or PostgreSQL (DESTEK_DATABASE_URL), opened through storage.database: one short-lived
unit of work per write keeps it safe across the action server's threads.
"""

import time
from typing import Any

from privacy.redaction import redact
from storage import schema
from storage.database import Store


class Records(Store):
    TABLES = (schema.answer_feedback, schema.unanswered_questions, schema.answers_served, schema.handoff_requests)

    def _insert(self, table: str, **values: Any) -> None:
        values["created_at"] = time.time()
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        with self._transaction() as connection:
            connection.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(values.values()))

    def add_feedback(self, sender_id: str, query: str | None, article_id: str | None, score: float | None, helpful: bool) -> None:
        self._insert(
            "answer_feedback",
            sender_id=sender_id,
            query=redact(query) if query else query,
            article_id=article_id,
            score=score,
            helpful=int(helpful),
        )

    def add_unanswered(
        self, sender_id: str, query: str, language: str | None, best_article_id: str | None, best_score: float | None
    ) -> None:
        self._insert(
            "unanswered_questions",
            sender_id=sender_id,
            query=redact(query),
            language=language,
            best_article_id=best_article_id,
            best_score=best_score,
        )

    def add_handoff_request(self, sender_id: str, language: str | None, reason: str, last_query: str | None) -> None:
        self._insert(
            "handoff_requests",
            sender_id=sender_id,
            language=language,
            reason=reason,
            last_query=redact(last_query) if last_query else last_query,
        )

    def add_answer_served(self, sender_id: str, query: str, language: str | None, article_id: str, score: float | None) -> None:
        """Every answer the bot gave from an article: the article usage report counts these.

        On the answer path of every question, so without an fsync per commit (synchronous=NORMAL
        in WAL mode): a crash loses nothing, a power cut may lose the last rows of a usage count."""
        with self._transaction(kept_open=True) as connection:  # SQLite: synchronous=NORMAL (storage.database)
            connection.execute(
                "INSERT INTO answers_served (sender_id, query, language, article_id, score, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (sender_id, redact(query), language, article_id, score, time.time()),
            )

    def rows(self, table: str) -> list[dict[str, Any]]:
        """All rows of one table, oldest first (for reports and tests)."""
        if table not in ("answer_feedback", "unanswered_questions", "handoff_requests", "answers_served"):
            raise ValueError(f"unknown table {table!r}")
        with self._transaction() as connection:
            return [dict(row) for row in connection.execute(f"SELECT * FROM {table} ORDER BY id")]
