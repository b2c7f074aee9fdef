"""The tables of the stores merged next to the database layer: handoff assignment (agent_presence,
agent_capacity, handoff_sla), mined agent answers (agent_answers, kb_rebuild_marks) and golden replay
conversations (replay_golden).

Those stores made their tables with `CREATE TABLE IF NOT EXISTS` before they were ported, so a database they
ran on has them already: such a table (and its index) is kept as it is; on any other database it is created.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 02:45:00.000000
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("agent_presence", "agent_capacity", "handoff_sla", "agent_answers", "kb_rebuild_marks", "replay_golden")


def _existing() -> set:
    return set(sa.inspect(op.get_bind()).get_table_names())


def _create_table(name: str, *columns: Any, **options: Any) -> None:
    if name not in _existing():
        op.create_table(name, *columns, **options)


def _create_index(table: str, name: str, columns: list[str], unique: bool = False) -> None:
    if name not in {index["name"] for index in sa.inspect(op.get_bind()).get_indexes(table)}:
        op.create_index(name, table, columns, unique=unique)


def upgrade() -> None:
    _create_table(
        "agent_presence",
        sa.Column("agent", sa.Text(), nullable=False),
        sa.Column("last_seen", sa.Float(precision=53), nullable=False),
        sa.Column("last_assigned_at", sa.Float(precision=53), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("agent"),
    )
    _create_table(
        "agent_capacity",
        sa.Column("agent", sa.Text(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("updated_at", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("agent"),
    )
    _create_table(
        "handoff_sla",
        sa.Column("handoff_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("breached_at", sa.Float(precision=53), nullable=False),
        sa.ForeignKeyConstraint(
            ["handoff_id"],
            ["handoffs.id"],
        ),
        sa.PrimaryKeyConstraint("handoff_id"),
    )
    _create_table(
        "agent_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("questions", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("agent", sa.Text(), nullable=False),
        sa.Column("closed_at", sa.Float(precision=53), nullable=False),
        sa.Column("state", sa.Text(), server_default=sa.text("'open'"), nullable=False),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.Float(precision=53), nullable=True),
        sa.Column("decision", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("handoff_id"),
    )
    _create_index("agent_answers", "agent_answers_by_state", ["state", "language"], unique=False)
    _create_table(
        "kb_rebuild_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("staff", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_table(
        "replay_golden",
        sa.Column("conversation_id", sa.Text(), nullable=False),
        sa.Column("staff", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id"),
    )


def downgrade() -> None:
    for name in reversed(TABLES):
        if name in _existing():
            op.drop_table(name)
