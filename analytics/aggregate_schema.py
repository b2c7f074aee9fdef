"""The analytics aggregate tables (SQLAlchemy Core, their own MetaData), kept in the support database.

Written by the event-stream consumer (analytics/consumer.py) and the backfill (analytics/backfill.py),
read by the dashboard and /metrics (analytics/aggregate_figures.py). `create(engine)` makes any that are
missing; they are not in Alembic yet (docs/analytics.md).
"""

from functools import lru_cache
from pathlib import Path

from sqlalchemy import BigInteger, Boolean, Column, Engine, Float, Index, Integer, MetaData, String, Table, Text, create_engine, event

from settings.model import get_settings

metadata = MetaData()

# One row per conversation (a Rasa session of one sender), also those without a customer message:
# a handoff row is matched to the session it falls in, as in analytics.figures.
conversations = Table(
    "analytics_conversations",
    metadata,
    Column("sender_id", String(255), primary_key=True),
    Column("session", Integer, primary_key=True),
    Column("started_at", Float, nullable=False),
    Column("day", String(10), nullable=False),  # calendar day of started_at in the stored time zone
    Column("channel", String(16), nullable=False),
    Column("language", String(32), nullable=False),  # "" when the language slot was never set
    Column("first_user_at", Float),
    Column("last_at", Float, nullable=False),
    Column("handed_off", Boolean, nullable=False),  # the bot set handoff_requested
    Column("user_turns", Integer, nullable=False),
    # the dashboard's two bot times, None where the conversation has none (resolution: only when
    # the bot did not set handoff_requested); indexed so medians are read in order, not sorted
    Column("first_response_s", Float),
    Column("resolution_s", Float),
    Index("ix_analytics_conversations_day", "day", "channel", "language"),
    Index("ix_analytics_conversations_first_response", "first_response_s", "day", "channel", "language"),
    Index("ix_analytics_conversations_resolution", "resolution_s", "day", "channel", "language"),
)

# Counts per day, channel and language of the conversation. kind: conversations and handed_off (key ""),
# intent, kb (answered / unanswered), unanswered (redacted question text), article, helpful,
# not_helpful; first_response and resolution (key n: how many, us: their sum in microseconds).
daily = Table(
    "analytics_daily",
    metadata,
    Column("day", String(10), primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("language", String(32), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("key", String(1000), primary_key=True),
    Column("n", BigInteger, nullable=False),
)

# The consumer's fold state per sender (current session only, no raw customer text): what makes
# each event count once however often it is delivered.
senders = Table(
    "analytics_senders",
    metadata,
    Column("sender_id", String(255), primary_key=True),
    Column("state", Text, nullable=False),
)

# timezone (days are computed in it), backfilled_at (aggregates are complete from then on).
meta = Table(
    "analytics_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)


def database_url(support_database: Path) -> str:
    """DESTEK_DATABASE_URL when set (production), else the support database's SQLite file."""
    return get_settings().storage.database_url or f"sqlite:///{support_database}"


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine (connection pool) per URL and process; SQLite in WAL mode like storage.database."""
    engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(connection: object, _record: object) -> None:
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create(engine: Engine) -> None:
    metadata.create_all(engine, checkfirst=True)
