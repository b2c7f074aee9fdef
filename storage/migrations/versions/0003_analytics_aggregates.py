"""The analytics aggregate tables (analytics_conversations, analytics_daily, analytics_senders, analytics_meta) and
the indexes the dashboard reads by: handoffs, handoff_requests and csat_ratings by created_at (covering the columns
it reads), and each sender's sessions by start time.

The aggregate tables were created by the analytics consumer and backfill themselves (`metadata.create_all`) before
they joined the migrations, so a database they ran on has them already, with their rows: such a table (and its
indexes) is kept as it is; on any other database it is created.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 04:00:00.000000
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _existing() -> set:
    return set(sa.inspect(op.get_bind()).get_table_names())


def _create_table(name: str, *columns: Any, **options: Any) -> None:
    if name not in _existing():
        op.create_table(name, *columns, **options)


def _create_index(table: str, name: str, columns: list[str]) -> None:
    if name not in {index["name"] for index in sa.inspect(op.get_bind()).get_indexes(table)}:
        op.create_index(name, table, columns)


def upgrade() -> None:
    _create_table(
        "analytics_conversations",
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("session", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=32), nullable=False),
        sa.Column("first_user_at", sa.Float(), nullable=True),
        sa.Column("last_at", sa.Float(), nullable=False),
        sa.Column("handed_off", sa.Boolean(), nullable=False),
        sa.Column("user_turns", sa.Integer(), nullable=False),
        sa.Column("first_response_s", sa.Float(), nullable=True),
        sa.Column("resolution_s", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("sender_id", "session"),
    )
    _create_index("analytics_conversations", "ix_analytics_conversations_day", ["day", "channel", "language"])
    _create_index(
        "analytics_conversations", "ix_analytics_conversations_first_response", ["first_response_s", "day", "channel", "language"]
    )
    _create_index("analytics_conversations", "ix_analytics_conversations_resolution", ["resolution_s", "day", "channel", "language"])
    _create_index("analytics_conversations", "ix_analytics_conversations_sender_start", ["sender_id", "started_at", "session"])
    _create_table(
        "analytics_daily",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=1000), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "channel", "language", "kind", "key"),
    )
    _create_table(
        "analytics_senders",
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("sender_id"),
    )
    _create_table(
        "analytics_meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    # covering: the dashboard's queries over these tables read the index alone
    _create_index("handoffs", "handoffs_by_created", ["created_at", "sender_id", "language", "reason", "first_agent_reply_at", "closed_at"])
    _create_index("handoff_requests", "handoff_requests_by_created", ["created_at", "sender_id", "reason"])
    _create_index("csat_ratings", "csat_ratings_by_created", ["created_at", "sender_id", "handoff_id", "rating"])


def downgrade() -> None:
    for table, index in (
        ("csat_ratings", "csat_ratings_by_created"),
        ("handoff_requests", "handoff_requests_by_created"),
        ("handoffs", "handoffs_by_created"),
    ):
        op.drop_index(index, table_name=table)
    op.drop_index("ix_analytics_conversations_sender_start", table_name="analytics_conversations")
    for table in ("analytics_meta", "analytics_senders", "analytics_daily", "analytics_conversations"):
        op.drop_table(table)
