"""Every table of the support database, defined once (SQLAlchemy Core). The feature packages import
their tables from here; this module imports nothing from them.

The definitions equal the schema that the stores' `CREATE TABLE IF NOT EXISTS` statements made before
the database layer (migration 0001 is that baseline). Change a table here AND add an Alembic migration
in storage/migrations/versions/.

Common to SQLAlchemy 1.4 and 2.0: the Rasa process (Python 3.10) has 1.4 pinned by Rasa.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

# Epoch seconds as double precision: PostgreSQL's REAL is 4 bytes (seconds would be lost); SQLite stores REAL.
Double = Float(precision=53)

metadata = MetaData()


answer_feedback = Table(
    "answer_feedback",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", Text, nullable=False),
    Column("query", Text),
    Column("article_id", Text),
    Column("score", Double),
    Column("helpful", Integer, nullable=False),
    Column("created_at", Double, nullable=False),
)

answers_served = Table(
    "answers_served",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", Text, nullable=False),
    Column("query", Text, nullable=False),
    Column("language", Text),
    Column("article_id", Text, nullable=False),
    Column("score", Double),
    Column("created_at", Double, nullable=False),
    Index("answers_served_article", "article_id"),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("messages", Text, nullable=False),
    Column("audience", Text, nullable=False),
    Column("send_at", Double, nullable=False),
    Column("recurrence", Text, nullable=False, server_default=text("''")),
    Column("timezone", Text, nullable=False),
    Column("quiet_hours", Integer, nullable=False),
    Column("rate", Double, nullable=False),
    Column("template_sid", Text, nullable=False, server_default=text("''")),
    Column("status", Text, nullable=False),
    Column("parent_id", ForeignKey("campaigns.id")),
    Column("occurrence_at", Double),
    Column("next_run_at", Double),
    Column("dedup_key", Text, unique=True),
    Column("created_by", Text, nullable=False, server_default=text("''")),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
    UniqueConstraint("parent_id", "occurrence_at"),
    sqlite_autoincrement=True,
)

carts = Table(
    "carts",
    metadata,
    Column("subject", Text, primary_key=True),
    Column("items", Text, nullable=False),
    Column("total_kurus", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("updated_at", Double, nullable=False),
)

checkout_nudges = Table(
    "checkout_nudges",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("subject", Text, nullable=False),
    Column("customer_id", Text),
    Column("kind", Text, nullable=False),
    Column("dedup_key", Text),
    Column("send_at", Double),
    Column("created_at", Double, nullable=False),
    Column("cancelled_at", Double),
    Column("closed_at", Double),
    Index("checkout_nudges_by_subject", "subject", "closed_at"),
)

customers = Table(
    "customers",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text),
    Column("email", Text),
    Column("phone", Text),
    Column("language", Text),
    Column("region", Text),
    Column("plan", Text),
    Column("timezone", Text),
    Column("created_at", Double, nullable=False),
)

feedback_vectors = Table(
    "feedback_vectors",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", Text, nullable=False),
    Column("language", Text),
    Column("model", Text, nullable=False),
    Column("helpful", Integer, nullable=False),
    Column("vector", LargeBinary, nullable=False),
    Column("created_at", Double, nullable=False),
    Index("feedback_vectors_article", "article_id", "model"),
)

handoff_requests = Table(
    "handoff_requests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", Text, nullable=False),
    Column("language", Text),
    Column("reason", Text, nullable=False),
    Column("last_query", Text),
    Column("created_at", Double, nullable=False),
    # the dashboard selects by date and matches to sessions from this index alone (migration 0003)
    Index("handoff_requests_by_created", "created_at", "sender_id", "reason"),
    # the analytics consumer matches a sender's rows again when it starts a new session (migration 0004)
    Index("handoff_requests_by_sender", "sender_id", "created_at", "reason"),
)

handoffs = Table(
    "handoffs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", Text, nullable=False),
    Column("customer_id", Text),
    Column("channel", Text, nullable=False),
    Column("language", Text),
    Column("reason", Text, nullable=False),
    Column("reason_detail", Text, nullable=False, server_default=text("''")),
    Column("priority", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("agent", Text),
    Column("out_of_hours", Integer, nullable=False, server_default=text("0")),
    Column("followup", Text),
    Column("context_card", Text),
    Column("created_at", Double, nullable=False),
    Column("claimed_at", Double),
    Column("first_agent_reply_at", Double),
    Column("closed_at", Double),
    Index("handoffs_by_sender", "sender_id", "status"),
    Index("handoffs_by_status", "status", "priority", "created_at"),
    # the dashboard selects by date and reads its figures from this index alone (migration 0003)
    Index("handoffs_by_created", "created_at", "sender_id", "language", "reason", "first_agent_reply_at", "closed_at"),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("service", Text, nullable=False),
    Column("regions", Text, nullable=False),
    Column("started_at", Double, nullable=False),
    Column("eta", Double, nullable=False),
    Column("message_tr", Text, nullable=False),
    Column("message_en", Text, nullable=False),
    Column("status", Text, nullable=False, server_default=text("'open'")),
    Column("opened_by", Text, nullable=False, server_default=text("''")),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
    Column("resolved_at", Double),
)

opt_outs = Table(
    "opt_outs",
    metadata,
    Column("address", Text, primary_key=True),
    Column("opted_out", Integer, nullable=False),
    Column("reason", Text, nullable=False, server_default=text("''")),
    Column("updated_at", Double, nullable=False),
)

recovered_carts = Table(
    "recovered_carts",
    metadata,
    Column("order_id", Text, primary_key=True),
    Column("subject", Text, nullable=False),
    Column("customer_id", Text),
    Column("via", Text, nullable=False),
    Column("total_kurus", Integer, nullable=False),
    Column("created_at", Double, nullable=False),
)

reply_templates = Table(
    "reply_templates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False),
    Column("language", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("updated_by", Text, nullable=False, server_default=text("''")),
    Column("updated_at", Double, nullable=False),
    UniqueConstraint("name", "language"),
)

review_actions = Table(
    "review_actions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("sender_id", Text, nullable=False),
    Column("message_at", Double, nullable=False),
    Column("text", Text, nullable=False),
    Column("language", Text),
    Column("intent", Text),
    Column("staff", Text, nullable=False),
    Column("created_at", Double, nullable=False),
    UniqueConstraint("kind", "sender_id", "message_at"),
)

scheduler_lease = Table(
    "scheduler_lease",
    metadata,
    Column("name", Text, primary_key=True),
    Column("holder", Text, nullable=False),
    Column("expires_at", Double, nullable=False),
    Column("renewed_at", Double, nullable=False),
)

staff_accounts = Table(
    "staff_accounts",
    metadata,
    Column("login", Text, primary_key=True),
    Column("display_name", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("created_at", Double, nullable=False),
)

unanswered_questions = Table(
    "unanswered_questions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", Text, nullable=False),
    Column("query", Text, nullable=False),
    Column("language", Text),
    Column("best_article_id", Text),
    Column("best_score", Double),
    Column("created_at", Double, nullable=False),
)

web_accounts = Table(
    "web_accounts",
    metadata,
    Column("login", Text, primary_key=True),
    Column("customer_id", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
)

whatsapp_choices = Table(
    "whatsapp_choices",
    metadata,
    Column("address", Text, primary_key=True),
    Column("payloads", Text, nullable=False),
    Column("created_at", Double, nullable=False),
)

whatsapp_inbound = Table(
    "whatsapp_inbound",
    metadata,
    Column("message_sid", Text, primary_key=True),
    Column("address", Text, nullable=False),
    Column("params", Text, nullable=False),
    Column("received_at", Double, nullable=False),
    Column("handled_at", Double),
)

whatsapp_outbound = Table(
    "whatsapp_outbound",
    metadata,
    Column("message_sid", Text, primary_key=True),
    Column("address", Text),
    Column("kind", Text, nullable=False, server_default=text("''")),
    Column("status", Text, nullable=False),
    Column("rank", Integer, nullable=False),
    Column("error_code", Text, nullable=False, server_default=text("''")),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
)

whatsapp_pending = Table(
    "whatsapp_pending",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("address", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", Double, nullable=False),
    sqlite_autoincrement=True,
)

whatsapp_window = Table(
    "whatsapp_window",
    metadata,
    Column("address", Text, primary_key=True),
    Column("last_inbound", Double, nullable=False),
    Column("profile_name", Text, nullable=False, server_default=text("''")),
)

campaign_recipients = Table(
    "campaign_recipients",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("campaign_id", ForeignKey("campaigns.id"), nullable=False),
    Column("address", Text, nullable=False),
    Column("customer_id", Text),
    Column("name", Text, nullable=False, server_default=text("''")),
    Column("language", Text, nullable=False, server_default=text("''")),
    Column("timezone", Text, nullable=False, server_default=text("''")),
    Column("text", Text, nullable=False),
    Column("due_at", Double, nullable=False),
    Column("deferred", Integer, nullable=False, server_default=text("0")),
    Column("state", Text, nullable=False, server_default=text("'pending'")),
    Column("skip_reason", Text, nullable=False, server_default=text("''")),
    Column("holder", Text),
    Column("claimed_at", Double),
    Column("message_sid", Text),
    Column("sent_kind", Text, nullable=False, server_default=text("''")),
    Column("sent_at", Double),
    Column("error", Text, nullable=False, server_default=text("''")),
    Column("delivery", Text, nullable=False, server_default=text("''")),
    Column("replied", Integer, nullable=False, server_default=text("0")),
    Column("opted_out_after", Integer, nullable=False, server_default=text("0")),
    UniqueConstraint("campaign_id", "address"),
    Index("campaign_recipients_due", "state", "due_at"),
    Index("campaign_recipients_sid", "message_sid"),
    sqlite_autoincrement=True,
)

consents = Table(
    "consents",
    metadata,
    Column("customer_id", ForeignKey("customers.id"), primary_key=True),
    Column("purpose", Text, primary_key=True),
    Column("granted", Integer, nullable=False),
    Column("source", Text, nullable=False),
    Column("recorded_at", Double, nullable=False),
)

csat_ratings = Table(
    "csat_ratings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("handoff_id", ForeignKey("handoffs.id")),
    Column("sender_id", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("rating", Integer, nullable=False),
    Column("created_at", Double, nullable=False),
    CheckConstraint("rating BETWEEN 1 AND 5"),
    # the dashboard selects by date and reads its figures from this index alone (migration 0003)
    Index("csat_ratings_by_created", "created_at", "sender_id", "handoff_id", "rating"),
)

customer_context = Table(
    "customer_context",
    metadata,
    Column("customer_id", ForeignKey("customers.id"), primary_key=True),
    Column("data", Text, nullable=False),
    Column("updated_at", Double, nullable=False),
)

customer_conversations = Table(
    "customer_conversations",
    metadata,
    Column("customer_id", ForeignKey("customers.id"), primary_key=True),
    Column("channel", Text, nullable=False),
    Column("sender_id", Text, primary_key=True),
    Column("first_seen", Double, nullable=False),
    Column("last_seen", Double, nullable=False),
)

customer_identities = Table(
    "customer_identities",
    metadata,
    Column("kind", Text, primary_key=True),
    Column("value", Text, primary_key=True),
    Column("customer_id", ForeignKey("customers.id"), nullable=False),
)

handoff_messages = Table(
    "handoff_messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("handoff_id", ForeignKey("handoffs.id"), nullable=False),
    Column("direction", Text, nullable=False),
    Column("author", Text, nullable=False, server_default=text("''")),
    Column("text", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("error", Text, nullable=False, server_default=text("''")),
    Column("created_at", Double, nullable=False),
    Index("handoff_messages_by_handoff", "handoff_id", "id"),
)

incident_contacts = Table(
    "incident_contacts",
    metadata,
    Column("incident_id", ForeignKey("incidents.id"), primary_key=True),
    Column("customer_id", Text, primary_key=True),
    Column("sender_id", Text, nullable=False),
    Column("first_at", Double, nullable=False),
    Column("last_at", Double, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("order_id", Text, primary_key=True),
    Column("customer_id", ForeignKey("customers.id"), nullable=False),
    Column("items", Text, nullable=False),
    Column("total_kurus", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("created_at", Double, nullable=False),
    Index("orders_by_customer", "customer_id", "created_at"),
)

staff_sessions = Table(
    "staff_sessions",
    metadata,
    Column("id_hash", Text, primary_key=True),
    Column("login", ForeignKey("staff_accounts.login"), nullable=False),
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=False),
)

campaign_web_notices = Table(
    "campaign_web_notices",
    metadata,
    Column("recipient_id", ForeignKey("campaign_recipients.id"), primary_key=True),
    Column("customer_id", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("shown_at", Double),
    Index("campaign_web_notices_customer", "customer_id", "shown_at"),
)

# Handoff assignment (handoff/assignment.py): presence, per-agent capacity, SLA marks.
agent_presence = Table(
    "agent_presence",
    metadata,
    Column("agent", Text, primary_key=True),
    Column("last_seen", Double, nullable=False),
    Column("last_assigned_at", Double, nullable=False, server_default=text("0")),
)

agent_capacity = Table(
    "agent_capacity",
    metadata,
    Column("agent", Text, primary_key=True),
    Column("capacity", Integer, nullable=False),
    Column("updated_by", Text, nullable=False, server_default=text("''")),
    Column("updated_at", Double, nullable=False),
)

handoff_sla = Table(
    "handoff_sla",
    metadata,
    Column("handoff_id", ForeignKey("handoffs.id"), primary_key=True, autoincrement=False),
    Column("breached_at", Double, nullable=False),
)

# Answers mined from closed handoffs (learning/store.py).
agent_answers = Table(
    "agent_answers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("handoff_id", Integer, nullable=False, unique=True),
    Column("sender_id", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("language", Text, nullable=False),
    Column("questions", Text, nullable=False),  # JSON list of the customer's questions, redacted
    Column("answer", Text, nullable=False),  # the agent's messages, redacted
    Column("agent", Text, nullable=False),
    Column("closed_at", Double, nullable=False),
    Column("state", Text, nullable=False, server_default=text("'open'")),
    Column("decided_by", Text),
    Column("decided_at", Double),
    Column("decision", Text, nullable=False, server_default=text("''")),
    Index("agent_answers_by_state", "state", "language"),
)

kb_rebuild_marks = Table(
    "kb_rebuild_marks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("reason", Text, nullable=False),
    Column("staff", Text, nullable=False),
    Column("created_at", Double, nullable=False),
)

# Conversations staff chose as golden (replay/golden.py).
replay_golden = Table(
    "replay_golden",
    metadata,
    Column("conversation_id", Text, primary_key=True),
    Column("staff", Text, nullable=False),
    Column("created_at", Double, nullable=False),
)


# --- Analytics aggregates (analytics/aggregate_store.py writes them, analytics/aggregate_figures.py reads them;
# docs/analytics.md). Kept by the event-stream consumer and the backfill; migration 0003.

# One row per conversation (a Rasa session of one sender), also those without a customer message:
# a handoff row is matched to the session it falls in, as in analytics.figures.
analytics_conversations = Table(
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
    # the session's handoff row, matched when the consumer or the backfill writes (analytics/handoff_match.py,
    # migration 0004): its first handoffs row, else its first handoff_requests row; all three None without one.
    # handoff_src 0 = handoffs, 1 = handoff_requests; handoff_reason is the row's reason, "unknown" when empty
    Column("handoff_src", Integer),
    Column("handoff_at", Float),
    Column("handoff_reason", String(255)),
    Index("ix_analytics_conversations_day", "day", "channel", "language"),
    Index("ix_analytics_conversations_first_response", "first_response_s", "day", "channel", "language"),
    # the bot's resolution time of the sessions without a handoff row, read in order for its ranks (migration 0004)
    Index(
        "ix_analytics_conversations_contained",
        "resolution_s",
        "day",
        "channel",
        "language",
        sqlite_where=text("handoff_reason IS NULL"),
        postgresql_where=text("handoff_reason IS NULL"),
    ),
    # the sessions with a handoff row, counted per reason from this index alone (migration 0004)
    Index(
        "ix_analytics_conversations_handoff",
        "day",
        "channel",
        "language",
        "handoff_reason",
        "handed_off",
        "user_turns",
        sqlite_where=text("handoff_reason IS NOT NULL"),
        postgresql_where=text("handoff_reason IS NOT NULL"),
    ),
    # a handoff row's session: the sender's latest session started at or before it (migration 0003)
    Index("ix_analytics_conversations_sender_start", "sender_id", "started_at", "session"),
)

# Counts per day, channel and language of the conversation. kind: conversations and handed_off (key ""),
# intent, kb (answered / unanswered), unanswered (redacted question text), article, helpful,
# not_helpful; first_response and resolution (key n: how many, us: their sum in microseconds).
analytics_daily = Table(
    "analytics_daily",
    metadata,
    Column("day", String(10), primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("language", String(32), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("key", String(1000), primary_key=True),
    Column("n", BigInteger, nullable=False),
    # a request sums one kind over the range from this index alone, grouped by key in its order (migration 0004)
    Index("ix_analytics_daily_kind", "kind", "key", "day", "channel", "language", "n"),
)

# The consumer's fold state per sender (current session only, no raw customer text): what makes
# each event count once however often it is delivered.
analytics_senders = Table(
    "analytics_senders",
    metadata,
    Column("sender_id", String(255), primary_key=True),
    Column("state", Text, nullable=False),
)

# timezone (days are computed in it), backfilled_at (aggregates are complete from then on).
analytics_meta = Table(
    "analytics_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
