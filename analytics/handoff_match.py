"""Handoff rows matched to the session they fall in, stored on analytics_conversations when the aggregates are
written, so that a dashboard request only counts stored matches (analytics.aggregate_figures).

The rule is analytics.figures.handoff_reasons_by_conversation's: a `handoffs` or `handoff_requests` row belongs to
its sender's latest session started at or before the row's `created_at`; a session keeps its first `handoffs` row,
else its first `handoff_requests` row (handoff_src 0 or 1, handoff_at, and handoff_reason: the row's reason, or
"unknown" when it has none).

Who writes the match:
- the backfill matches every row after rebuilding (`match_all`);
- the consumer, in each batch's transaction, matches again every row of the senders the batch gave a new session
  (a new session takes over the rows created since its start: `rematch_senders`), and then the rows created since
  the watermark (`catch_up`; also every second while the queue is idle, so a handoff shows without a new event).

The watermark (analytics_meta `handoffs_matched_before`) says every row created before it is matched: a catch-up
reads the rows created at or after it and sets it to its own start minus MARGIN, so a row committed a little after
its created_at (a slow transaction) is still read by the next catch-up. A row written later with an older
created_at than that is missed until the next backfill.
"""

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, column, func, literal, select, table, union_all, update

from analytics.aggregate_schema import conversations, meta, set_meta
from analytics.support_sql import usable_tables

WATERMARK = "handoffs_matched_before"
MARGIN = 300.0  # seconds: how far before a catch-up's start the next one reads again
SOURCES = ("handoffs", "handoff_requests")  # in this order of precedence (handoff_src 0, 1)
_CHUNK = 500


def _owned_rows(connection: Connection, conditions: Any) -> list[tuple[str, int, int, float, str]]:
    """(sender, session, src, created_at, reason) of the first row of each session among the rows that pass
    `conditions(source)` (a list of SQL conditions on one source table)."""
    usable, _ = usable_tables(connection)
    sources = []
    for src, name in enumerate(SOURCES):
        if name in usable:
            source = table(name, column("sender_id"), column("created_at"), column("reason"))
            sources.append(
                select(literal(src).label("src"), source.c.sender_id, source.c.created_at, source.c.reason).where(
                    source.c.created_at.is_not(None), *conditions(source)
                )
            )
    if not sources:
        return []
    rows = union_all(*sources).subquery("r")
    earlier = conversations.alias("earlier")
    # the sender's latest session started at or before the row (sessions are numbered in start order): one seek in
    # ix_analytics_conversations_sender_start, which covers it
    owner = (
        select(earlier.c.session)
        .where(earlier.c.sender_id == rows.c.sender_id, earlier.c.started_at <= rows.c.created_at)
        .order_by(earlier.c.started_at.desc(), earlier.c.session.desc())
        .limit(1)
        .scalar_subquery()
    )
    matched = (
        select(rows.c.src, rows.c.sender_id, rows.c.created_at, rows.c.reason, owner.label("session")).cte("m").prefix_with("MATERIALIZED")
    )
    first = func.row_number().over(partition_by=[matched.c.sender_id, matched.c.session], order_by=[matched.c.src, matched.c.created_at])
    ranked = (
        select(matched.c.sender_id, matched.c.session, matched.c.src, matched.c.created_at, matched.c.reason, first.label("rn"))
        .where(matched.c.session.is_not(None))
        .subquery("k")
    )
    query = select(ranked.c.sender_id, ranked.c.session, ranked.c.src, ranked.c.created_at, ranked.c.reason).where(ranked.c.rn == 1)
    return [(str(s), int(n), int(src), float(at), str(reason or "unknown")) for s, n, src, at, reason in connection.execute(query)]


def _store(connection: Connection, owned: list[tuple[str, int, int, float, str]]) -> None:
    """Keep each candidate where its session has no row yet or a later one (by source, then time)."""
    c = conversations.c
    statement = (
        update(conversations)
        .where(
            c.sender_id == bindparam("b_sender"),
            c.session == bindparam("b_session"),
            c.handoff_src.is_(None)
            | (c.handoff_src > bindparam("b_src"))
            | ((c.handoff_src == bindparam("b_src")) & (c.handoff_at > bindparam("b_at"))),
        )
        .values(handoff_src=bindparam("b_src"), handoff_at=bindparam("b_at"), handoff_reason=bindparam("b_reason"))
    )
    parameters = [
        {"b_sender": sender, "b_session": session, "b_src": src, "b_at": at, "b_reason": reason}
        for sender, session, src, at, reason in owned
    ]
    for start in range(0, len(parameters), 2000):
        connection.execute(statement, parameters[start : start + 2000])


def _set_watermark(connection: Connection, value: float) -> None:
    set_meta(connection, {WATERMARK: repr(value)})


def watermark(connection: Connection) -> float | None:
    value = connection.execute(select(meta.c.value).where(meta.c.key == WATERMARK)).scalar()
    return None if value is None else float(value)


def match_all(connection: Connection, now: float | None = None) -> None:
    """Every row matched again (the backfill, or a database without a watermark)."""
    started = time.time() if now is None else now
    c = conversations.c
    connection.execute(
        update(conversations).where(c.handoff_src.is_not(None)).values(handoff_src=None, handoff_at=None, handoff_reason=None)
    )
    _store(connection, _owned_rows(connection, lambda source: []))
    _set_watermark(connection, started - MARGIN)


def rematch_senders(connection: Connection, senders: Sequence[str]) -> None:
    """Every row of these senders matched again (their sessions changed)."""
    c = conversations.c
    names = sorted(set(senders))
    for start in range(0, len(names), _CHUNK):
        chunk = names[start : start + _CHUNK]
        connection.execute(
            update(conversations)
            .where(c.sender_id.in_(chunk), c.handoff_src.is_not(None))
            .values(handoff_src=None, handoff_at=None, handoff_reason=None)
        )
        _store(connection, _owned_rows(connection, lambda source, chunk=chunk: [source.c.sender_id.in_(chunk)]))


def catch_up(connection: Connection, now: float | None = None) -> None:
    """Match the rows created since the watermark (every row when there is none yet) and move it on."""
    started = time.time() if now is None else now
    since = watermark(connection)
    if since is None:
        match_all(connection, started)
        return
    _store(connection, _owned_rows(connection, lambda source: [source.c.created_at >= since]))
    _set_watermark(connection, max(since, started - MARGIN))
