"""Agents' answers kept from closed handoffs, and marks that the KB index needs a rebuild.

Tables `agent_answers` and `kb_rebuild_marks` in the support database (storage.schema; SQLite or PostgreSQL). Everything stored is
redacted (privacy.redaction) first: a card number an agent or customer typed never lands here.
"""

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from privacy.redaction import redact
from storage import schema
from storage.database import Store

OPEN, ACCEPTED, REJECTED = "open", "accepted", "rejected"


@dataclass(frozen=True)
class AgentAnswer:
    id: int
    handoff_id: int
    sender_id: str
    channel: str
    language: str
    questions: tuple[str, ...]
    answer: str
    agent: str
    closed_at: float
    state: str

    @property
    def question(self) -> str:
        return self.questions[0]


class AgentAnswerStore(Store):
    TABLES = (schema.agent_answers, schema.kb_rebuild_marks)

    def keep(
        self,
        handoff_id: int,
        sender_id: str,
        channel: str,
        language: str,
        questions: Iterable[str],
        answer: str,
        agent: str,
        closed_at: float,
    ) -> bool:
        """Store one closed handoff's question(s) and answer; False when it was kept before."""
        cleaned = [redact(q).strip() for q in questions if q and q.strip()]
        if not cleaned or not answer.strip():
            raise ValueError("a kept answer needs a question and an answer")
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO agent_answers (handoff_id, sender_id, channel, language, questions, answer, agent, closed_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    handoff_id,
                    sender_id,
                    channel,
                    language,
                    json.dumps(cleaned, ensure_ascii=False),
                    redact(answer).strip(),
                    agent,
                    closed_at,
                ),
            )
            return cursor.rowcount == 1

    def answers(self, state: str | None = OPEN, ids: Iterable[int] | None = None) -> list[AgentAnswer]:
        conditions: list[str] = []
        args: list[Any] = []
        if state is not None:
            conditions.append("state = ?")
            args.append(state)
        if ids is not None:
            wanted = [int(i) for i in ids]
            conditions.append(f"id IN ({', '.join('?' for _ in wanted) or 'NULL'})")
            args += wanted
        where = (" WHERE " + " AND ".join(conditions)) if conditions else ""
        with self._transaction() as db:
            rows = db.execute(f"SELECT * FROM agent_answers{where} ORDER BY id", args).fetchall()
        return [_answer(row) for row in rows]

    def decide(self, ids: Iterable[int], state: str, staff: str, decision: str) -> int:
        """Accept or reject open answers; returns how many changed (decided ones stay as they were)."""
        if state not in (ACCEPTED, REJECTED):
            raise ValueError(f"unknown state {state!r}")
        wanted = [int(i) for i in ids]
        with self._transaction() as db:
            cursor = db.execute(
                f"UPDATE agent_answers SET state = ?, decided_by = ?, decided_at = ?, decision = ? WHERE state = 'open' AND id IN ({', '.join('?' for _ in wanted) or 'NULL'})",
                (state, staff, time.time(), decision, *wanted),
            )
            return cursor.rowcount

    def mark_rebuild(self, reason: str, staff: str) -> None:
        with self._transaction() as db:
            db.execute("INSERT INTO kb_rebuild_marks (reason, staff, created_at) VALUES (?, ?, ?)", (reason, staff, time.time()))

    def rebuild_marks(self, since: float = 0.0) -> list[dict[str, Any]]:
        """KB edits made here after `since` (e.g. the index's build time): the index does not have them yet."""
        with self._transaction() as db:
            return [dict(row) for row in db.execute("SELECT * FROM kb_rebuild_marks WHERE created_at > ? ORDER BY id", (since,))]


def _answer(row: Any) -> AgentAnswer:
    return AgentAnswer(
        row["id"],
        row["handoff_id"],
        row["sender_id"],
        row["channel"],
        row["language"],
        tuple(json.loads(row["questions"])),
        row["answer"],
        row["agent"],
        row["closed_at"],
        row["state"],
    )
