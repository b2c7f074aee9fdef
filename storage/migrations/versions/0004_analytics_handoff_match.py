"""The handoff row of each analytics conversation, stored when the consumer or the backfill writes it
(analytics/handoff_match.py) instead of being matched at each dashboard request: analytics_conversations gets
handoff_src, handoff_at and handoff_reason, a partial index over the sessions with a handoff row (counted per
reason from it) and one over the bot's resolution times of those without (replacing
ix_analytics_conversations_resolution); analytics_daily an index by kind (a request sums one kind over a range
from it alone); handoff_requests an index by sender.

The new columns start empty: the dashboard reads the aggregates again once the consumer (at its start) or
`python -m analytics.backfill` has matched every row (analytics_meta `handoffs_matched_before`); until then it
recomputes from the tracker store, as before a backfill.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 14:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLE = "analytics_conversations"
COLUMNS = (("handoff_src", sa.Integer()), ("handoff_at", sa.Float()), ("handoff_reason", sa.String(length=255)))


def _columns(table: str) -> set[str]:
    return {column["name"] for column in sa.inspect(op.get_bind()).get_columns(table)}


def _indexes(table: str) -> set[str]:
    return {str(index["name"]) for index in sa.inspect(op.get_bind()).get_indexes(table)}


def _partial(name: str, columns: list[str], where: str) -> None:
    if name not in _indexes(TABLE):
        op.create_index(name, TABLE, columns, sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def upgrade() -> None:
    # the consumer or backfill of this version, run on a database at 0003, may have made them already
    missing = [(name, kind) for name, kind in COLUMNS if name not in _columns(TABLE)]
    if missing:
        with op.batch_alter_table(TABLE) as batch:
            for name, kind in missing:
                batch.add_column(sa.Column(name, kind, nullable=True))
    if "ix_analytics_conversations_resolution" in _indexes(TABLE):
        op.drop_index("ix_analytics_conversations_resolution", table_name=TABLE)
    _partial("ix_analytics_conversations_contained", ["resolution_s", "day", "channel", "language"], "handoff_reason IS NULL")
    _partial(
        "ix_analytics_conversations_handoff",
        ["day", "channel", "language", "handoff_reason", "handed_off", "user_turns"],
        "handoff_reason IS NOT NULL",
    )
    if "ix_analytics_daily_kind" not in _indexes("analytics_daily"):
        op.create_index("ix_analytics_daily_kind", "analytics_daily", ["kind", "key", "day", "channel", "language", "n"])
    if "handoff_requests_by_sender" not in _indexes("handoff_requests"):
        op.create_index("handoff_requests_by_sender", "handoff_requests", ["sender_id", "created_at", "reason"])


def downgrade() -> None:
    op.drop_index("handoff_requests_by_sender", table_name="handoff_requests")
    op.drop_index("ix_analytics_daily_kind", table_name="analytics_daily")
    op.drop_index("ix_analytics_conversations_handoff", table_name=TABLE)
    op.drop_index("ix_analytics_conversations_contained", table_name=TABLE)
    op.create_index("ix_analytics_conversations_resolution", TABLE, ["resolution_s", "day", "channel", "language"])
    with op.batch_alter_table(TABLE) as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
    op.execute(sa.text("DELETE FROM analytics_meta WHERE key = 'handoffs_matched_before'"))
