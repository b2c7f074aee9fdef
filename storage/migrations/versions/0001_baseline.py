"""Baseline: the schema that the stores' `CREATE TABLE IF NOT EXISTS` statements made before the database
layer. On an old database (made by those statements) every table and index is there already and is kept as it
is; on a new one everything is created.

Revision ID: 0001
Revises:
Create Date: 2026-12-07 01:47:21.361200
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _existing() -> set:
    return set(sa.inspect(op.get_bind()).get_table_names())


def _create_table(name: str, *columns: Any, **options: Any) -> None:
    """A table of the baseline, unless the database is an old one made by the stores, which has it already."""
    if name not in _existing():
        op.create_table(name, *columns, **options)


def _create_index(table: str, name: str, columns: list[str], unique: bool = False) -> None:
    if name not in {index["name"] for index in sa.inspect(op.get_bind()).get_indexes(table)}:
        op.create_index(name, table, columns, unique=unique)


def upgrade() -> None:
    _create_table(
        "answer_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.Text(), nullable=False),
        sa.Column("query", sa.Text(), nullable=True),
        sa.Column("article_id", sa.Text(), nullable=True),
        sa.Column("score", sa.Float(precision=53), nullable=True),
        sa.Column("helpful", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_table(
        "answers_served",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.Text(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=True),
        sa.Column("article_id", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(precision=53), nullable=True),
        sa.Column("created_at", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index("answers_served", "answers_served_article", ["article_id"], unique=False)
    _create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("messages", sa.Text(), nullable=False),
        sa.Column("audience", sa.Text(), nullable=False),
        sa.Column("send_at", sa.Float(precision=53), nullable=False),
        sa.Column("recurrence", sa.Text(), server_default=sa.text("('')"), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("quiet_hours", sa.Integer(), nullable=False),
        sa.Column("rate", sa.Float(precision=53), nullable=False),
        sa.Column("template_sid", sa.Text(), server_default=sa.text("('')"), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("occurrence_at", sa.Float(precision=53), nullable=True),
        sa.Column("next_run_at", sa.Float(precision=53), nullable=True),
        sa.Column("dedup_key", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Text(), server_default=sa.text("('')"), nullable=False),
        sa.Column("created_at", sa.Float(precision=53), nullable=False),
        sa.Column("updated_at", sa.Float(precision=53), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["campaigns.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedup_key"),
        sa.UniqueConstraint("parent_id", "occurrence_at"),
        sqlite_autoincrement=True,
    )
    _create_table(
        "carts",
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("total_kurus", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("subject"),
    )
    _create_table(
        "checkout_nudges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("dedup_key", sa.Text(), nullable=True),
        sa.Column("send_at", sa.Float(precision=53), nullable=True),
        sa.Column("created_at", sa.Float(precision=53), nullable=False),
        sa.Column("cancelled_at", sa.Float(precision=53), nullable=True),
        sa.Column("closed_at", sa.Float(precision=53), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index("checkout_nudges", "checkout_nudges_by_subject", ["subject", "closed_at"], unique=False)
    _create_table(
        "customers",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("language", sa.Text(), nullable=True),
        sa.Column("region", sa.Text(), nullable=True),
        sa.Column("plan", sa.Text(), nullable=True),
        sa.Column("timezone", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_table(
        "feedback_vectors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=True),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("helpful", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index("feedback_vectors", "feedback_vectors_article", ["article_id", "model"], unique=False)
    _create_table(
        "handoff_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("last_query", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_table(
        "handoffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=True),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reason_detail", sa.Text(), server_default=sa.text("('')"), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("agent", sa.Text(), nullable=True),
        sa.Column("out_of_hours", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("followup", sa.Text(), nullable=True),
        sa.Column("context_card", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(precision=53), nullable=False),
        sa.Column("claimed_at", sa.Float(precision=53), nullable=True),
        sa.Column("first_agent_reply_at", sa.Float(precision=53), nullable=True),
        sa.Column("closed_at", sa.Float(precision=53), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index("handoffs", "handoffs_by_sender", ["sender_id", "status"], unique=False)
    _create_index("handoffs", "handoffs_by_status", ["status", "priority", "created_at"], unique=False)
    _create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service", sa.Text(), nullable=False),
        sa.Column("regions", sa.Text(), nullable=False),
        sa.Column("started_at", sa.Float(precision=53), nullable=False),
        sa.Column("eta", sa.Float(precision=53), nullable=False),
        sa.Column("message_tr", sa.Text(), nullable=False),
        sa.Column("message_en", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'open'"), nullable=False),
        sa.Column("opened_by", sa.Text(), server_default=sa.text("('')"), nullable=False),
        sa.Column("created_at", sa.Float(precision=53), nullable=False),
        sa.Column("updated_at", sa.Float(precision=53), nullable=False),
        sa.Column("resolved_at", sa.Float(precision=53), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_table(
        "opt_outs",
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("opted_out", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), server_default=sa.text("('')"), nullable=False),
        sa.Column("updated_at", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("address"),
    )
    _create_table(
        "recovered_carts",
        sa.Column("order_id", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=True),
        sa.Column("via", sa.Text(), nullable=False),
        sa.Column("total_kurus", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("order_id"),
    )
    _create_table(
        "reply_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.Text(), server_default=sa.text("('')"), nullable=False),
        sa.Column("updated_at", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", "language"),
    )
    _create_table(
        "review_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("sender_id", sa.Text(), nullable=False),
        sa.Column("message_at", sa.Float(precision=53), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=True),
        sa.Column("intent", sa.Text(), nullable=True),
        sa.Column("staff", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "sender_id", "message_at"),
    )
    _create_table(
        "scheduler_lease",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("holder", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.Float(precision=53), nullable=False),
        sa.Column("renewed_at", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    _create_table(
        "staff_accounts",
        sa.Column("login", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("login"),
    )
    _create_table(
        "unanswered_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.Text(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=True),
        sa.Column("best_article_id", sa.Text(), nullable=True),
        sa.Column("best_score", sa.Float(precision=53), nullable=True),
        sa.Column("created_at", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_table(
        "web_accounts",
        sa.Column("login", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("login"),
    )
    _create_table(
        "whatsapp_choices",
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("payloads", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("address"),
    )
    _create_table(
        "whatsapp_inbound",
        sa.Column("message_sid", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("received_at", sa.Float(precision=53), nullable=False),
        sa.Column("handled_at", sa.Float(precision=53), nullable=True),
        sa.PrimaryKeyConstraint("message_sid"),
    )
    _create_table(
        "whatsapp_outbound",
        sa.Column("message_sid", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("kind", sa.Text(), server_default=sa.text("('')"), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.Text(), server_default=sa.text("('')"), nullable=False),
        sa.Column("created_at", sa.Float(precision=53), nullable=False),
        sa.Column("updated_at", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("message_sid"),
    )
    _create_table(
        "whatsapp_pending",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    _create_table(
        "whatsapp_window",
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("last_inbound", sa.Float(precision=53), nullable=False),
        sa.Column("profile_name", sa.Text(), server_default=sa.text("('')"), nullable=False),
        sa.PrimaryKeyConstraint("address"),
    )
    _create_table(
        "campaign_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), server_default=sa.text("('')"), nullable=False),
        sa.Column("language", sa.Text(), server_default=sa.text("('')"), nullable=False),
        sa.Column("timezone", sa.Text(), server_default=sa.text("('')"), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("due_at", sa.Float(precision=53), nullable=False),
        sa.Column("deferred", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("state", sa.Text(), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("skip_reason", sa.Text(), server_default=sa.text("('')"), nullable=False),
        sa.Column("holder", sa.Text(), nullable=True),
        sa.Column("claimed_at", sa.Float(precision=53), nullable=True),
        sa.Column("message_sid", sa.Text(), nullable=True),
        sa.Column("sent_kind", sa.Text(), server_default=sa.text("('')"), nullable=False),
        sa.Column("sent_at", sa.Float(precision=53), nullable=True),
        sa.Column("error", sa.Text(), server_default=sa.text("('')"), nullable=False),
        sa.Column("delivery", sa.Text(), server_default=sa.text("('')"), nullable=False),
        sa.Column("replied", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("opted_out_after", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "address"),
        sqlite_autoincrement=True,
    )
    _create_index("campaign_recipients", "campaign_recipients_due", ["state", "due_at"], unique=False)
    _create_index("campaign_recipients", "campaign_recipients_sid", ["message_sid"], unique=False)
    _create_table(
        "consents",
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("granted", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.Float(precision=53), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
        ),
        sa.PrimaryKeyConstraint("customer_id", "purpose"),
    )
    _create_table(
        "csat_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=True),
        sa.Column("sender_id", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(precision=53), nullable=False),
        sa.CheckConstraint("rating BETWEEN 1 AND 5"),
        sa.ForeignKeyConstraint(
            ["handoff_id"],
            ["handoffs.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_table(
        "customer_context",
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Float(precision=53), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
        ),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    _create_table(
        "customer_conversations",
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("sender_id", sa.Text(), nullable=False),
        sa.Column("first_seen", sa.Float(precision=53), nullable=False),
        sa.Column("last_seen", sa.Float(precision=53), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
        ),
        sa.PrimaryKeyConstraint("customer_id", "sender_id"),
    )
    _create_table(
        "customer_identities",
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
        ),
        sa.PrimaryKeyConstraint("kind", "value"),
    )
    _create_table(
        "handoff_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.Text(), nullable=False),
        sa.Column("author", sa.Text(), server_default=sa.text("('')"), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), server_default=sa.text("('')"), nullable=False),
        sa.Column("created_at", sa.Float(precision=53), nullable=False),
        sa.ForeignKeyConstraint(
            ["handoff_id"],
            ["handoffs.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index("handoff_messages", "handoff_messages_by_handoff", ["handoff_id", "id"], unique=False)
    _create_table(
        "incident_contacts",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("sender_id", sa.Text(), nullable=False),
        sa.Column("first_at", sa.Float(precision=53), nullable=False),
        sa.Column("last_at", sa.Float(precision=53), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
        ),
        sa.PrimaryKeyConstraint("incident_id", "customer_id"),
    )
    _create_table(
        "orders",
        sa.Column("order_id", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("total_kurus", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(precision=53), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
        ),
        sa.PrimaryKeyConstraint("order_id"),
    )
    _create_index("orders", "orders_by_customer", ["customer_id", "created_at"], unique=False)
    _create_table(
        "staff_sessions",
        sa.Column("id_hash", sa.Text(), nullable=False),
        sa.Column("login", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(precision=53), nullable=False),
        sa.Column("expires_at", sa.Float(precision=53), nullable=False),
        sa.ForeignKeyConstraint(
            ["login"],
            ["staff_accounts.login"],
        ),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    _create_table(
        "campaign_web_notices",
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(precision=53), nullable=False),
        sa.Column("shown_at", sa.Float(precision=53), nullable=True),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["campaign_recipients.id"],
        ),
        sa.PrimaryKeyConstraint("recipient_id"),
    )
    _create_index("campaign_web_notices", "campaign_web_notices_customer", ["customer_id", "shown_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("campaign_web_notices", schema=None) as batch_op:
        batch_op.drop_index("campaign_web_notices_customer")

    op.drop_table("campaign_web_notices")
    op.drop_table("staff_sessions")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("orders_by_customer")

    op.drop_table("orders")
    op.drop_table("incident_contacts")
    with op.batch_alter_table("handoff_messages", schema=None) as batch_op:
        batch_op.drop_index("handoff_messages_by_handoff")

    op.drop_table("handoff_messages")
    op.drop_table("customer_identities")
    op.drop_table("customer_conversations")
    op.drop_table("customer_context")
    op.drop_table("csat_ratings")
    op.drop_table("consents")
    with op.batch_alter_table("campaign_recipients", schema=None) as batch_op:
        batch_op.drop_index("campaign_recipients_sid")
        batch_op.drop_index("campaign_recipients_due")

    op.drop_table("campaign_recipients")
    op.drop_table("whatsapp_window")
    op.drop_table("whatsapp_pending")
    op.drop_table("whatsapp_outbound")
    op.drop_table("whatsapp_inbound")
    op.drop_table("whatsapp_choices")
    op.drop_table("web_accounts")
    op.drop_table("unanswered_questions")
    op.drop_table("staff_accounts")
    op.drop_table("scheduler_lease")
    op.drop_table("review_actions")
    op.drop_table("reply_templates")
    op.drop_table("recovered_carts")
    op.drop_table("opt_outs")
    op.drop_table("incidents")
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.drop_index("handoffs_by_status")
        batch_op.drop_index("handoffs_by_sender")

    op.drop_table("handoffs")
    op.drop_table("handoff_requests")
    with op.batch_alter_table("feedback_vectors", schema=None) as batch_op:
        batch_op.drop_index("feedback_vectors_article")

    op.drop_table("feedback_vectors")
    op.drop_table("customers")
    with op.batch_alter_table("checkout_nudges", schema=None) as batch_op:
        batch_op.drop_index("checkout_nudges_by_subject")

    op.drop_table("checkout_nudges")
    op.drop_table("carts")
    op.drop_table("campaigns")
    with op.batch_alter_table("answers_served", schema=None) as batch_op:
        batch_op.drop_index("answers_served_article")

    op.drop_table("answers_served")
    op.drop_table("answer_feedback")
