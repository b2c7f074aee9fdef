"""The dashboard's figures read from the aggregate tables instead of re-reading every tracker event.

Same definitions and the same results as analytics.figures.compute (tests/analytics/test_aggregates.py
proves it on a synthetic month); handoff rows are matched to sessions at read time, in SQL-sized steps.
"""

from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, column, false, func, inspect, select, table, union
from sqlalchemy.sql.elements import ColumnElement

from analytics.aggregate_schema import conversations, daily
from analytics.aggregate_store import stored_meta
from analytics.figures import (
    MAX_DAYS,
    TOP,
    ArticleRow,
    Durations,
    Figures,
    Filters,
    _campaigns,
    _csat,
    _handoffs_in,
    ranked,
)
from analytics.support_db import SupportData

Key = tuple[str, int]


def available(engine: Engine, filters: Filters) -> bool:
    """Aggregates exist, were backfilled, and count days in the filters' time zone."""
    if not inspect(engine).has_table("analytics_meta"):
        return False
    with engine.connect() as connection:
        known = stored_meta(connection)
    return "backfilled_at" in known and known.get("timezone") == filters.timezone.key


def whole_days(filters: Filters) -> bool:
    """The range starts and ends at midnight in the filters' time zone (the dashboard's always do)."""
    try:
        _day_range(filters)
    except ValueError:
        return False
    return True


def _day_range(filters: Filters) -> tuple[str | None, str | None]:
    """[first, end) as day strings; the range must be whole days of the filters' time zone."""
    bounds: list[str | None] = []
    for timestamp in (filters.since, filters.until):
        if timestamp is None:
            bounds.append(None)
            continue
        moment = datetime.fromtimestamp(timestamp, filters.timezone)
        if (moment.hour, moment.minute, moment.second, moment.microsecond) != (0, 0, 0, 0):
            raise ValueError("aggregates answer whole days only")
        bounds.append(moment.date().isoformat())
    return bounds[0], bounds[1]


def _where(t: Any, filters: Filters) -> list[ColumnElement[bool]]:
    first, end = _day_range(filters)
    conditions: list[ColumnElement[bool]] = []
    if first is not None:
        conditions.append(t.c.day >= first)
    if end is not None:
        conditions.append(t.c.day < end)
    if filters.channel is not None:
        conditions.append(t.c.channel == filters.channel)
    if filters.language is not None:
        conditions.append(t.c.language == filters.language)
    return conditions


def compute_from_aggregates(engine: Engine, data: SupportData, filters: Filters) -> Figures:
    conv_where = and_(*_where(conversations, filters), conversations.c.user_turns > 0)
    daily_where = _where(daily, filters)
    with engine.connect() as connection:
        per_group = connection.execute(
            select(daily.c.day, daily.c.channel, daily.c.language, func.sum(daily.c.n))
            .where(*daily_where, daily.c.kind == "conversations")
            .group_by(daily.c.day, daily.c.channel, daily.c.language)
        ).all()
        totals: dict[str, Counter[str]] = defaultdict(Counter)
        for kind, key, n in connection.execute(
            select(daily.c.kind, daily.c.key, func.sum(daily.c.n))
            .where(*daily_where, daily.c.kind.in_(("intent", "kb", "article", "helpful", "not_helpful")))
            .group_by(daily.c.kind, daily.c.key)
        ):
            totals[kind][key] += int(n)
        unanswered = _top_unanswered(connection, daily_where)
        slot_handed = connection.execute(select(func.count()).where(conv_where, conversations.c.handed_off)).scalar_one()
        reasons, extra, reasoned_slot = _handoff_rows(connection, engine, data, filters)
        first_response = [
            v
            for (v,) in connection.execute(
                select(conversations.c.first_response_at - conversations.c.first_user_at).where(
                    conv_where, conversations.c.first_response_at.is_not(None), conversations.c.first_user_at.is_not(None)
                )
            )
        ]
        resolution = Counter(
            v
            for (v,) in connection.execute(
                select(conversations.c.last_at - conversations.c.first_user_at).where(
                    conv_where, conversations.c.handed_off == false(), conversations.c.first_user_at.is_not(None)
                )
            )
        )
    resolution.subtract(Counter(value for value in extra.values() if value is not None))
    total = sum(int(n) for *_, n in per_group)
    handed = slot_handed + len(extra)
    by_channel: Counter[str] = Counter()
    for _, channel, _, n in per_group:
        by_channel[channel] += int(n)
    days, per_channel, per_language = _per_day(per_group)
    reason_counts = Counter(reasons.values())
    reason_counts["unknown"] += slot_handed - reasoned_slot
    handoffs = _handoffs_in(data.handoffs, filters)
    csat_overall, csat_per_channel, csat_per_day = _csat(data, filters)
    articles = [
        ArticleRow(article, n, totals["helpful"][article], totals["not_helpful"][article]) for article, n in totals["article"].items() if n
    ]
    return Figures(
        conversations=total,
        by_channel={c: n for c, n in sorted(by_channel.items()) if n},
        days=days,
        per_day_channel=per_channel,
        per_day_language=per_language,
        contained=total - handed,
        handed_off=handed,
        handoff_reasons=ranked(+reason_counts),
        first_response_bot=Durations.of(first_response),
        resolution_bot=Durations.of(resolution.elements()),
        first_response_human=None
        if handoffs is None
        else Durations.of(h["first_agent_reply_at"] - h["created_at"] for h in handoffs if h["first_agent_reply_at"] is not None),
        resolution_human=None
        if handoffs is None
        else Durations.of(h["closed_at"] - h["created_at"] for h in handoffs if h["closed_at"] is not None),
        csat_overall=csat_overall,
        csat_per_channel=csat_per_channel,
        csat_per_day=csat_per_day,
        top_intents=ranked(+totals["intent"], TOP),
        top_articles=sorted(articles, key=lambda r: (-r.answers, r.article_id))[:TOP],
        kb_answered=totals["kb"]["answered"],
        kb_unanswered=totals["kb"]["unanswered"],
        top_unanswered=unanswered,
        campaigns=_campaigns(data, filters),
        problems=list(data.problems),
    )


def _top_unanswered(connection: Any, daily_where: list[ColumnElement[bool]]) -> list[tuple[str, int]]:
    """The TOP most asked, ties by text: every text counted at least as often as the TOP-th one."""
    total = func.sum(daily.c.n).label("total")
    grouped = select(daily.c.key, total).where(*daily_where, daily.c.kind == "unanswered").group_by(daily.c.key)
    threshold = connection.execute(select(grouped.subquery().c.total).order_by(column("total").desc()).offset(TOP - 1).limit(1)).scalar()
    if threshold is not None:
        grouped = grouped.having(total >= threshold)
    return ranked(Counter({key: int(n) for key, n in connection.execute(grouped) if n}), TOP)


def _handoff_rows(
    connection: Any, engine: Engine, data: SupportData, filters: Filters
) -> tuple[dict[Key, str], dict[Key, float | None], int]:
    """Handoff and handoff-request rows matched to the session they fall in (as analytics.figures
    does): reasons of selected handed-off conversations, the selected ones only the rows hand off
    (→ their bot resolution time, to take out), and how many slot-handed selected ones have a row."""
    sources = [name for name, rows in (("handoffs", data.handoffs), ("handoff_requests", data.handoff_requests)) if rows is not None]
    if not sources:
        return {}, {}, 0
    names = union(*(select(table(name, column("sender_id")).c.sender_id) for name in sources)).subquery()
    c = conversations.c
    sessions: dict[str, list[tuple[float, int]]] = defaultdict(list)
    info: dict[Key, tuple[bool, bool, float | None]] = {}
    selected_where = and_(*_where(conversations, filters), c.user_turns > 0)
    for sender, session, started_at, selected, handed_off, first_user_at, last_at in connection.execute(
        select(c.sender_id, c.session, c.started_at, selected_where, c.handed_off, c.first_user_at, c.last_at)
        .where(c.sender_id.in_(select(names.c.sender_id)))
        .order_by(c.sender_id, c.session)
    ):
        sessions[sender].append((started_at, session))
        resolution = None if first_user_at is None else last_at - first_user_at
        info[(sender, session)] = (bool(selected), bool(handed_off), resolution)
    for owned in sessions.values():
        owned.sort(key=lambda s: s[0])
    found: dict[Key, str] = {}
    for rows in (data.handoffs or [], data.handoff_requests or []):
        for row in sorted(rows, key=lambda r: r["created_at"]):
            owned = sessions.get(row["sender_id"], [])
            position = bisect_right([s for s, _ in owned], row["created_at"]) - 1
            if position >= 0:
                found.setdefault((row["sender_id"], owned[position][1]), str(row["reason"] or "unknown"))
    reasons = {key: reason for key, reason in found.items() if info[key][0]}
    extra = {key: info[key][2] for key in reasons if not info[key][1]}
    return reasons, extra, sum(1 for key in reasons if info[key][1])


def _per_day(per_group: Sequence[Any]) -> tuple[list[str], dict[str, list[int]], dict[str, list[int]]]:
    counted = [(day, channel, language, int(n)) for day, channel, language, n in per_group if n]
    if not counted:
        return [], {}, {}
    last = date.fromisoformat(max(day for day, *_ in counted))
    first = max(date.fromisoformat(min(day for day, *_ in counted)), last - timedelta(days=MAX_DAYS - 1))
    days = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    index = {day: i for i, day in enumerate(days)}
    per_channel: dict[str, list[int]] = {}
    per_language: dict[str, list[int]] = {}
    for day, channel, language, n in counted:
        position = index.get(day)
        if position is None:
            continue
        per_channel.setdefault(channel, [0] * len(days))[position] += n
        per_language.setdefault(language or "unknown", [0] * len(days))[position] += n
    return days, dict(sorted(per_channel.items())), dict(sorted(per_language.items()))
