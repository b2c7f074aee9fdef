"""The aggregates (analytics.fold / aggregate_store / aggregate_figures) give the dashboard and /metrics
exactly the figures recomputed from the tracker store: on a synthetic month joined with hand-made
conversations (several sessions, carried slots, EXTERNAL_ triggers, handoff rows the tracker does not
show), under every filter; and folding the same events twice changes nothing."""

import re
import sqlite3
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from analytics.aggregate_figures import compute_from_aggregates
from analytics.aggregate_schema import conversations, daily, engine_for
from analytics.aggregate_store import apply_events, rebuild
from analytics.backfill import tracker_events
from analytics.figures import Figures, Filters, compute
from analytics.prometheus import SupportCounts, exposition
from analytics.support_db import SupportData, read_support_data
from analytics.support_sql import support_counts, usable_tables
from analytics.tracker import iter_conversations
from bench.analytics_dashboard import synthetic_data
from support_app.console.dashboard import parse_filters
from tests.analytics.test_reader import (
    T0,
    action,
    kb_answer,
    kb_not_sure,
    session_start,
    support_db,
    user,
    write_tracker,
)

TZ = ZoneInfo("Europe/Istanbul")
FILTERS = [
    {},
    {"channel": "web"},
    {"channel": "whatsapp", "language": "tr"},
    {"language": "en"},
    {"channel": "rest"},
    {"from": "2026-09-01", "to": "2026-09-30"},
    {"from": "2020-01-01"},
]


def hand_made() -> dict[str, list[dict[str, Any]]]:
    """Conversations the synthetic month lacks (test_reader's, plus an empty session and a mid-session language change)."""
    return {
        "web:ayse": [
            *session_start(T0),
            *user(T0 + 10, "kargom nerede", "faq"),
            *kb_answer(T0 + 11.5, "track-tr", 0.8, "kargom nerede"),
            *user(T0 + 20, "/answer_helpful", "answer_helpful", 1.0),
            *action(T0 + 20.5, "action_record_feedback", "utter_feedback_thanks", kb_feedback="up"),
            *session_start(T0 + 7200, language="tr", kb_answered=True, kb_article_id="track-tr", kb_query="kargom nerede"),
            *user(T0 + 7210, "merhaba", "greet"),
            *action(T0 + 7213, "utter_greet", "utter_greet"),
        ],
        "whatsapp:+905551110001": [
            *session_start(T0 + 100),
            *user(T0 + 110, "my card 4111 1111 1111 1111 was charged twice", "nlu_fallback", 0.3, "en"),
            *kb_not_sure(T0 + 112, "my card 4111 1111 1111 1111 was charged twice"),
            *user(T0 + 130, "/request_human", "request_human", 1.0, "en"),
            *action(T0 + 131, "action_request_human", "utter_handoff_recorded", handoff_requested=True),
        ],
        "rest-1": [
            *session_start(T0 + 200),
            *user(T0 + 205, "hello", "greet", language="en"),
            *session_start(T0 + 300),
            *session_start(T0 + 400),  # empty sessions merge into one
            *user(T0 + 410, "Nerede   KARGOM", "faq", language="en"),
            *user(T0 + 411, "kargom", "faq", language="tr"),
            *kb_not_sure(T0 + 412, ""),
        ],
        "web:ghost": [*session_start(T0 + 300), *user(T0 + 301, None, "EXTERNAL_handoff_closed")],
    }


def append_events(path: Path, conversations_: dict[str, list[dict[str, Any]]]) -> None:
    import json

    with sqlite3.connect(path) as db:
        for sender, events in conversations_.items():
            for event in events:
                db.execute(
                    "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) VALUES (?, ?, ?, ?, ?, ?)",
                    (sender, event["event"], event["timestamp"], None, event.get("name"), json.dumps(event)),
                )


def month(state: Path, conversations_: int = 1200) -> tuple[Path, Path]:
    """The bench's synthetic month plus the hand-made conversations and test_reader's support rows."""
    synthetic_data(state, conversations_)
    append_events(state / "tracker.sqlite3", hand_made())
    support = support_db(state / "support.sqlite3")
    with sqlite3.connect(support) as db, sqlite3.connect(state / "destek.sqlite3") as month_db:
        db.executemany(
            "INSERT INTO handoffs (sender_id, channel, language, reason, status, created_at, first_agent_reply_at, closed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            month_db.execute(
                "SELECT sender_id, channel, language, reason, status, created_at, first_agent_reply_at, closed_at FROM handoffs"
            ),
        )
        db.executemany(
            "INSERT INTO csat_ratings VALUES (?, ?, ?, ?, ?)",
            month_db.execute("SELECT handoff_id, sender_id, channel, rating, created_at FROM csat_ratings"),
        )
        # handoff requests: one in rest-1's merged session, one before any session of its sender
        db.execute("CREATE TABLE handoff_requests (sender_id TEXT, language TEXT, reason TEXT, created_at REAL)")
        db.executemany(
            "INSERT INTO handoff_requests VALUES (?, ?, ?, ?)",
            [
                ("rest-1", "en", "kb_no_answer", T0 + 415),
                ("web:ayse", "tr", "early", T0 - 5),
                ("whatsapp:+905551110001", "en", "dup", T0 + 132),
            ],
        )
    return state / "tracker.sqlite3", support


def support_copy(support: Path, path: Path) -> Path:
    """A copy of a support database (its handoff rows included) for a consumer to fold the same events into."""
    with sqlite3.connect(support) as source, sqlite3.connect(path) as copy:
        source.backup(copy)
    source.close()
    copy.close()
    return path


def recomputed(tracker: Path, data: SupportData, filters: Filters) -> Figures:
    return compute(list(iter_conversations(tracker, since=filters.since)), data, filters)


def same_figures(got: Figures, expected: Figures) -> bool:
    """Equal in every field; the times' means to a microsecond (the aggregates sum whole microseconds for the bot's,
    SQL sums the human ones in its own order)."""
    for name in ("first_response_bot", "resolution_bot", "first_response_human", "resolution_human"):
        mine, theirs = getattr(got, name), getattr(expected, name)
        if mine is None or theirs is None:
            assert mine is theirs is None
            continue
        assert (mine.mean is None) == (theirs.mean is None) and (mine.mean is None or mine.mean == pytest.approx(theirs.mean, abs=1e-6))
        mine.mean = theirs.mean
    assert got == expected
    return True


def filters_of(params: dict[str, str]) -> Filters:
    return parse_filters(params, TZ, datetime.now(TZ).date())[0]


def table_rows(engine: Engine) -> tuple[list[Any], list[Any]]:
    with engine.connect() as connection:
        return (
            sorted(tuple(r) for r in connection.execute(select(conversations))),
            sorted(tuple(r) for r in connection.execute(select(daily))),
        )


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Engine]:
    tracker, support = month(tmp_path_factory.mktemp("month"))
    engine = engine_for(f"sqlite:///{support}")
    rebuild(engine, tracker_events(engine_for(f"sqlite:///{tracker}")), TZ)
    return tracker, support, engine


@pytest.mark.parametrize("params", FILTERS, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()) or "default")
def test_dashboard_figures_from_aggregates_equal_the_recomputed_ones(stores: tuple[Path, Path, Engine], params: dict[str, str]) -> None:
    tracker, support, engine = stores
    data = read_support_data(support)
    filters = filters_of(params)
    expected = recomputed(tracker, data, filters)
    assert same_figures(compute_from_aggregates(engine, filters), expected)
    if not params:
        assert expected.conversations > 1000 and expected.handed_off > 100 and expected.top_unanswered and expected.top_articles


def test_metrics_from_aggregates_equal_the_recomputed_ones(stores: tuple[Path, Path, Engine]) -> None:
    tracker, support, engine = stores
    data = read_support_data(support)
    everything = Filters(timezone=TZ)
    from_tracker = recomputed(tracker, data, everything)
    assert from_tracker.conversations == 1200 + 5  # ayse 2, whatsapp 1, rest-1 2 (web:ghost has no customer message)
    from_aggregates = compute_from_aggregates(engine, everything)
    assert same_figures(from_aggregates, from_tracker)
    with engine.connect() as connection:
        counted = support_counts(connection, usable_tables(connection)[0])
    assert counted == SupportCounts.of_rows(data)
    assert exposition(from_aggregates, counted) == exposition(from_tracker, SupportCounts.of_rows(data))
    # /metrics computes only what it shows: the same exposition
    assert exposition(compute_from_aggregates(engine, everything, metrics_only=True), counted) == exposition(from_aggregates, counted)


def test_hand_made_sessions_count_as_the_reader_counts_them(stores: tuple[Path, Path, Engine]) -> None:
    """rest-1's empty sessions merge; its language is the last one set; the handoff request row hands it off."""
    _, _, engine = stores
    with engine.connect() as connection:
        rest = connection.execute(select(conversations).where(conversations.c.sender_id == "rest-1")).mappings().all()
    assert [(r["session"], r["language"], r["user_turns"], r["started_at"]) for r in rest] == [
        (0, "en", 1, T0 + 200),
        (1, "tr", 2, T0 + 300),
    ]


def test_events_folded_twice_change_nothing(tmp_path: Path, stores: tuple[Path, Path, Engine]) -> None:
    """At-least-once delivery: each event once, then all of them again in batches, then a batch repeated. The consumer's
    database holds the same support tables: its batches match the handoff rows to the same sessions as the backfill."""
    tracker, support, backfilled = stores
    events = list(tracker_events(engine_for(f"sqlite:///{tracker}")))
    engine = engine_for(f"sqlite:///{support_copy(support, tmp_path / 'consumer.sqlite3')}")
    rebuild(engine, [], TZ)
    for start in range(0, len(events), 997):
        apply_events(engine, events[start : start + 997], TZ)
    once = table_rows(engine)
    assert once == table_rows(backfilled)
    assert apply_events(engine, events, TZ) == 0
    assert apply_events(engine, events[5000:5300] + events[5000:5300], TZ) == 0
    assert table_rows(engine) == once


def rendered(tracker: Path, support: Path, source: str) -> tuple[str, str]:
    """GET /dashboard (30 days and one filter) and GET /metrics through the real app with ANALYTICS_SOURCE=source;
    the per-response nonce and CSRF token taken out."""
    from fastapi.testclient import TestClient

    from bench.analytics_dashboard import environment
    from support_app.app import create_app

    settings = {
        "RASA_TRACKER_DB": str(tracker),
        "DESTEK_DB": str(support),
        "DESTEK_DATABASE_URL": f"sqlite:///{support}",
        "ANALYTICS_SOURCE": source,
        "ANALYTICS_TIMEZONE": TZ.key,
        "STAFF_DEMO_PASSWORD": "aggregates-test-password",
        "METRICS_TOKEN": "aggregates-test-token",
    }
    with environment(settings), TestClient(create_app()) as client:
        csrf = client.get("/staff/login").text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        client.post("/staff/login", data={"login": "admin", "password": "aggregates-test-password", "csrf": csrf})
        pages = [client.get(path) for path in ("/dashboard", "/dashboard?channel=whatsapp&language=en&from=2026-09-01")]
        metrics = client.get("/metrics", headers={"Authorization": "Bearer aggregates-test-token"})
    assert all(page.status_code == 200 for page in [*pages, metrics])
    html = "".join(re.sub(r'(nonce|value|content)="[^"]*"', "", page.text) for page in pages)
    return html, metrics.text


def test_dashboard_and_metrics_pages_read_the_aggregates_with_the_same_figures(stores: tuple[Path, Path, Engine], tmp_path: Path) -> None:
    tracker, support, _ = stores
    recomputed_html, recomputed_metrics = rendered(tracker, support, "tracker")
    assert "destek_conversations_total" in recomputed_metrics and "kb_no_answer" in recomputed_html
    # no tracker store at all: the figures can only come from the aggregates
    aggregated_html, aggregated_metrics = rendered(tmp_path / "no-tracker.sqlite3", support, "auto")
    assert aggregated_metrics == recomputed_metrics
    assert aggregated_html == recomputed_html


def matches(engine: Engine, sender: str) -> list[tuple[int, str | None]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(conversations.c.session, conversations.c.handoff_reason)
            .where(conversations.c.sender_id == sender)
            .order_by(conversations.c.session)
        )
        return [(int(session), reason) for session, reason in rows]


def test_the_consumer_matches_handoff_rows_written_before_or_after_their_session(tmp_path: Path) -> None:
    """Rasa's events and the support tables' handoff rows arrive in any order: a row written after its session was
    folded is matched by the next catch-up (the idle consumer's, or the next batch's); a row matched to the sender's
    session before a newer session's events arrived moves to the newer one when they do. Then the figures equal the
    ones recomputed from the tracker store."""
    from analytics import handoff_match
    from storage.migrate import upgrade

    support = tmp_path / "destek.sqlite3"
    upgrade(support)  # the support tables as production has them
    engine = engine_for(f"sqlite:///{support}")
    rebuild(engine, [], TZ)
    now = time.time()
    sender = "web:late"
    first = [*session_start(now - 100), *user(now - 95, "iade istiyorum", "refund"), *kb_not_sure(now - 94, "iade")]
    second = [*session_start(now - 20), *user(now - 15, "kargom nerede", "faq")]
    apply_events(engine, [(sender, e) for e in first], TZ)
    assert matches(engine, sender) == [(0, None)]

    with sqlite3.connect(support) as db:  # the bot's handoff request, written after the consumer folded the session
        db.execute(
            "INSERT INTO handoff_requests (sender_id, language, reason, created_at) VALUES (?, 'tr', 'kb_no_answer', ?)", (sender, now - 90)
        )
    with engine.begin() as connection:  # what the idle consumer does each second
        handoff_match.catch_up(connection)
    assert matches(engine, sender) == [(0, "kb_no_answer")]

    with sqlite3.connect(support) as db:  # an agent's handoff in the second session, before its events are folded
        db.execute(
            "INSERT INTO handoffs (sender_id, channel, language, reason, priority, status, created_at) "
            "VALUES (?, 'web', 'tr', 'customer_asked', 0, 'queued', ?)",
            (sender, now - 10),
        )
    with engine.begin() as connection:
        handoff_match.catch_up(connection)
    assert matches(engine, sender) == [(0, "customer_asked")]  # the handoffs row wins in the only session known yet
    apply_events(engine, [(sender, e) for e in second], TZ)
    assert matches(engine, sender) == [(0, "kb_no_answer"), (1, "customer_asked")]

    tracker = write_tracker(tmp_path / "tracker.sqlite3", {sender: first + second})
    everything = Filters(timezone=TZ)
    expected = recomputed(tracker, read_support_data(support), everything)
    assert expected.handed_off == 2 and dict(expected.handoff_reasons) == {"kb_no_answer": 1, "customer_asked": 1}
    assert same_figures(compute_from_aggregates(engine, everything), expected)


def test_a_dashboard_request_counts_stored_matches_and_reads_no_handoff_row(stores: tuple[Path, Path, Engine]) -> None:
    """The handoff rows were matched to their sessions when the aggregates were written: a request does not read
    handoff_requests at all, reads handoffs only for the human times (by created_at), and counts the sessions with
    a handoff row from the partial index over them (no table rows fetched)."""
    from sqlalchemy import event

    _, _, engine = stores
    statements: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        compute_from_aggregates(engine, filters_of({}))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    reads = [(s, p) for s, p in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
    assert not [s for s, _ in reads if "handoff_requests" in s]
    assert all("handoffs.created_at >=" in s for s, _ in reads if re.search(r"\bFROM handoffs\b", s))
    counted = [(s, p) for s, p in reads if "handoff_reason IS NOT NULL" in s]
    assert len(counted) == 1
    with engine.connect() as connection:
        plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + counted[0][0], tuple(counted[0][1])))
    assert "COVERING INDEX ix_analytics_conversations_handoff" in plan, plan
