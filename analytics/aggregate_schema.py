"""The analytics aggregate tables (defined in storage.schema), kept in the support database.

Written by the event-stream consumer (analytics/consumer.py) and the backfill (analytics/backfill.py),
read by the dashboard and /metrics (analytics/aggregate_figures.py). The tables are defined in storage.schema
and created by its migrations (`make migrate`, revision 0003); `create(engine)` still makes any that are missing,
so the consumer and the backfill work on a database nobody migrated (like the stores do).
"""

from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, select
from sqlalchemy.dialects import postgresql, sqlite

from settings.model import get_settings
from storage import schema
from storage.database import Database, sqlite_url

# Defined once with every other table in storage.schema (migration 0003 creates them); the names analytics uses:
conversations = schema.analytics_conversations
daily = schema.analytics_daily
senders = schema.analytics_senders
meta = schema.analytics_meta
TABLES = (conversations, daily, senders, meta)


def database_url(support_database: Database) -> str:
    """The support database's URL: a URL as given (the app's settings may name a server database); for a SQLite
    path, DESTEK_DATABASE_URL when set (production), else that file."""
    if isinstance(support_database, str) and "://" in support_database:
        return support_database
    return get_settings().storage.database_url or sqlite_url(Path(support_database))


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
    """Make the tables that are missing; ValueError (one line) for a table older than this code (`make migrate`)."""
    schema.metadata.create_all(engine, tables=list(TABLES), checkfirst=True)
    present = {c["name"] for c in inspect(engine).get_columns(conversations.name)}
    missing = [c.name for c in conversations.c if c.name not in present]
    if missing:
        raise ValueError(f"{conversations.name} lacks column(s) {', '.join(missing)}: run `make migrate` (python -m storage.migrate)")


def insert(connection: Connection, table: Any) -> Any:
    """An INSERT with this dialect's ON CONFLICT clauses."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def stored_meta(connection: Connection) -> dict[str, str]:
    return {str(key): str(value) for key, value in connection.execute(select(meta.c.key, meta.c.value))}


def set_meta(connection: Connection, values: dict[str, str]) -> None:
    statement = insert(connection, meta)
    connection.execute(
        statement.on_conflict_do_update(index_elements=[meta.c.key], set_={"value": statement.excluded.value}),
        [{"key": key, "value": value} for key, value in values.items()],
    )
