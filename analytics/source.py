"""Where the dashboard's figures come from: the aggregates when they are there, else the tracker store.

ANALYTICS_SOURCE=auto (default) reads the aggregate tables once `analytics.backfill` has filled them
(in the same time zone); `tracker` always recomputes from Rasa's tracker store; `aggregates` always
reads the tables (empty until the consumer or the backfill writes them).
"""

from pathlib import Path

from analytics.aggregate_figures import available, compute_from_aggregates, whole_days
from analytics.aggregate_schema import create, database_url, engine_for
from analytics.figures import Figures, Filters, compute
from analytics.settings import analytics_source
from analytics.support_db import SupportData, read_support_data
from analytics.tracker import iter_conversations, tracker_db_path
from settings.model import get_settings


def current_figures(database_path: Path, filters: Filters) -> tuple[Figures, SupportData]:
    data = read_support_data(database_path)
    source = analytics_source()
    # without DESTEK_DATABASE_URL the aggregates live in the SQLite file: never create it by reading
    stored = bool(get_settings().storage.database_url) or database_path.exists()
    if source != "tracker" and stored and whole_days(filters):
        engine = engine_for(database_url(database_path))
        if source == "aggregates":
            create(engine)
        if source == "aggregates" or available(engine, filters):
            return compute_from_aggregates(engine, data, filters), data
    conversations = list(iter_conversations(tracker_db_path(), since=filters.since))
    return compute(conversations, data, filters), data
