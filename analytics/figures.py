"""The dashboard's figures, computed from conversations (tracker store) and support-database rows.

Every metric is defined in docs/analytics.md; the code follows those definitions word for word.
"""

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from analytics.fold import question_key
from analytics.support_db import Rows, SupportData
from analytics.tracker import Conversation, Turn, channel_of

TOP = 10
MAX_DAYS = 400  # a longer range is cut to its last MAX_DAYS days in the per-day charts


@dataclass(frozen=True)
class Filters:
    since: float | None = None  # Unix seconds, inclusive
    until: float | None = None  # Unix seconds, exclusive
    channel: str | None = None
    language: str | None = None
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Istanbul"))  # days are calendar days here

    def in_range(self, timestamp: float | None) -> bool:
        return timestamp is not None and (self.since is None or timestamp >= self.since) and (self.until is None or timestamp < self.until)

    def matches(self, channel: str | None, language: str | None) -> bool:
        return (self.channel is None or channel == self.channel) and (self.language is None or language == self.language)

    def day(self, timestamp: float) -> str:
        return datetime.fromtimestamp(timestamp, self.timezone).date().isoformat()


@dataclass
class Durations:
    """Seconds; None when there is no sample."""

    n: int
    median: float | None
    p90: float | None
    mean: float | None

    @classmethod
    def of(cls, values: Iterable[float]) -> "Durations":
        ordered = sorted(v for v in values if v >= 0)
        if not ordered:
            return cls(0, None, None, None)
        p90 = ordered[math.ceil(0.9 * len(ordered)) - 1]  # nearest rank
        return cls(len(ordered), statistics.median(ordered), p90, statistics.fmean(ordered))


@dataclass
class Csat:
    count: int
    average: float | None  # mean rating, 1–5
    satisfied: float | None  # share of ratings 4 or 5

    @classmethod
    def of(cls, ratings: list[int]) -> "Csat":
        if not ratings:
            return cls(0, None, None)
        return cls(len(ratings), statistics.fmean(ratings), sum(1 for r in ratings if r >= 4) / len(ratings))


@dataclass
class ArticleRow:
    article_id: str
    answers: int
    helpful: int
    not_helpful: int


# One outcome per campaign recipient, so they stack: send-log state, then Twilio's delivery status.
OUTCOMES = ("pending", "skipped", "canceled", "failed", "sent", "delivered", "read")


def recipient_outcome(row: dict[str, Any]) -> str:
    """As campaigns.store.CampaignStore.stats counts them: failed = state failed or delivery
    failed/undelivered; delivered includes read; pending includes sending."""
    state, delivery = str(row["state"]), str(row["delivery"] or "")
    if state in ("pending", "sending"):
        return "pending"
    if state in ("skipped", "canceled"):
        return state
    if state == "failed" or delivery in ("failed", "undelivered"):
        return "failed"
    if delivery in ("delivered", "read"):
        return delivery
    return "sent" if state == "sent" else state


@dataclass
class CampaignRow:
    name: str
    recipients: int
    by_outcome: dict[str, int]  # OUTCOMES order, zeros left out
    replies: int
    opt_outs: int  # recipients who opted out after this campaign


@dataclass
class Figures:
    conversations: int  # conversations with at least one user message
    by_channel: dict[str, int]
    days: list[str]
    per_day_channel: dict[str, list[int]]  # channel → count per day (aligned with days)
    per_day_language: dict[str, list[int]]
    contained: int
    handed_off: int
    handoff_reasons: list[tuple[str, int]]
    first_response_bot: Durations
    resolution_bot: Durations
    first_response_human: Durations | None  # None: no handoffs table
    resolution_human: Durations | None
    csat_overall: Csat | None  # None: no csat_ratings table
    csat_per_channel: dict[str, Csat]
    csat_per_day: list[tuple[str, Csat]]
    top_intents: list[tuple[str, int]]
    top_articles: list[ArticleRow]
    kb_answered: int
    kb_unanswered: int
    top_unanswered: list[tuple[str, int]]  # redacted question text, count
    campaigns: list[CampaignRow] | None  # None: no campaign tables
    problems: list[str] = field(default_factory=list)

    @property
    def containment(self) -> float | None:
        return self.contained / self.conversations if self.conversations else None

    @property
    def handoff_rate(self) -> float | None:
        return self.handed_off / self.conversations if self.conversations else None


def compute(conversations: list[Conversation], data: SupportData, filters: Filters) -> Figures:
    """conversations: every session of the senders concerned (not only those in the range), so
    each handoff row can be matched to the session it happened in; the filters pick the rest."""
    reasons = handoff_reasons_by_conversation(conversations, data)
    selected = [c for c in conversations if c.user_turns and filters.in_range(c.started_at) and filters.matches(c.channel, c.language)]
    handed_off = {(c.sender_id, c.session) for c in selected if c.handed_off or (c.sender_id, c.session) in reasons}
    handed = [c for c in selected if (c.sender_id, c.session) in handed_off]
    contained = [c for c in selected if (c.sender_id, c.session) not in handed_off]
    days, per_channel, per_language = _per_day(selected, filters)
    handoffs = _handoffs_in(data.handoffs, filters)
    csat_overall, csat_per_channel, csat_per_day = _csat(data, filters)
    turns = [t for c in selected for t in c.user_turns]
    return Figures(
        conversations=len(selected),
        by_channel=dict(sorted(Counter(c.channel for c in selected).items())),
        days=days,
        per_day_channel=per_channel,
        per_day_language=per_language,
        contained=len(contained),
        handed_off=len(handed),
        handoff_reasons=ranked(Counter(reasons.get((c.sender_id, c.session), "unknown") for c in handed)),
        first_response_bot=Durations.of(
            c.first_response_at - c.first_user_at for c in selected if c.first_response_at is not None and c.first_user_at is not None
        ),
        resolution_bot=Durations.of(c.last_at - c.first_user_at for c in contained if c.first_user_at is not None),
        first_response_human=None
        if handoffs is None
        else Durations.of(h["first_agent_reply_at"] - h["created_at"] for h in handoffs if h["first_agent_reply_at"] is not None),
        resolution_human=None
        if handoffs is None
        else Durations.of(h["closed_at"] - h["created_at"] for h in handoffs if h["closed_at"] is not None),
        csat_overall=csat_overall,
        csat_per_channel=csat_per_channel,
        csat_per_day=csat_per_day,
        top_intents=ranked(Counter(t.intent or "(none)" for t in turns), TOP),
        top_articles=_top_articles(turns),
        kb_answered=sum(1 for t in turns if t.kb_answered is True),
        kb_unanswered=sum(1 for t in turns if t.kb_answered is False),
        top_unanswered=_top_unanswered(turns),
        campaigns=_campaigns(data, filters),
        problems=list(data.problems),
    )


def ranked(counts: Counter[str], top: int | None = None) -> list[tuple[str, int]]:
    """Most frequent first, ties by name: the same order whichever store the counts came from."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]


def handoff_reasons_by_conversation(conversations: list[Conversation], data: SupportData) -> dict[tuple[str, int], str]:
    """(sender, session) → reason, for each session in which a handoff or handoff request was
    created. A session owns the time from its start to the start of the sender's next session."""
    sessions: dict[str, list[Conversation]] = defaultdict(list)
    for conversation in conversations:
        sessions[conversation.sender_id].append(conversation)
    for owned in sessions.values():
        owned.sort(key=lambda c: c.started_at)
    found: dict[tuple[str, int], str] = {}
    # handoffs first: where both tables have a row, the handoff's reason wins
    for rows in (data.handoffs or [], data.handoff_requests or []):
        for row in sorted(rows, key=lambda r: r["created_at"]):
            owner = _session_at(sessions.get(row["sender_id"], []), row["created_at"])
            if owner is not None:
                found.setdefault((owner.sender_id, owner.session), str(row["reason"] or "unknown"))
    return found


def _session_at(owned: list[Conversation], timestamp: float) -> Conversation | None:
    current = None
    for conversation in owned:
        if conversation.started_at <= timestamp:
            current = conversation
    return current


def _per_day(selected: list[Conversation], filters: Filters) -> tuple[list[str], dict[str, list[int]], dict[str, list[int]]]:
    if not selected:
        return [], {}, {}
    first = datetime.fromisoformat(filters.day(min(c.started_at for c in selected))).date()
    last = datetime.fromisoformat(filters.day(max(c.started_at for c in selected))).date()
    first = max(first, last - timedelta(days=MAX_DAYS - 1))
    days = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    index = {day: i for i, day in enumerate(days)}
    per_channel: dict[str, list[int]] = {}
    per_language: dict[str, list[int]] = {}
    for conversation in selected:
        position = index.get(filters.day(conversation.started_at))
        if position is None:
            continue
        per_channel.setdefault(conversation.channel, [0] * len(days))[position] += 1
        per_language.setdefault(conversation.language or "unknown", [0] * len(days))[position] += 1
    return days, dict(sorted(per_channel.items())), dict(sorted(per_language.items()))


def _handoffs_in(rows: Rows, filters: Filters) -> list[dict[str, Any]] | None:
    if rows is None:
        return None
    return [h for h in rows if filters.in_range(h["created_at"]) and filters.matches(channel_of(h["sender_id"]), h["language"])]


def _csat(data: SupportData, filters: Filters) -> tuple[Csat | None, dict[str, Csat], list[tuple[str, Csat]]]:
    if data.csat_ratings is None:
        return None, {}, []
    language_of = {h["id"]: h["language"] for h in data.handoffs or []}
    rows = [
        r
        for r in data.csat_ratings
        if filters.in_range(r["created_at"]) and filters.matches(channel_of(r["sender_id"]), language_of.get(r["handoff_id"]))
    ]
    by_channel: dict[str, list[int]] = defaultdict(list)
    by_day: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        by_channel[channel_of(row["sender_id"])].append(int(row["rating"]))
        by_day[filters.day(row["created_at"])].append(int(row["rating"]))
    return (
        Csat.of([int(r["rating"]) for r in rows]),
        {channel: Csat.of(ratings) for channel, ratings in sorted(by_channel.items())},
        [(day, Csat.of(ratings)) for day, ratings in sorted(by_day.items())],
    )


def _top_articles(turns: list[Turn]) -> list[ArticleRow]:
    rows: dict[str, ArticleRow] = {}
    for turn in turns:
        if turn.kb_answered and turn.kb_article_id:
            row = rows.setdefault(turn.kb_article_id, ArticleRow(turn.kb_article_id, 0, 0, 0))
            row.answers += 1
            row.helpful += turn.feedback is True
            row.not_helpful += turn.feedback is False
    return sorted(rows.values(), key=lambda r: (-r.answers, r.article_id))[:TOP]


def _top_unanswered(turns: list[Turn]) -> list[tuple[str, int]]:
    counts = Counter(" ".join(str(t.kb_query or t.text or "").lower().split()) for t in turns if t.kb_answered is False)
    counts.pop("", None)
    shown: Counter[str] = Counter()
    for text, n in counts.items():  # texts that read the same once redacted count together
        shown[question_key(text) or ""] += n
    return ranked(shown, TOP)


def _campaigns(data: SupportData, filters: Filters) -> list[CampaignRow] | None:
    """Top-level campaigns created in the range; a recurring campaign's occurrences (parent_id)
    count under it."""
    if data.campaigns is None or data.campaign_recipients is None:
        return None
    root = {c["id"]: c["parent_id"] or c["id"] for c in data.campaigns}
    outcomes: dict[Any, Counter[str]] = defaultdict(Counter)
    replies: Counter[Any] = Counter()
    opt_outs: Counter[Any] = Counter()
    for recipient in data.campaign_recipients:
        campaign = root.get(recipient["campaign_id"], recipient["campaign_id"])
        outcomes[campaign][recipient_outcome(recipient)] += 1
        replies[campaign] += int(recipient["replied"] or 0)
        opt_outs[campaign] += int(recipient["opted_out_after"] or 0)
    return [
        CampaignRow(
            str(c["name"]),
            sum(outcomes[c["id"]].values()),
            {o: outcomes[c["id"]][o] for o in (*OUTCOMES, *sorted(set(outcomes[c["id"]]) - set(OUTCOMES))) if outcomes[c["id"]][o]},
            replies[c["id"]],
            opt_outs[c["id"]],
        )
        for c in sorted(data.campaigns, key=lambda c: -(c["created_at"] or 0))
        if not c["parent_id"] and filters.in_range(c["created_at"] or 0)
    ]
