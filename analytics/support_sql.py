"""The support-database half of the dashboard and /metrics, computed in SQL where the aggregates live.

The same definitions as analytics.figures and analytics.prometheus compute from the rows read by
analytics.support_db, without reading any table whole: handoffs and CSAT ratings are selected by
`created_at` (indexed, migration 0003), counted and summed in SQL; the human times fetch only the two
differences of the range's handoffs, in one query, for Durations.of. A table that does not exist, or lacks the columns
analytics relies on, is `None` ("no data") exactly as analytics.support_db reports it.
"""

import gc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Integer, case, cast, column, func, inspect, literal, null, select, table, text
from sqlalchemy.sql.elements import ColumnElement

from analytics.figures import OUTCOMES, CampaignRow, Csat, Durations, Filters, recipient_outcome
from analytics.prometheus import SupportCounts
from analytics.support_db import COLUMNS

_TABLES = {name: table(name, *(column(c) for c in columns)) for name, columns in COLUMNS.items()}
handoffs, csat_ratings, campaigns, recipients, answer_feedback, handoff_requests = (
    _TABLES[name] for name in ("handoffs", "csat_ratings", "campaigns", "campaign_recipients", "answer_feedback", "handoff_requests")
)


def usable_tables(connection: Connection) -> tuple[set[str], list[str]]:
    """The support tables analytics can read, and a line per table that lacks columns (as analytics.support_db)."""
    present: dict[str, set[str]] = {}
    if connection.dialect.name == "postgresql":  # one catalog query instead of the inspector's one per table
        for name, column_name in connection.execute(
            text(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = ANY(:names)"
            ),
            {"names": list(COLUMNS)},
        ):
            present.setdefault(str(name), set()).add(str(column_name))
    else:
        schema = inspect(connection)
        for name in set(schema.get_table_names()) & set(COLUMNS):
            present[name] = {c["name"] for c in schema.get_columns(name)}
    usable: set[str] = set()
    problems: list[str] = []
    for name, columns in COLUMNS.items():
        if name not in present:
            continue
        missing = [c for c in columns if c not in present[name]]
        if missing:
            problems.append(f"table {name} lacks column(s) {', '.join(missing)} (see docs/interfaces.md); shown as no data")
        else:
            usable.add(name)
    return usable, problems


def channel_of(sender_id: Any) -> ColumnElement[str]:
    """analytics.tracker.channel_of in SQL (prefixes compared exactly: SQLite's LIKE ignores case)."""
    return case(
        (func.substr(sender_id, 1, 4) == "web:", literal("web")),
        (func.substr(sender_id, 1, 9) == "whatsapp:", literal("whatsapp")),
        else_=literal("rest"),
    )


def _in_range(created_at: Any, filters: Filters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [created_at.is_not(None)]
    if filters.since is not None:
        conditions.append(created_at >= filters.since)
    if filters.until is not None:
        conditions.append(created_at < filters.until)
    return conditions


def _matches(sender_id: Any, language: Any, filters: Filters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.channel is not None:
        conditions.append(channel_of(sender_id) == filters.channel)
    if filters.language is not None:
        conditions.append(language == filters.language)
    return conditions


def human_durations(connection: Connection, filters: Filters) -> tuple[Durations, Durations]:
    """The two human times, Durations.of(h.first_agent_reply_at - h.created_at) and Durations.of(h.closed_at -
    h.created_at), over the handoffs created in the range (channel from the sender id, language of the handoff):
    both differences of the selected rows fetched in one query (two numbers a row, no row read whole), sorted in
    Python. Exactly the recompute's figures (mean included), in one pass instead of a count and a sort per time."""
    h = handoffs.c
    where = [*_in_range(h.created_at, filters), *_matches(h.sender_id, h.language, filters)]
    with _cyclic_gc_paused():
        rows = connection.execute(
            select(h.first_agent_reply_at - h.created_at, h.closed_at - h.created_at).select_from(handoffs).where(*where)
        ).all()
        first_reply = Durations.of(float(v) for v, _ in rows if v is not None)
        closed = Durations.of(float(v) for _, v in rows if v is not None)
        del rows
    return first_reply, closed


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a block makes many short-lived, acyclic objects (one row tuple
    a handoff): they are freed by reference counting when the block ends, so no collection is owed; left running, the
    allocations trigger full collections of the whole process (measured: +17 ms on a third of the /dashboard requests
    at 100,000 conversations in a bare process, more in the app). Re-enabled only by the caller that paused it."""
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def csat(
    connection: Connection, filters: Filters, usable: set[str], per_day: bool = True
) -> tuple[Csat | None, dict[str, Csat], list[tuple[str, Csat]]]:
    """analytics.figures._csat in SQL: ratings created in the range, channel from the rating's sender id, language
    from its handoff; per channel and per calendar day of `filters.timezone` (per_day False: the per-day list is left
    empty, for /metrics). A bounded range is counted in one grouped pass (per channel and day: the per-channel and
    overall figures are its sums); an open range first finds its first and last rating."""
    if "csat_ratings" not in usable:
        return None, {}, []
    r = csat_ratings.c
    source: Any = csat_ratings
    language: Any = null()
    if "handoffs" in usable:
        source = csat_ratings.outerjoin(handoffs, handoffs.c.id == r.handoff_id)
        language = handoffs.c.language
    where = [*_in_range(r.created_at, filters), *_matches(r.sender_id, language, filters)]
    counted = (func.count(), func.sum(r.rating), func.sum(case((r.rating >= 4, 1), else_=0)))
    channel = channel_of(r.sender_id)
    if per_day and filters.since is not None and filters.until is not None:
        days, index = _day_index(connection, r.created_at, filters.since, max(filters.since, filters.until - 1), filters)
        cells = connection.execute(select(channel, index, *counted).select_from(source).where(*where).group_by(channel, index)).all()
        by_channel: dict[str, list[int]] = {}
        by_day: dict[str, list[int]] = {}
        for name, position, *sums in cells:
            for bucket in (by_channel.setdefault(str(name), [0, 0, 0]), by_day.setdefault(days[int(position)], [0, 0, 0])):
                for i, value in enumerate(sums):
                    bucket[i] += int(value or 0)
        overall = _csat_of(*(sum(b[i] for b in by_channel.values()) for i in range(3)))
        if overall.count == 0:
            return overall, {}, []
        per_channel = {name: _csat_of(*b) for name, b in by_channel.items() if b[0]}
        return overall, dict(sorted(per_channel.items())), sorted((day, _csat_of(*b)) for day, b in by_day.items() if b[0])
    # per channel, with the range's first and last rating: the overall figures are their sums (one pass, not three)
    groups = connection.execute(
        select(channel, *counted, func.min(r.created_at), func.max(r.created_at)).select_from(source).where(*where).group_by(channel)
    ).all()
    overall = _csat_of(*(sum(int(row[i] or 0) for row in groups) for i in (1, 2, 3)))
    if overall.count == 0:
        return overall, {}, []
    per_channel = {str(name): _csat_of(n, total, satisfied) for name, n, total, satisfied, _, _ in groups if n}
    if not per_day:
        return overall, dict(sorted(per_channel.items())), []
    first = min(float(row[4]) for row in groups if row[1])
    last = max(float(row[5]) for row in groups if row[1])
    days, index = _day_index(connection, r.created_at, first, last, filters)
    per_day_counts = {
        days[int(position)]: _csat_of(n, total, satisfied)
        for position, n, total, satisfied in connection.execute(select(index, *counted).select_from(source).where(*where).group_by(index))
    }
    return overall, dict(sorted(per_channel.items())), sorted(per_day_counts.items())


def _csat_of(n: Any, total: Any, satisfied: Any) -> Csat:
    count = int(n or 0)
    if count == 0:
        return Csat(0, None, None)
    return Csat(count, int(total) / count, int(satisfied) / count)


def _day_index(connection: Connection, timestamp: Any, first: float, last: float, filters: Filters) -> tuple[list[str], Any]:
    """The calendar days (in filters.timezone) from `first` to `last`, and a SQL expression giving each timestamp's
    position in that list. Days are cut where Python cuts them (each day starts at its local midnight). A run of
    86,400 s days is one branch (position of its first day + whole days since its start); a day of another length
    (a change of the UTC offset: 23 or 25 hours) is a branch of its own."""
    zone = filters.timezone
    day, end = datetime.fromtimestamp(first, zone).date(), datetime.fromtimestamp(last, zone).date()
    days, starts = [], []
    while day <= end + timedelta(days=1):  # one more start: the end of the last day
        days.append(day)
        starts.append(datetime.combine(day, time(), zone).timestamp())
        day += timedelta(days=1)
    branches: list[tuple[Any, Any]] = []
    run_open = False
    for position in range(len(days) - 1):
        start = starts[position]
        if starts[position + 1] - start != 86400:
            branches.append((timestamp >= start, literal(position)))
            run_open = False
        elif not run_open:
            branches.append((timestamp >= start, position + _whole(connection, (timestamp - start) / 86400)))
            run_open = True
    return [d.isoformat() for d in days[:-1]], case(*reversed(branches), else_=0)


def _whole(connection: Connection, value: Any) -> Any:
    """floor() of a non-negative number: PostgreSQL's floor, SQLite's integer cast (which truncates)."""
    if connection.dialect.name == "postgresql":
        return cast(func.floor(value), Integer)
    return cast(value, Integer)


def campaigns_of(connection: Connection, filters: Filters, usable: set[str]) -> list[CampaignRow] | None:
    """analytics.figures._campaigns in SQL: recipients counted per campaign root, state and delivery."""
    if not {"campaigns", "campaign_recipients"} <= usable:
        return None
    c, r = campaigns.c, recipients.c
    root = func.coalesce(func.nullif(c.parent_id, 0), c.id, r.campaign_id)
    grouped = connection.execute(
        select(
            root, r.state, r.delivery, func.count(), func.sum(func.coalesce(r.replied, 0)), func.sum(func.coalesce(r.opted_out_after, 0))
        )
        .select_from(recipients.outerjoin(campaigns, c.id == r.campaign_id))
        .group_by(root, r.state, r.delivery)
    )
    outcomes: dict[Any, Counter[str]] = {}
    replies: Counter[Any] = Counter()
    opt_outs: Counter[Any] = Counter()
    for campaign, state, delivery, n, replied, opted in grouped:
        outcomes.setdefault(campaign, Counter())[recipient_outcome({"state": state, "delivery": delivery})] += int(n)
        replies[campaign] += int(replied or 0)
        opt_outs[campaign] += int(opted or 0)
    created = func.coalesce(c.created_at, 0)
    top = [created >= filters.since] if filters.since is not None else []
    top += [created < filters.until] if filters.until is not None else []
    rows = []
    for campaign, name in connection.execute(
        select(c.id, c.name).where(func.coalesce(c.parent_id, 0) == 0, *top).order_by(created.desc(), c.id)
    ):
        counted = outcomes.get(campaign, Counter())
        shown = (*OUTCOMES, *sorted(set(counted) - set(OUTCOMES)))
        rows.append(
            CampaignRow(
                str(name), sum(counted.values()), {o: counted[o] for o in shown if counted[o]}, replies[campaign], opt_outs[campaign]
            )
        )
    return rows


def support_counts(connection: Connection, usable: set[str]) -> SupportCounts:
    """SupportCounts.of_rows counted in SQL, over everything stored."""
    feedback: Counter[bool] | None = None
    requests: Counter[str] | None = None
    by_reason: Counter[tuple[str, str]] | None = None
    outcomes: Counter[str] | None = None
    opt_outs: int | None = None
    if "answer_feedback" in usable:
        helpful = case((answer_feedback.c.helpful != 0, True), else_=False)
        feedback = Counter({bool(k): int(n) for k, n in connection.execute(select(helpful, func.count()).group_by(helpful))})
    if "handoff_requests" in usable:
        reason = handoff_requests.c.reason
        requests = Counter({str(k): int(n) for k, n in connection.execute(select(reason, func.count()).group_by(reason))})
    if "handoffs" in usable:
        h = handoffs.c
        by_reason = Counter(
            {
                (str(k), str(s)): int(n)
                for k, s, n in connection.execute(select(h.reason, h.status, func.count()).group_by(h.reason, h.status))
            }
        )
    if "campaign_recipients" in usable:
        r = recipients.c
        counted: Counter[str] = Counter()
        opted_out = 0
        for state, delivery, n, opted in connection.execute(
            select(r.state, r.delivery, func.count(), func.sum(func.coalesce(r.opted_out_after, 0))).group_by(r.state, r.delivery)
        ):
            counted[recipient_outcome({"state": state, "delivery": delivery})] += int(n)
            opted_out += int(opted or 0)
        outcomes, opt_outs = counted, opted_out
    return SupportCounts(feedback, requests, by_reason, outcomes, opt_outs)
