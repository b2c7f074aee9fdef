"""The support tables' half of the dashboard counted in SQL (analytics.support_sql) equals what analytics.figures
computes from the same rows read whole, on the migrated schema of SQLite and PostgreSQL: CSAT per local day across
both daylight-saving changes of a year (days of 23 and 25 hours), per channel, per language; the human times;
campaigns; and the /metrics counts."""

import random
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from analytics import support_sql
from analytics.aggregate_schema import engine_for
from analytics.figures import Durations as PyDurations
from analytics.figures import Filters, _campaigns, _csat, _handoffs_in
from analytics.prometheus import SupportCounts
from analytics.support_db import read_support_data
from storage import schema
from storage.database import Database, url_of
from storage.migrate import upgrade

BERLIN = ZoneInfo("Europe/Berlin")
SENDERS = ["web:a", "whatsapp:+905551112233", "rest-1", "WEB:upper", "webx"]


def fill(database: Database) -> None:
    """400 handoffs and ratings around the 2026 clock changes in Berlin (29 March, 25 October), some at midnight."""
    rng = random.Random(5)
    spring, autumn = datetime(2026, 3, 27, tzinfo=BERLIN).timestamp(), datetime(2026, 10, 23, tzinfo=BERLIN).timestamp()
    handoffs, ratings = [], []
    for number in range(1, 401):
        created = (spring if number % 2 else autumn) + rng.choice([rng.uniform(0, 4 * 86400), rng.randint(0, 4) * 86400 + 0.0])
        sender = rng.choice(SENDERS)
        reply = rng.choice([None, created + rng.uniform(-5, 900)])
        handoffs.append(
            {
                "id": number,
                "sender_id": sender,
                "channel": "webchat",
                "language": rng.choice(["tr", "en", None]),
                "reason": rng.choice(["customer_asked", "kb_no_answer", ""]),
                "priority": 0,
                "status": rng.choice(["queued", "closed"]),
                "created_at": created,
                "first_agent_reply_at": reply,
                "closed_at": rng.choice([None, created + rng.uniform(0, 7200)]),
            }
        )
        if rng.random() < 0.6:
            handoff = rng.choice([number, None])
            ratings.append(
                {"handoff_id": handoff, "sender_id": sender, "channel": "x", "rating": rng.randint(1, 5), "created_at": created + 60}
            )
    campaign = {"kind": "k", "purpose": "service", "channel": "whatsapp", "messages": "{}", "audience": "{}", "send_at": 0}
    campaign |= {"timezone": "UTC", "quiet_hours": 0, "rate": 1, "status": "done", "updated_at": 0}
    campaigns = [
        {**campaign, "id": 1, "name": "one", "created_at": spring},
        {**campaign, "id": 2, "name": "weekly", "created_at": autumn},
        {**campaign, "id": 3, "name": "weekly run", "parent_id": 2, "occurrence_at": 1.0, "created_at": autumn + 10},
    ]
    outcomes = [
        ("sent", "delivered"),
        ("sent", "read"),
        ("sent", ""),
        ("failed", ""),
        ("skipped", ""),
        ("sent", "undelivered"),
        ("pending", ""),
    ]
    recipients = [
        {"campaign_id": rng.choice([1, 2, 3]), "address": f"a{n}", "text": "t", "due_at": 0, "state": s, "delivery": d}
        | {"replied": rng.randint(0, 1), "opted_out_after": rng.randint(0, 1)}
        for n, (s, d) in enumerate(rng.choice(outcomes) for _ in range(300))
    ]
    requests = [{"sender_id": rng.choice(SENDERS), "reason": rng.choice(["a", "b"]), "created_at": spring} for _ in range(20)]
    feedback = [{"sender_id": "web:a", "helpful": rng.choice([0, 1, 2]), "created_at": spring} for _ in range(30)]
    with engine_for(url_of(database)).begin() as connection:
        for table, rows in (
            (schema.handoffs, handoffs),
            (schema.csat_ratings, ratings),
            (schema.campaigns, campaigns),
            (schema.campaign_recipients, recipients),
            (schema.handoff_requests, requests),
            (schema.answer_feedback, feedback),
        ):
            connection.execute(table.insert(), rows)


def filters(since: str | None, until: str | None, channel: str | None = None, language: str | None = None) -> Filters:
    def at(day: str | None) -> float | None:
        return None if day is None else datetime.fromisoformat(day).replace(tzinfo=BERLIN).timestamp()

    return Filters(at(since), at(until), channel, language, BERLIN)


@pytest.mark.parametrize(
    "selected",
    [
        filters(None, None),
        filters("2026-03-28", "2026-03-31"),
        filters("2026-10-24", "2026-10-27", channel="web"),
        filters(None, None, channel="rest", language="en"),
        filters("2026-03-29", "2026-10-26", channel="whatsapp"),
    ],
)
def test_sql_counts_equal_the_rows_counted_in_python(database: Database, selected: Filters) -> None:
    upgrade(database)
    fill(database)
    data = read_support_data(database)
    engine = engine_for(url_of(database))
    try:
        with engine.connect() as connection:
            usable, problems = support_sql.usable_tables(connection)
            assert problems == [] and usable == {"handoffs", "csat_ratings", "campaigns", "campaign_recipients", "answer_feedback"} | {
                "handoff_requests"
            }
            overall, per_channel, per_day = support_sql.csat(connection, selected, usable)
            expected = _csat(data, selected)
            assert (overall, per_channel, per_day) == expected
            assert expected[0] is not None and expected[0].count > 0 and len(expected[2]) >= 3
            rows = _handoffs_in(data.handoffs, selected) or []
            assert support_sql.csat(connection, selected, usable, per_day=False) == (overall, per_channel, [])
            got_both = support_sql.human_durations(connection, selected)
            for end, got in zip(("first_agent_reply_at", "closed_at"), got_both, strict=True):
                want = PyDurations.of(h[end] - h["created_at"] for h in rows if h[end] is not None)
                assert got == want and got.n > 0  # exactly, the mean too
            assert support_sql.campaigns_of(connection, selected, usable) == _campaigns(data, selected)
            assert support_sql.support_counts(connection, usable) == SupportCounts.of_rows(data)
    finally:
        engine.dispose()
