"""Conversations staff chose as golden (table `replay_golden` in the support database, storage.schema).

A golden conversation makes `make replay` fail when its answer changes. Conversations rated 👍
are golden without being listed here. An id is `SENDER#SESSION`, or a bare sender id for all of
that sender's sessions.
"""

import time

from storage import schema
from storage.database import Store


class GoldenStore(Store):
    TABLES = (schema.replay_golden,)

    def mark(self, conversation_id: str, staff: str) -> bool:
        """False when it was already golden."""
        if not conversation_id.strip() or "\x00" in conversation_id:
            raise ValueError("field 'conversation_id': empty or not text")
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO replay_golden (conversation_id, staff, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (conversation_id.strip(), staff, time.time()),
            )
            return cursor.rowcount == 1

    def unmark(self, conversation_id: str) -> bool:
        with self._transaction() as db:
            return db.execute("DELETE FROM replay_golden WHERE conversation_id = ?", (conversation_id,)).rowcount == 1

    def ids(self) -> set[str]:
        with self._transaction() as db:
            return {row[0] for row in db.execute("SELECT conversation_id FROM replay_golden")}
