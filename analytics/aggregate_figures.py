"""The dashboard's figures read from the aggregate tables instead of re-reading every tracker event.

Same definitions and the same results as analytics.figures.compute (tests/analytics/test_aggregates.py
proves it on a synthetic month); handoff rows were matched to their sessions when the aggregates were written
(analytics.handoff_match), and the support tables (handoffs, CSAT, campaigns) are counted in SQL (analytics.support_sql):
nothing is read whole.
"""

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, false, func, inspect, select
from sqlalchemy.sql.elements import ColumnElement

from analytics import support_sql
from analytics.aggregate_schema import conversations, daily, stored_meta
from analytics.figures import MAX_DAYS, TOP, ArticleRow, Durations, Figures, Filters, ranked
from analytics.handoff_match import WATERMARK

KINDS = ("intent", "kb", "article", "helpful", "not_helpful", "handed_off", "first_response", "resolution")


def available(engine: Engine, filters: Filters) -> bool:
    """Aggregates exist, were backfilled, have their handoff rows matched (analytics.handoff_match), and count days
    in the filters' time zone."""
    if not inspect(engine).has_table("analytics_meta"):
        return False
    with engine.connect() as connection:
        known = stored_meta(connection)
    return "backfilled_at" in known and WATERMARK in known and known.get("timezone") == filters.timezone.key


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


def compute_from_aggregates(engine: Engine, filters: Filters, metrics_only: bool = False) -> Figures:
    """The dashboard's figures: the tracker-store half from the aggregate tables, the support-table half
    (handoffs, CSAT, campaigns) counted in SQL in the same database (analytics.support_sql); one connection.

    metrics_only: only what /metrics shows (analytics.prometheus.families: conversations per channel, containment,
    KB answers, the CSAT count and mean); the other figures (bot and human times, top lists, per-day charts, CSAT
    per day, campaigns) are left empty instead of computed."""
    selection = _where(conversations, filters)
    daily_where = _where(daily, filters)
    c = conversations.c
    with engine.connect() as connection:
        usable, problems = support_sql.usable_tables(connection)
        per_group = connection.execute(
            select(daily.c.day, daily.c.channel, daily.c.language, func.sum(daily.c.n))
            .where(*daily_where, daily.c.kind == "conversations")
            .group_by(daily.c.day, daily.c.channel, daily.c.language)
        ).all()
        totals: dict[str, Counter[str]] = defaultdict(Counter)
        for kind, key, n in connection.execute(
            select(daily.c.kind, daily.c.key, func.sum(daily.c.n))
            .where(*daily_where, daily.c.kind.in_(KINDS))
            .group_by(daily.c.kind, daily.c.key)
        ):
            totals[kind][key] += int(n)
        unanswered = [] if metrics_only else _top_unanswered(connection, daily_where)
        slot_handed = totals["handed_off"][""]
        reason_counts, unmarked, taken_out = _handoff_matches(connection, selection)
        none = Durations(0, None, None, None)
        first_response = resolution = none
        first_response_human: Durations | None = None
        resolution_human: Durations | None = None
        campaigns = None
        if not metrics_only:
            first_response = _durations(connection, c.first_response_s, selection, totals["first_response"])
            resolution_sums = Counter(
                {
                    "n": totals["resolution"]["n"] - len(taken_out),
                    "us": totals["resolution"]["us"] - sum(round(v * 1_000_000) for v in taken_out),
                }
            )
            # the sessions with a handoff row are not contained (those the bot marked have no resolution time anyway)
            resolution = _durations(connection, c.resolution_s, [*selection, c.handoff_reason.is_(None)], resolution_sums)
            if "handoffs" in usable:
                first_response_human, resolution_human = support_sql.human_durations(connection, filters)
            campaigns = support_sql.campaigns_of(connection, filters, usable)
        csat_overall, csat_per_channel, csat_per_day = support_sql.csat(connection, filters, usable, per_day=not metrics_only)
    total = sum(int(n) for *_, n in per_group)
    handed = slot_handed + unmarked
    by_channel: Counter[str] = Counter()
    for _, channel, _, n in per_group:
        by_channel[channel] += int(n)
    days, per_channel, per_language = ([], {}, {}) if metrics_only else _per_day(per_group)
    reason_counts["unknown"] += slot_handed - (sum(reason_counts.values()) - unmarked)
    articles = [
        ArticleRow(article, n, totals["helpful"][article], totals["not_helpful"][article]) for article, n in totals["article"].items() if n
    ]
    return Figures(
        conversations=total,
        by_channel={channel: n for channel, n in sorted(by_channel.items()) if n},
        days=days,
        per_day_channel=per_channel,
        per_day_language=per_language,
        contained=total - handed,
        handed_off=handed,
        handoff_reasons=ranked(+reason_counts),
        first_response_bot=first_response,
        resolution_bot=resolution,
        first_response_human=first_response_human,
        resolution_human=resolution_human,
        csat_overall=csat_overall,
        csat_per_channel=csat_per_channel,
        csat_per_day=csat_per_day,
        top_intents=[] if metrics_only else ranked(+totals["intent"], TOP),
        top_articles=[] if metrics_only else sorted(articles, key=lambda r: (-r.answers, r.article_id))[:TOP],
        kb_answered=totals["kb"]["answered"],
        kb_unanswered=totals["kb"]["unanswered"],
        top_unanswered=unanswered,
        campaigns=campaigns,
        problems=problems,
    )


def _durations(connection: Any, value: Any, conditions: list[ColumnElement[bool]], sums: Counter[str]) -> Durations:
    """n, median, p90 (nearest rank) and mean of a column, as Durations.of computes them (negative
    values left out): n and the sum from the daily counts, the two ranks read in index order
    instead of fetching every value: the median from the low end, the 90th percentile from the high end (its
    nearest rank counted from the top: a tenth of the walk instead of nine tenths). The mean comes from a sum of
    whole microseconds, so it may differ from Python's exact mean by less than a microsecond."""
    n = int(sums["n"])
    if n <= 0:
        return Durations(0, None, None, None)
    where = [*conditions, value >= 0]

    def ranked_values(order: Any, offset: int, count: int) -> list[float]:
        return [v for (v,) in connection.execute(select(value).where(*where).order_by(order).offset(offset).limit(count))]

    middle = ranked_values(value, (n - 1) // 2, 1 if n % 2 else 2)
    median = middle[0] if n % 2 else (middle[0] + middle[1]) / 2
    p90 = ranked_values(value.desc(), n - math.ceil(0.9 * n), 1)[0]  # 0-based rank ceil(0.9 n) - 1 from the low end
    return Durations(n, median, p90, sums["us"] / n / 1_000_000)


def _top_unanswered(connection: Any, daily_where: list[ColumnElement[bool]]) -> list[tuple[str, int]]:
    """The TOP most asked, ties by text in code-point order (as analytics.figures.ranked sorts them)."""
    total = func.sum(daily.c.n)
    key = daily.c.key.collate("C") if connection.dialect.name == "postgresql" else daily.c.key
    grouped = (
        select(daily.c.key, total)
        .where(*daily_where, daily.c.kind == "unanswered")
        .group_by(daily.c.key)
        .having(total > 0)
        .order_by(total.desc(), key)
        .limit(TOP)
    )
    return [(str(k), int(n)) for k, n in connection.execute(grouped)]


def _handoff_matches(connection: Any, selection: list[ColumnElement[bool]]) -> tuple[Counter[str], int, list[float]]:
    """The selected conversations with a handoff row (matched to their session when the aggregates were written,
    analytics.handoff_match), counted per reason from ix_analytics_conversations_handoff: their reasons, how many
    of them the bot did not mark handed off, and those ones' bot resolution times (to take out of the bot's)."""
    c = conversations.c
    where = [c.handoff_reason.is_not(None), c.user_turns > 0, *selection]
    reasons: Counter[str] = Counter()
    unmarked = 0
    for reason, handed_off, n in connection.execute(
        select(c.handoff_reason, c.handed_off, func.count()).where(*where).group_by(c.handoff_reason, c.handed_off)
    ):
        reasons[str(reason)] += int(n)
        unmarked += 0 if handed_off else int(n)
    taken_out: list[float] = []
    if unmarked:  # rare: a handoff the bot did not record (an agent took over)
        taken_out = [
            float(v) for (v,) in connection.execute(select(c.resolution_s).where(*where, c.handed_off == false(), c.resolution_s >= 0))
        ]
    return reasons, unmarked, taken_out


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
