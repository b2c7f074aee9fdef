"""Where the dashboard's figures come from: the aggregates when they are there, else the tracker store.

ANALYTICS_SOURCE=auto (default) reads the aggregate tables once `analytics.backfill` has filled them
(in the same time zone); `tracker` always recomputes from Rasa's tracker store; `aggregates` always
reads the tables (empty until the consumer or the backfill writes them). From the aggregates the support
tables are counted in SQL (analytics.support_sql), never read whole.
"""

from sqlalchemy import Engine

from analytics.aggregate_figures import available, compute_from_aggregates, whole_days
from analytics.aggregate_schema import create, database_url, engine_for
from analytics.figures import Figures, Filters, compute
from analytics.prometheus import SupportCounts
from analytics.settings import analytics_source
from analytics.support_db import SupportData, read_support_data
from analytics.support_sql import support_counts, usable_tables
from analytics.tracker import iter_conversations, tracker_store
from settings.model import get_settings
from storage.database import Database, exists


def current_figures(database_path: Database, filters: Filters) -> Figures:
    """The dashboard's figures."""
    engine = _aggregates(database_path, filters)
    if engine is not None:
        return compute_from_aggregates(engine, filters)
    return _recomputed(read_support_data(_support(database_path)), filters)


def current_metrics(database_path: Database, filters: Filters) -> tuple[Figures, SupportCounts]:
    """/metrics: the figures and the support tables' counts."""
    engine = _aggregates(database_path, filters)
    if engine is not None:
        figures = compute_from_aggregates(engine, filters, metrics_only=True)  # only what /metrics shows
        with engine.connect() as connection:
            return figures, support_counts(connection, usable_tables(connection)[0])
    data = read_support_data(_support(database_path))
    return _recomputed(data, filters), SupportCounts.of_rows(data)


def _aggregates(database_path: Database, filters: Filters) -> Engine | None:
    """The database holding the aggregates, when the figures are to come from them."""
    source = analytics_source()
    # without DESTEK_DATABASE_URL the aggregates live in the SQLite file: never create it by reading
    stored = bool(get_settings().storage.database_url) or exists(database_path)
    if source == "tracker" or not stored or not whole_days(filters):
        return None
    engine = engine_for(database_url(database_path))
    if source == "aggregates":
        create(engine)
        return engine
    return engine if available(engine, filters) else None


def _support(database_path: Database) -> Database:
    """The support database: a URL as given; DESTEK_DATABASE_URL when set (PostgreSQL in production), else the SQLite file."""
    if isinstance(database_path, str) and "://" in database_path:
        return database_path
    return get_settings().storage.database_url or database_path


def _recomputed(data: SupportData, filters: Filters) -> Figures:
    return compute(list(iter_conversations(tracker_store(), since=filters.since)), data, filters)
