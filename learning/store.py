"""Agents' answers kept from closed handoffs, and marks that the KB index needs a rebuild.

Tables `agent_answers` and `kb_rebuild_marks` in DESTEK_DB (owned here). Everything stored is
redacted (privacy.redaction) first: a card number an agent or customer typed never lands here.
"""

import json
import time
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from storage.sqlite import SqliteStore
from privacy.redaction import redact

OPEN, ACCEPTED, REJECTED = "open", "accepted", "rejected"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS agent_answers (
    id INTEGER PRIMARY KEY,
    handoff_id INTEGER NOT NULL UNIQUE,
    sender_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    language TEXT NOT NULL,
    questions TEXT NOT NULL,          -- JSON list of the customer's questions, redacted
    answer TEXT NOT NULL,             -- the agent's messages, redacted
    agent TEXT NOT NULL,
    closed_at REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'open',
    decided_by TEXT,
    decided_at REAL,
    decision TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS agent_answers_by_state ON agent_answers (state, language);
CREATE TABLE IF NOT EXISTS kb_rebuild_marks (
    id INTEGER PRIMARY KEY,
    reason TEXT NOT NULL,
    staff TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""


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


class AgentAnswerStore(SqliteStore):
    SCHEMA = _SCHEMA

    def keep(self, handoff_id: int, sender_id: str, channel: str, language: str, questions: Iterable[str], answer: str,
             agent: str, closed_at: float) -> bool:
        """Store one closed handoff's question(s) and answer; False when it was kept before."""
        cleaned = [redact(q).strip() for q in questions if q and q.strip()]
        if not cleaned or not answer.strip():
            raise ValueError("a kept answer needs a question and an answer")
        with self._connection() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO agent_answers (handoff_id, sender_id, channel, language, questions, answer, agent, closed_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (handoff_id, sender_id, channel, language, json.dumps(cleaned, ensure_ascii=False), redact(answer).strip(), agent, closed_at),
            )
            return cursor.rowcount == 1

    def answers(self, state: Optional[str] = OPEN, ids: Optional[Iterable[int]] = None) -> list[AgentAnswer]:
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
        with self._connection() as db:
            rows = db.execute(f"SELECT * FROM agent_answers{where} ORDER BY id", args).fetchall()
        return [_answer(row) for row in rows]

    def decide(self, ids: Iterable[int], state: str, staff: str, decision: str) -> int:
        """Accept or reject open answers; returns how many changed (decided ones stay as they were)."""
        if state not in (ACCEPTED, REJECTED):
            raise ValueError(f"unknown state {state!r}")
        wanted = [int(i) for i in ids]
        with self._connection() as db:
            cursor = db.execute(
                f"UPDATE agent_answers SET state = ?, decided_by = ?, decided_at = ?, decision = ? WHERE state = 'open' AND id IN ({', '.join('?' for _ in wanted) or 'NULL'})",
                (state, staff, time.time(), decision, *wanted),
            )
            return cursor.rowcount

    def mark_rebuild(self, reason: str, staff: str) -> None:
        with self._connection() as db:
            db.execute("INSERT INTO kb_rebuild_marks (reason, staff, created_at) VALUES (?, ?, ?)", (reason, staff, time.time()))

    def rebuild_marks(self, since: float = 0.0) -> list[dict[str, Any]]:
        """KB edits made here after `since` (e.g. the index's build time): the index does not have them yet."""
        with self._connection() as db:
            return [dict(row) for row in db.execute("SELECT * FROM kb_rebuild_marks WHERE created_at > ? ORDER BY id", (since,))]


def _answer(row: Any) -> AgentAnswer:
    return AgentAnswer(
        row["id"], row["handoff_id"], row["sender_id"], row["channel"], row["language"], tuple(json.loads(row["questions"])),
        row["answer"], row["agent"], row["closed_at"], row["state"],
    )
