"""The aggregates on PostgreSQL (the production support database): the same figures as recomputed
from the tracker store (the support tables counted in PostgreSQL's SQL), and folding every event again changes nothing. Each run gets its own
databases. Skipped (one line) without PostgreSQL outside CI."""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, Float, MetaData, create_engine, text

from analytics.aggregate_figures import compute_from_aggregates
from analytics.aggregate_schema import engine_for
from analytics.aggregate_store import apply_events, rebuild
from analytics.backfill import tracker_events
from analytics.figures import Filters
from analytics.prometheus import SupportCounts
from analytics.support_db import read_support_data
from analytics.support_sql import support_counts, usable_tables
from tests.analytics.test_aggregates import FILTERS, TZ, filters_of, month, recomputed, same_figures, table_rows
from tests.helpers.services import require_reachable

SERVER = os.environ.get("ANALYTICS_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")


@pytest.fixture(scope="module")
def databases() -> Iterator[list[Engine]]:
    """Two fresh PostgreSQL databases, dropped afterwards."""
    require_reachable("127.0.0.1", 5432, "PostgreSQL", "start it to run the PostgreSQL aggregate tests")
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
    """The synthetic month; its aggregates and every support table in PostgreSQL, as the support database holds them
    (the tables copied as they are, the one lacking columns included)."""
    tracker, support = month(tmp_path_factory.mktemp("month"), 600)
    engine = databases[0]
    copy_support_tables(support, engine)
    rebuild(engine, tracker_events(engine_for(f"sqlite:///{tracker}")), TZ)
    return tracker, support, engine


def copy_support_tables(support: Path, engine: Engine) -> None:
    """The SQLite support file's tables and rows, as they are, into a PostgreSQL database."""
    tables = MetaData()
    source = create_engine(f"sqlite:///{support}")
    tables.reflect(source, only=lambda name, _: not name.startswith("analytics_"))
    for column in (c for table in tables.sorted_tables for c in table.c if isinstance(c.type, Float)):
        column.type = Float(precision=53)  # SQLite's REAL is 8 bytes, PostgreSQL's 4 (epoch seconds would lose minutes)
    tables.create_all(engine)
    with source.connect() as rows, engine.begin() as connection:
        for table in tables.sorted_tables:
            copied = [dict(row) for row in rows.execute(table.select()).mappings()]
            if copied:
                connection.execute(table.insert(), copied)
    source.dispose()


@pytest.mark.parametrize("params", FILTERS, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()) or "default")
def test_figures_from_postgres_aggregates_equal_the_recomputed_ones(stores: tuple[Path, Path, Engine], params: dict[str, str]) -> None:
    tracker, support, engine = stores
    data = read_support_data(support)
    filters = filters_of(params)
    assert same_figures(compute_from_aggregates(engine, filters), recomputed(tracker, data, filters))


def test_metrics_scope_and_redelivery_on_postgres(stores: tuple[Path, Path, Engine], databases: list[Engine]) -> None:
    tracker, support, backfilled = stores
    data = read_support_data(support)
    everything = Filters(timezone=TZ)
    assert same_figures(compute_from_aggregates(backfilled, everything), recomputed(tracker, data, everything))
    with backfilled.connect() as connection:
        usable, problems = usable_tables(connection)
        assert problems == data.problems and problems
        assert support_counts(connection, usable) == SupportCounts.of_rows(data)
    events = list(tracker_events(engine_for(f"sqlite:///{tracker}")))
    streamed = databases[1]
    copy_support_tables(support, streamed)  # the consumer matches the same handoff rows to the sessions it folds
    rebuild(streamed, [], TZ)
    for start in range(0, len(events), 1000):
        apply_events(streamed, events[start : start + 1000], TZ)
    assert apply_events(streamed, events[:3000], TZ) == 0
    assert table_rows(streamed) == table_rows(backfilled)
