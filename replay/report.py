"""What changed between two runs of the same conversations: per turn, then per language and channel."""

import csv
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from replay.recorded import ANSWER, HANDOFF, RecordedConversation

KINDS = ("intent", "article", "new_handoff", "lost_handoff", "outcome")
_HEADER = ("language", "channel", "conversations", "turns", "intent", "article", "new_handoff", "lost_handoff", "outcome", "golden_changed")


@dataclass(frozen=True)
class Side:
    """One side of a comparison for one turn."""

    intent: str | None
    outcome: str
    article_id: str | None

    @property
    def answer(self) -> str:
        return f"{ANSWER}:{self.article_id}" if self.outcome == ANSWER else self.outcome


@dataclass(frozen=True)
class Change:
    conversation: RecordedConversation
    turn: int  # 1-based among the conversation's turns
    text: str
    before: Side
    after: Side
    kinds: tuple[str, ...]

    @property
    def answer_changed(self) -> bool:
        return self.before.answer != self.after.answer


def compare_turn(before: Side, after: Side) -> tuple[str, ...]:
    kinds = []
    if before.intent != after.intent:
        kinds.append("intent")
    if before.answer != after.answer:
        if after.outcome == HANDOFF and before.outcome != HANDOFF:
            kinds.append("new_handoff")
        elif before.outcome == HANDOFF and after.outcome != HANDOFF:
            kinds.append("lost_handoff")
        elif ANSWER in (before.outcome, after.outcome):
            kinds.append("article")
        else:
            kinds.append("outcome")
    return tuple(kinds)


@dataclass
class Report:
    conversations: list[RecordedConversation]
    turns: Counter
    changes: list[Change]

    @property
    def golden_changed(self) -> list[Change]:
        return [c for c in self.changes if c.conversation.golden and c.answer_changed]

    def rows(self) -> list[tuple]:
        keys = sorted({(c.language, c.channel) for c in self.conversations})
        rows = []
        for language, channel in keys:
            mine = [c for c in self.changes if (c.conversation.language, c.conversation.channel) == (language, channel)]
            counts = Counter(kind for change in mine for kind in change.kinds)
            rows.append(
                (
                    language,
                    channel,
                    sum(1 for c in self.conversations if (c.language, c.channel) == (language, channel)),
                    self.turns[(language, channel)],
                    *(counts[k] for k in KINDS),
                    len({c.conversation.id for c in mine if c.conversation.golden and c.answer_changed}),
                )
            )
        return rows

    def table(self) -> str:
        rows = [_HEADER, *self.rows()]
        total = (
            "all",
            "all",
            len(self.conversations),
            sum(self.turns.values()),
            *(sum(r[i] for r in rows[1:]) for i in range(4, len(_HEADER))),
        )
        rows.append(total)
        widths = [max(len(str(row[i])) for row in rows) for i in range(len(_HEADER))]
        return "\n".join("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in rows)

    def changes_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            [
                "conversation",
                "language",
                "channel",
                "golden",
                "turn",
                "text",
                "changes",
                "intent_before",
                "intent_after",
                "answer_before",
                "answer_after",
            ]
        )
        for change in self.changes:
            conversation = change.conversation
            writer.writerow(
                [
                    _csv_safe(conversation.id),
                    conversation.language,
                    conversation.channel,
                    "yes" if conversation.golden else "",
                    change.turn,
                    _csv_safe(change.text),
                    " ".join(change.kinds),
                    change.before.intent or "",
                    change.after.intent or "",
                    change.before.answer,
                    change.after.answer,
                ]
            )
        return out.getvalue()


def build_report(
    conversations: Sequence[RecordedConversation], before: Sequence[Sequence[Side | None]], after: Sequence[Sequence[Side | None]]
) -> Report:
    turns: Counter = Counter()
    changes = []
    for conversation, old_turns, new_turns in zip(conversations, before, after, strict=True):
        for number, (turn, old, new) in enumerate(zip(conversation.turns, old_turns, new_turns, strict=True), start=1):
            if old is None or new is None:
                continue
            turns[(conversation.language, conversation.channel)] += 1
            kinds = compare_turn(old, new)
            if kinds:
                changes.append(Change(conversation, number, turn.text, old, new, kinds))
    return Report(list(conversations), turns, changes)


def _csv_safe(text: str) -> str:
    """Customer text must not run as a formula when the CSV is opened in a spreadsheet."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
