"""Recorded conversations: from Rasa's tracker store, SQLite or PostgreSQL (analytics.tracker), or a JSONL file, redacted.

A JSONL line is one conversation:
`{"id", "channel", "language", "golden"?, "turns": [{"text", "intent", "outcome", "article_id"?}]}`
with outcome one of OUTCOMES; `python -m replay export` writes this format from the tracker store.
"""

import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from analytics.tracker import CHANNELS, Conversation, TrackerStore, Turn, describe, iter_conversations
from privacy.redaction import redact

ANSWER, NOT_SURE, HANDOFF, AGENT, REPLY = "answer", "not_sure", "handoff", "agent", "reply"
OUTCOMES = (ANSWER, NOT_SURE, HANDOFF, AGENT, REPLY)
HANDBACK_INTENT = "EXTERNAL_handoff_closed"


class ReplayError(ValueError):
    """Bad input or an unusable model/index; the message is one line naming the problem."""


@dataclass(frozen=True)
class RecordedTurn:
    text: str
    intent: str | None
    outcome: str
    article_id: str | None = None  # only for outcome "answer"

    @property
    def external(self) -> bool:
        return bool(self.intent and self.intent.startswith("EXTERNAL_"))


@dataclass(frozen=True)
class RecordedConversation:
    id: str
    channel: str
    language: str
    golden: bool
    turns: tuple[RecordedTurn, ...]

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "turns": [asdict(t) for t in self.turns]}, ensure_ascii=False)


def conversation_id(sender_id: str, session: int) -> str:
    return f"{sender_id}#{session}"


def outcome_of(turn: Turn) -> tuple[str, str | None]:
    """What the customer got for one turn, from the events the bot recorded."""
    names = {action.name for action in turn.actions}
    if turn.handoff_requested or "action_request_human" in names:
        return HANDOFF, None
    if "action_forward_to_agent" in names:
        return AGENT, None
    if turn.kb_answered is True:
        return ANSWER, turn.kb_article_id
    if turn.kb_answered is False:
        return NOT_SURE, None
    return REPLY, None


def from_tracker(store: TrackerStore, days: float, golden_ids: set[str], now: float | None = None) -> list[RecordedConversation]:
    """Conversations of the last `days` days from Rasa's tracker store (a SQLite file, or a PostgreSQL URL);
    golden: rated 👍 in the conversation, or in `golden_ids`."""
    if isinstance(store, Path) and not store.is_file():
        raise ReplayError(f"{store}: no such tracker store (set RASA_TRACKER_DB or pass --tracker)")
    since = (now or time.time()) - days * 86400
    try:
        found = [c for c in iter_conversations(store, since=since) if c.last_at >= since and c.user_turns]
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise ReplayError(f"tracker store {describe(store)}: {reason}") from None
    return [_recorded(c, golden_ids) for c in sorted(found, key=lambda c: (c.started_at, c.sender_id, c.session))]


def _recorded(conversation: Conversation, golden_ids: set[str]) -> RecordedConversation:
    turns = []
    for turn in conversation.turns:
        if turn.external:
            turns.append(RecordedTurn("", turn.intent, REPLY))
            continue
        outcome, article = outcome_of(turn)
        turns.append(RecordedTurn(redact(turn.text or ""), turn.intent, outcome, article))
    identifier = conversation_id(conversation.sender_id, conversation.session)
    golden = identifier in golden_ids or conversation.sender_id in golden_ids or any(t.feedback is True for t in conversation.turns)
    return RecordedConversation(identifier, conversation.channel, conversation.language or "unknown", golden, tuple(turns))


def from_jsonl(path: Path, golden_ids: set[str]) -> list[RecordedConversation]:
    if not path.is_file():
        raise ReplayError(f"{path}: no such file")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise ReplayError(f"{path}: not valid UTF-8 text") from None
    conversations = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            conversations.append(_parse_line(f"{path}:{number}", line, golden_ids))
    if not conversations:
        raise ReplayError(f"{path}: no conversations (empty file)")
    seen: set[str] = set()
    for conversation in conversations:
        if conversation.id in seen:
            raise ReplayError(f"{path}: conversation id {conversation.id!r} appears twice")
        seen.add(conversation.id)
    return conversations


def _parse_line(where: str, line: str, golden_ids: set[str]) -> RecordedConversation:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise ReplayError(f"{where}: not valid JSON ({error.msg})") from None
    if not isinstance(record, dict):
        raise ReplayError(f"{where}: each line must be a JSON object")
    identifier = _text(where, record, "id")
    channel = record.get("channel", "rest")
    if channel not in CHANNELS:
        raise ReplayError(f"{where}: field 'channel': {channel!r} is not one of {', '.join(CHANNELS)}")
    language = record.get("language") or "unknown"
    if not isinstance(language, str):
        raise ReplayError(f"{where}: field 'language' must be text")
    golden = record.get("golden", False)
    if not isinstance(golden, bool):
        raise ReplayError(f"{where}: field 'golden' must be true or false")
    turns = record.get("turns")
    if not isinstance(turns, list) or not turns:
        raise ReplayError(f"{where}: field 'turns' must be a non-empty list")
    parsed = tuple(_turn(f"{where}: turn {position}", item) for position, item in enumerate(turns, start=1))
    return RecordedConversation(identifier, channel, language, golden or identifier in golden_ids, parsed)


def _turn(where: str, item: Any) -> RecordedTurn:
    if not isinstance(item, dict):
        raise ReplayError(f"{where}: must be a JSON object")
    intent = item.get("intent")
    if intent is not None and not isinstance(intent, str):
        raise ReplayError(f"{where}: field 'intent' must be text or null")
    outcome = item.get("outcome", REPLY)
    if outcome not in OUTCOMES:
        raise ReplayError(f"{where}: field 'outcome': {outcome!r} is not one of {', '.join(OUTCOMES)}")
    article = item.get("article_id")
    if article is not None and not isinstance(article, str):
        raise ReplayError(f"{where}: field 'article_id' must be text or null")
    text = item.get("text", "")
    if not isinstance(text, str) or "\x00" in text:
        raise ReplayError(f"{where}: field 'text' must be text without NUL characters")
    turn = RecordedTurn(redact(text), intent, outcome, article if outcome == ANSWER else None)
    if not turn.external and not text.strip():
        raise ReplayError(f"{where}: field 'text' is missing or empty")
    return turn


def _text(where: str, record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ReplayError(f"{where}: field '{name}' is missing or empty")
    return value


def write_jsonl(conversations: Iterable[RecordedConversation], path: Path) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as stream:
        for conversation in conversations:
            stream.write(conversation.to_json() + "\n")
            count += 1
    return count
