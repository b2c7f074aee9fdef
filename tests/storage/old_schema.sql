-- The support database as the stores created it before the database layer (their CREATE TABLE IF NOT EXISTS
-- statements, read back from sqlite_master of a file they made at commit c06e463). Used by test_migrations.py.
CREATE TABLE review_actions (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    message_at REAL NOT NULL,
    text TEXT NOT NULL,
    language TEXT,
    intent TEXT,
    staff TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (kind, sender_id, message_at)
);
CREATE TABLE answer_feedback (
    id INTEGER PRIMARY KEY,
    sender_id TEXT NOT NULL,
    query TEXT,
    article_id TEXT,
    score REAL,
    helpful INTEGER NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE unanswered_questions (
    id INTEGER PRIMARY KEY,
    sender_id TEXT NOT NULL,
    query TEXT NOT NULL,
    language TEXT,
    best_article_id TEXT,
    best_score REAL,
    created_at REAL NOT NULL
);
CREATE TABLE answers_served (
    id INTEGER PRIMARY KEY,
    sender_id TEXT NOT NULL,
    query TEXT NOT NULL,
    language TEXT,
    article_id TEXT NOT NULL,
    score REAL,
    created_at REAL NOT NULL
);
CREATE INDEX answers_served_article ON answers_served (article_id);
CREATE TABLE handoff_requests (
    id INTEGER PRIMARY KEY,
    sender_id TEXT NOT NULL,
    language TEXT,
    reason TEXT NOT NULL,
    last_query TEXT,
    created_at REAL NOT NULL
);
CREATE TABLE incidents (
    id INTEGER PRIMARY KEY,
    service TEXT NOT NULL,
    regions TEXT NOT NULL,
    started_at REAL NOT NULL,
    eta REAL NOT NULL,
    message_tr TEXT NOT NULL,
    message_en TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    opened_by TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    resolved_at REAL
);
CREATE TABLE incident_contacts (
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    customer_id TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    first_at REAL NOT NULL,
    last_at REAL NOT NULL,
    PRIMARY KEY (incident_id, customer_id)
);
CREATE TABLE web_accounts (login TEXT PRIMARY KEY, customer_id TEXT NOT NULL, password_hash TEXT NOT NULL);
CREATE TABLE staff_accounts (
    login TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE staff_sessions (
    id_hash TEXT PRIMARY KEY,
    login TEXT NOT NULL REFERENCES staff_accounts(login) ON DELETE CASCADE,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE checkout_nudges (
    id INTEGER PRIMARY KEY,
    subject TEXT NOT NULL,
    customer_id TEXT,
    kind TEXT NOT NULL,
    dedup_key TEXT,
    send_at REAL,
    created_at REAL NOT NULL,
    cancelled_at REAL,
    closed_at REAL
);
CREATE INDEX checkout_nudges_by_subject ON checkout_nudges (subject, closed_at);
CREATE TABLE recovered_carts (
    order_id TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    customer_id TEXT,
    via TEXT NOT NULL,
    total_kurus INTEGER NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    name TEXT, email TEXT, phone TEXT, language TEXT, region TEXT, plan TEXT, timezone TEXT,
    created_at REAL NOT NULL
);
CREATE TABLE customer_identities (
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    PRIMARY KEY (kind, value)
);
CREATE TABLE customer_conversations (
    customer_id TEXT NOT NULL REFERENCES customers(id),
    channel TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL,
    PRIMARY KEY (customer_id, sender_id)
);
CREATE TABLE customer_context (
    customer_id TEXT PRIMARY KEY REFERENCES customers(id),
    data TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE opt_outs (
    address TEXT PRIMARY KEY,
    opted_out INTEGER NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    updated_at REAL NOT NULL
);
CREATE TABLE consents (
    customer_id TEXT NOT NULL REFERENCES customers(id),
    purpose TEXT NOT NULL,
    granted INTEGER NOT NULL,
    source TEXT NOT NULL,
    recorded_at REAL NOT NULL,
    PRIMARY KEY (customer_id, purpose)
);
CREATE TABLE orders (
    order_id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    items TEXT NOT NULL,
    total_kurus INTEGER NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX orders_by_customer ON orders (customer_id, created_at);
CREATE TABLE carts (
    subject TEXT PRIMARY KEY,
    items TEXT NOT NULL,
    total_kurus INTEGER NOT NULL,
    status TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE handoffs (
    id INTEGER PRIMARY KEY,
    sender_id TEXT NOT NULL,
    customer_id TEXT,
    channel TEXT NOT NULL,
    language TEXT,
    reason TEXT NOT NULL,
    reason_detail TEXT NOT NULL DEFAULT '',
    priority INTEGER NOT NULL,
    status TEXT NOT NULL,
    agent TEXT,
    out_of_hours INTEGER NOT NULL DEFAULT 0,
    followup TEXT,
    context_card TEXT,
    created_at REAL NOT NULL,
    claimed_at REAL,
    first_agent_reply_at REAL,
    closed_at REAL
);
CREATE INDEX handoffs_by_sender ON handoffs (sender_id, status);
CREATE INDEX handoffs_by_status ON handoffs (status, priority, created_at);
CREATE TABLE handoff_messages (
    id INTEGER PRIMARY KEY,
    handoff_id INTEGER NOT NULL REFERENCES handoffs(id),
    direction TEXT NOT NULL,          -- customer, agent, system
    author TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL,
    status TEXT NOT NULL,             -- stored (customer/system), pending, sent, failed (agent)
    error TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL
);
CREATE INDEX handoff_messages_by_handoff ON handoff_messages (handoff_id, id);
CREATE TABLE reply_templates (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    language TEXT NOT NULL,
    text TEXT NOT NULL,
    updated_by TEXT NOT NULL DEFAULT '',
    updated_at REAL NOT NULL,
    UNIQUE (name, language)
);
CREATE TABLE csat_ratings (
    id INTEGER PRIMARY KEY,
    handoff_id INTEGER REFERENCES handoffs(id),
    sender_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    created_at REAL NOT NULL
);
CREATE TABLE campaigns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    purpose TEXT NOT NULL,
    channel TEXT NOT NULL,
    messages TEXT NOT NULL,
    audience TEXT NOT NULL,
    send_at REAL NOT NULL,
    recurrence TEXT NOT NULL DEFAULT '',
    timezone TEXT NOT NULL,
    quiet_hours INTEGER NOT NULL,
    rate REAL NOT NULL,
    template_sid TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    parent_id INTEGER REFERENCES campaigns(id),
    occurrence_at REAL,
    next_run_at REAL,
    dedup_key TEXT UNIQUE,
    created_by TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    UNIQUE (parent_id, occurrence_at)
);
CREATE TABLE campaign_recipients (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
    address TEXT NOT NULL,
    customer_id TEXT,
    name TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL DEFAULT '',
    timezone TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL,
    due_at REAL NOT NULL,
    deferred INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending',
    skip_reason TEXT NOT NULL DEFAULT '',
    holder TEXT,
    claimed_at REAL,
    message_sid TEXT,
    sent_kind TEXT NOT NULL DEFAULT '',
    sent_at REAL,
    error TEXT NOT NULL DEFAULT '',
    delivery TEXT NOT NULL DEFAULT '',
    replied INTEGER NOT NULL DEFAULT 0,
    opted_out_after INTEGER NOT NULL DEFAULT 0,
    UNIQUE (campaign_id, address)
);
CREATE INDEX campaign_recipients_due ON campaign_recipients (state, due_at);
CREATE INDEX campaign_recipients_sid ON campaign_recipients (message_sid);
CREATE TABLE campaign_web_notices (
    recipient_id INTEGER PRIMARY KEY REFERENCES campaign_recipients(id),
    customer_id TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at REAL NOT NULL,
    shown_at REAL
);
CREATE INDEX campaign_web_notices_customer ON campaign_web_notices (customer_id, shown_at);
CREATE TABLE scheduler_lease (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at REAL NOT NULL,
    renewed_at REAL NOT NULL
);
CREATE TABLE whatsapp_inbound (
    message_sid TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    params TEXT NOT NULL,
    received_at REAL NOT NULL,
    handled_at REAL
);
CREATE TABLE whatsapp_window (
    address TEXT PRIMARY KEY,
    last_inbound REAL NOT NULL,
    profile_name TEXT NOT NULL DEFAULT ''
);
CREATE TABLE whatsapp_choices (
    address TEXT PRIMARY KEY,
    payloads TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE whatsapp_pending (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    address TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE whatsapp_outbound (
    message_sid TEXT PRIMARY KEY,
    address TEXT,
    kind TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    rank INTEGER NOT NULL,
    error_code TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE feedback_vectors (
    id INTEGER PRIMARY KEY,
    article_id TEXT NOT NULL,
    language TEXT,
    model TEXT NOT NULL,
    helpful INTEGER NOT NULL,
    vector BLOB NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX feedback_vectors_article ON feedback_vectors (article_id, model);
