"""Rows the dashboard reads from the support database (SQLite or PostgreSQL), tolerant of tables not built yet.

handoffs and csat_ratings belong to `handoff`, campaigns and campaign_recipients to `campaigns`
(columns: docs/interfaces.md); answer_feedback and handoff_requests to
bot/actions/records.py. A table that does not exist (its feature is not installed) reads as None,
which the dashboard shows as "no data", never as zero; so does a table without the expected
columns, with a one-line problem the dashboard shows.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect

from storage.database import Database, engine, sqlite_path, transaction

# The columns analytics relies on, per table.
COLUMNS: dict[str, tuple[str, ...]] = {
    # channels come from the sender id (as for conversations): the handoff feature stores Rasa's
    # input channel name there ("webchat"), which the dashboard does not use
    "handoffs": ("id", "sender_id", "language", "reason", "status", "created_at", "first_agent_reply_at", "closed_at"),
    "csat_ratings": ("handoff_id", "sender_id", "rating", "created_at"),
    "campaigns": ("id", "name", "parent_id", "created_at"),
    "campaign_recipients": ("campaign_id", "state", "delivery", "replied", "opted_out_after"),
    "answer_feedback": ("sender_id", "article_id", "helpful", "created_at"),
    "handoff_requests": ("sender_id", "language", "reason", "created_at"),
}

Rows = list[dict[str, Any]] | None


@dataclass
class SupportData:
    """One snapshot of every table analytics reads; None for a table that does not exist."""

    handoffs: Rows
    csat_ratings: Rows
    campaigns: Rows
    campaign_recipients: Rows
    answer_feedback: Rows
    handoff_requests: Rows
    problems: list[str]


def read_support_data(path: Database) -> SupportData:
    file = sqlite_path(path)
    if file is not None and not file.exists():
        return SupportData(None, None, None, None, None, None, problems=[])
    schema = inspect(engine(path))
    existing = set(schema.get_table_names())
    with transaction(path) as db:
        tables: dict[str, Rows] = {}
        problems: list[str] = []
        for table, columns in COLUMNS.items():
            if table not in existing:
                tables[table] = None
                continue
            present = {column["name"] for column in schema.get_columns(table)}
            missing = [column for column in columns if column not in present]
            if missing:
                problems.append(f"table {table} lacks column(s) {', '.join(missing)} (see docs/interfaces.md); shown as no data")
                tables[table] = None
                continue
            tables[table] = [dict(row) for row in db.execute(f"SELECT {', '.join(columns)} FROM {table}")]
    return SupportData(**tables, problems=problems)
