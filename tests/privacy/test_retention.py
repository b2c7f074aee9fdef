"""`python -m privacy.retention` on real files: a support database written by the project's own
stores, and a tracker store written (and read back) by Rasa 3.6's SQLTrackerStore itself.
Old rows and sessions go, recent ones stay, and Rasa still loads every kept conversation."""

import json
import os
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from connectors.whatsapp.inbound_log import InboundLog
from customer_store.store import CustomerStore
from feedback.records import Records
from handoff.store import HandoffStore
from storage.database import Database
from tests.conftest import PYTHON, ROOT
from tests.helpers.databases import environment_url, execute, query, support_database, table_names
from tuning.review_store import NEEDS_ARTICLE, ReviewStore

RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
DAY = 86400.0
NOW = time.time()

# Each sender's sessions: (days ago the session started, days ago its last event).
SESSIONS = {
    "web:old": [(400, 399)],  # gone entirely
    "web:recent": [(2, 1)],  # kept
    "whatsapp:+905550000001": [(300, 299), (10, 9)],  # the old session goes, the recent one stays
    "web:spanning": [(185, 170)],  # going on at the cutoff (180 days): kept whole
    "web:gap": [(250, 200), (190, 185), (5, 4)],  # two sessions before the cutoff go
}

RASA_WRITE = """
import asyncio, json, sys
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=sys.argv[1])
for sender, sessions in json.loads(sys.argv[2]).items():
    events = []
    for number, (start, end) in enumerate(sessions):
        events += [ActionExecuted("action_session_start", timestamp=start), SessionStarted(timestamp=start),
                   ActionExecuted("action_listen", timestamp=start), UserUttered(f"{sender} session {number} first", timestamp=start + 1),
                   BotUttered("ok", timestamp=start + 2), UserUttered(f"{sender} session {number} last", timestamp=end)]
    asyncio.run(store.save(DialogueStateTracker.from_events(sender, events)))
"""

RASA_READ = """
import asyncio, json, sys
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain

store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=sys.argv[1])
store.load_events_from_previous_conversation_sessions = True
result = {}
for sender in json.loads(sys.argv[2]):
    tracker = asyncio.run(store.retrieve_full_tracker(sender))
    result[sender] = [e.text for e in tracker.events if e.type_name == "user"] if tracker else None
print(json.dumps(result))
"""


def days_ago(days: float) -> float:
    return NOW - days * DAY


def rasa(script: str, *args: str) -> str:
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([str(RASA_PYTHON), "-c", script, *args], capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture
def tracker_db(tmp_path: Path) -> Path:
    path = tmp_path / "rasa-tracker.sqlite3"
    sessions = {sender: [(days_ago(start), days_ago(end)) for start, end in spans] for sender, spans in SESSIONS.items()}
    rasa(RASA_WRITE, str(path), json.dumps(sessions))
    return path


def age(database: Database, table: str, column: str, days: float, where: str = "1 = 1") -> None:
    execute(database, f"UPDATE {table} SET {column} = ? WHERE {where}", days_ago(days))


@pytest.fixture
def support_db(tmp_path: Path) -> Database:
    """Every kind of stored customer text, once old (200 days) and once recent (marked 'new')."""
    path = support_database(tmp_path)
    records, handoffs, review, customers, inbound_log = (
        Records(path),
        HandoffStore(path),
        ReviewStore(path),
        CustomerStore(path),
        InboundLog(path),
    )
    for label in ("old", "new"):
        records.add_answer_served(f"web:{label}", f"{label} question", "en", "track-en", 0.8)
        records.add_feedback(f"web:{label}", f"{label} question", "track-en", 0.8, helpful=False)
        records.add_unanswered(f"web:{label}", f"{label} question", "en", None, 0.1)
        records.add_handoff_request(f"web:{label}", "en", "customer_asked", f"{label} question")
        review.record(NEEDS_ARTICLE, f"web:{label}", 1.0 if label == "old" else 2.0, f"{label} question", "en", "agent1")
        customers.upsert_customer(f"cust-{label}", name=f"{label} customer")
        customers.remember_context(f"cust-{label}", last_query=f"{label} question")
        inbound_log.claim(f"SM{label}", "whatsapp:+905550000001", {"MessageSid": f"SM{label}", "Body": f"{label} question"})
        inbound_log.mark_handled(f"SM{label}")
        handoff = handoffs.create(f"web:{label}", "webchat", "customer_asked", 1)
        handoffs.add_message(handoff["id"], "customer", f"web:{label}", f"{label} question")
        handoffs.set_context_card(handoff["id"], {"transcript": [{"text": f"{label} question"}]})
        handoffs.close(handoff["id"], "agent1")
    inbound_log.claim("SMpending", "whatsapp:+905550000002", {"MessageSid": "SMpending", "Body": "old but never handled"})
    for table, column in (
        ("answers_served", "created_at"),
        ("answer_feedback", "created_at"),
        ("unanswered_questions", "created_at"),
        ("handoff_requests", "created_at"),
        ("review_actions", "created_at"),
    ):
        age(path, table, column, 200, "sender_id = 'web:old'")
    age(path, "customer_context", "updated_at", 200, "customer_id = 'cust-old'")
    age(path, "whatsapp_inbound", "received_at", 200, "message_sid IN ('SMold', 'SMpending')")
    age(path, "handoffs", "closed_at", 200, "sender_id = 'web:old'")
    return path


def run_retention(support_db: Database, tracker_db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **environment_url(support_db), "RASA_TRACKER_DB": str(tracker_db), "DESTEK_RETENTION_DAYS": "180"}
    return subprocess.run([PYTHON, "-m", "privacy.retention", *args], capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)


def texts(database: Database) -> set[str]:
    found = set()
    for table in table_names(database):
        for row in query(database, f'SELECT * FROM "{table}"'):
            found.update(f"{table}: {cell}" for cell in row if isinstance(cell, str) and "question" in cell)
    return found


def test_retention_deletes_old_customer_text_and_keeps_the_new(support_db: Database, tracker_db: Path) -> None:
    before = texts(support_db)
    dry = run_retention(support_db, tracker_db, "--dry-run")
    assert dry.returncode == 0 and "would delete" in dry.stdout and "answers_served 1" in dry.stdout
    assert texts(support_db) == before  # a dry run changes nothing

    done = run_retention(support_db, tracker_db)
    assert done.returncode == 0, done.stderr
    after = texts(support_db)
    assert not [text for text in after if "old question" in text]
    assert {text.split(":")[0] for text in after} >= {
        "answers_served",
        "answer_feedback",
        "unanswered_questions",
        "handoff_requests",
        "review_actions",
        "customer_context",
        "whatsapp_inbound",
        "handoff_messages",
        "handoffs",
    }
    assert query(support_db, "SELECT COUNT(*) FROM handoffs") == [(2,)]  # the old row stays for the metrics, without its transcript
    assert query(support_db, "SELECT context_card FROM handoffs WHERE sender_id = 'web:old'") == [(None,)]
    assert query(support_db, "SELECT COUNT(*) FROM whatsapp_inbound WHERE message_sid = 'SMpending'") == [(1,)]

    kept = json.loads(rasa(RASA_READ, str(tracker_db), json.dumps(list(SESSIONS))))
    assert kept["web:old"] is None
    assert kept["web:recent"] == ["web:recent session 0 first", "web:recent session 0 last"]
    assert kept["whatsapp:+905550000001"] == ["whatsapp:+905550000001 session 1 first", "whatsapp:+905550000001 session 1 last"]
    assert kept["web:spanning"] == ["web:spanning session 0 first", "web:spanning session 0 last"]
    assert kept["web:gap"] == ["web:gap session 2 first", "web:gap session 2 last"]
    with sqlite3.connect(tracker_db) as connection:
        first = connection.execute("SELECT type_name, action_name FROM events WHERE sender_id = 'web:gap' ORDER BY id LIMIT 1").fetchone()
    assert first == ("action", "action_session_start")  # every kept conversation begins with its session start

    again = run_retention(support_db, tracker_db)
    assert again.returncode == 0 and texts(support_db) == after  # idempotent


def test_a_bad_retention_setting_is_one_line_and_changes_nothing(support_db: Database, tracker_db: Path) -> None:
    before = texts(support_db)
    for days in ("0", "nan", "-5"):
        done = run_retention(support_db, tracker_db, "--days", days)
        assert done.returncode != 0 and done.stderr.count("\n") == 1 and "between 1 and 36500 days" in done.stderr
    assert texts(support_db) == before
