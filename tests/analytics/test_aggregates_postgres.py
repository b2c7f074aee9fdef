"""The aggregates on PostgreSQL (the production support database): the same figures as recomputed
from the tracker store, and folding every event again changes nothing. Each run gets its own
databases. Skipped (one line) without PostgreSQL outside CI."""

import os
import socket
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Column, Engine, Float, MetaData, String, Table, create_engine, text

from analytics.aggregate_figures import compute_from_aggregates
from analytics.aggregate_schema import engine_for
from analytics.aggregate_store import apply_events, rebuild
from analytics.backfill import tracker_events
from analytics.figures import Filters
from analytics.support_db import read_support_data
from tests.analytics.test_aggregates import FILTERS, TZ, filters_of, month, recomputed, same_figures, table_rows

SERVER = os.environ.get("ANALYTICS_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")


def reachable() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=2).close()
        import psycopg  # noqa: F401
    except (OSError, ImportError):
        return False
    return True


@pytest.fixture(scope="module")
def databases() -> Iterator[list[Engine]]:
    """Two fresh PostgreSQL databases, dropped afterwards."""
    if not reachable():
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is not reachable at 127.0.0.1:5432 (CI=true: it must run)")
        pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432 (or psycopg missing): start it to run the PostgreSQL aggregate tests")
    admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    names = [f"destek_analytics_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    engines = [create_engine(f"{SERVER}/{name}") for name in names]
    try:
        yield engines
    finally:
        for engine in engines:
            engine.dispose()
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="module")
def stores(databases: list[Engine], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Engine]:
    """The synthetic month; its aggregates and handoff rows in PostgreSQL, as the support database will hold them."""
    tracker, support = month(tmp_path_factory.mktemp("month"), 600)
    engine = databases[0]
    rows = MetaData()
    tables = {
        name: Table(name, rows, Column("sender_id", String), Column("created_at", Float), Column("reason", String))
        for name in ("handoffs", "handoff_requests")
    }
    rows.create_all(engine)
    with sqlite3.connect(support) as db, engine.begin() as connection:
        for name, table in tables.items():
            copied = [
                dict(zip(("sender_id", "created_at", "reason"), r, strict=True))
                for r in db.execute(f"SELECT sender_id, created_at, reason FROM {name}")
            ]
            connection.execute(table.insert(), copied)
    rebuild(engine, tracker_events(engine_for(f"sqlite:///{tracker}")), TZ)
    return tracker, support, engine


@pytest.mark.parametrize("params", FILTERS, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()) or "default")
def test_figures_from_postgres_aggregates_equal_the_recomputed_ones(stores: tuple[Path, Path, Engine], params: dict[str, str]) -> None:
    tracker, support, engine = stores
    data = read_support_data(support)
    filters = filters_of(params)
    assert same_figures(compute_from_aggregates(engine, data, filters), recomputed(tracker, data, filters))


def test_metrics_scope_and_redelivery_on_postgres(stores: tuple[Path, Path, Engine], databases: list[Engine]) -> None:
    tracker, support, backfilled = stores
    data = read_support_data(support)
    everything = Filters(timezone=TZ)
    assert same_figures(compute_from_aggregates(backfilled, data, everything), recomputed(tracker, data, everything))
    events = list(tracker_events(engine_for(f"sqlite:///{tracker}")))
    streamed = databases[1]
    rebuild(streamed, [], TZ)
    for start in range(0, len(events), 1000):
        apply_events(streamed, events[start : start + 1000], TZ)
    assert apply_events(streamed, events[:3000], TZ) == 0
    assert table_rows(streamed) == table_rows(backfilled)
