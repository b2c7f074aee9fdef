"""How long /dashboard and /metrics take on a large tracker store.

Writes N synthetic conversations (30 days, web/WhatsApp/REST, TR/EN, KB answers, 👍/👎,
handoffs with CSAT) in Rasa 3.6's `events` schema plus the support tables, then times
GET /dashboard (default 30 days) and GET /metrics through the real app in-process.

    .venv/bin/python bench/analytics_dashboard.py [--conversations 10000] [--keep DIR]
"""

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.analytics.test_reader import action, kb_answer, kb_not_sure, session_start, user, write_tracker  # noqa: E402

HANDOFF_TABLES = """
CREATE TABLE IF NOT EXISTS handoffs (id INTEGER PRIMARY KEY, sender_id TEXT NOT NULL, customer_id TEXT, channel TEXT,
    language TEXT, reason TEXT, priority INTEGER, status TEXT, agent TEXT, created_at REAL, claimed_at REAL,
    first_agent_reply_at REAL, closed_at REAL);
CREATE TABLE IF NOT EXISTS csat_ratings (handoff_id INTEGER, sender_id TEXT, channel TEXT, rating INTEGER, created_at REAL);
CREATE TABLE IF NOT EXISTS campaigns (id INTEGER PRIMARY KEY, name TEXT NOT NULL, parent_id INTEGER, created_at REAL);
CREATE TABLE IF NOT EXISTS campaign_recipients (campaign_id INTEGER, state TEXT, delivery TEXT, replied INTEGER, opted_out_after INTEGER);
"""
ARTICLES = ["order-tracking-tr", "refund-en", "modem-lights-tr", "store-locations-en", "payment-methods-tr", "reset-password-en"]


def synthetic_data(state: Path, conversations: int, seed: int = 11) -> None:
    """state/tracker.sqlite3 and state/destek.sqlite3 with `conversations` sessions over 30 days."""
    rng = random.Random(seed)
    now = time.time()
    events: dict[str, list[dict[str, Any]]] = {}
    handoffs: list[tuple[Any, ...]] = []
    ratings: list[tuple[Any, ...]] = []
    for number in range(conversations):
        channel = rng.choices(["web", "whatsapp", "rest"], [5, 4, 1])[0]
        sender = {"web": f"web:c{number}", "whatsapp": f"whatsapp:+90555{number:07d}", "rest": f"rest-{number}"}[channel]
        language = rng.choice(["tr", "en"])
        t = now - rng.uniform(0, 30 * 86400)
        conversation = [*session_start(t), *user(t + 1, "kargom nerede" if language == "tr" else "where is my parcel", "faq", rng.uniform(0.5, 1), language)]
        if rng.random() < 0.75:
            conversation += kb_answer(t + 1 + rng.uniform(0.05, 2), rng.choice(ARTICLES), rng.uniform(0.35, 0.95), "kargom nerede")
            if rng.random() < 0.4:
                helpful = rng.random() < 0.8
                conversation += [*user(t + 20, "/answer_helpful" if helpful else "/answer_not_helpful", "answer_helpful" if helpful else "answer_not_helpful", 1.0, language),
                                 *action(t + 20.2, "action_record_feedback", "utter_feedback_thanks", kb_feedback="up" if helpful else "down")]
        else:
            conversation += kb_not_sure(t + 1 + rng.uniform(0.05, 2), f"soru {rng.randint(1, 300)} iban TR330006100519786457841326")
            if rng.random() < 0.6:
                conversation += [*user(t + 30, "/request_human", "request_human", 1.0, language),
                                 *action(t + 30.5, "action_request_human", "utter_handoff_recorded", handoff_requested=True)]
                reply, closed = t + 30.5 + rng.uniform(20, 600), t + 30.5 + rng.uniform(600, 3600)
                handoffs.append((len(handoffs) + 1, sender, channel, language, rng.choice(["customer_asked", "kb_no_answer"]), "closed", t + 30.5, reply, closed))
                if rng.random() < 0.5:
                    ratings.append((len(handoffs), sender, channel, rng.randint(1, 5), closed + 5))
        events[sender] = conversation
    write_tracker(state / "tracker.sqlite3", events)
    with sqlite3.connect(state / "destek.sqlite3") as db:
        db.executescript(HANDOFF_TABLES)
        db.executemany("INSERT INTO handoffs (id, sender_id, channel, language, reason, status, created_at, first_agent_reply_at, closed_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", handoffs)
        db.executemany("INSERT INTO csat_ratings VALUES (?, ?, ?, ?, ?)", ratings)
        db.executemany("INSERT INTO campaigns VALUES (?, ?, ?, ?)", [(1, "Outage Kadıköy", None, now - 86400), (2, "Cart reminder", None, now - 3600)])
        db.executemany("INSERT INTO campaign_recipients VALUES (?, ?, ?, ?, ?)", [
            (rng.choice([1, 2]), *rng.choice([("sent", "delivered"), ("sent", "read"), ("sent", ""), ("failed", ""), ("skipped", "")]),
             int(rng.random() < 0.1), int(rng.random() < 0.02)) for _ in range(2000)])


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Settings for the app under test, restored afterwards (make bench runs more after this)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def timed_requests(state: Path, repeat: int) -> list[tuple[str, str]]:
    from fastapi.testclient import TestClient

    from support_app.app import create_app

    settings = {"RASA_TRACKER_DB": str(state / "tracker.sqlite3"), "DESTEK_DB": str(state / "destek.sqlite3"),
                "STAFF_DEMO_PASSWORD": "bench-staff-password", "DESTEK_DEMO_DATA": "1", "METRICS_TOKEN": "bench"}
    with environment(settings), TestClient(create_app()) as client:
        page = client.get("/staff/login")
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        client.post("/staff/login", data={"login": "admin", "password": "bench-staff-password", "csrf": csrf})
        rows = []
        for path, headers in (("/dashboard", {}), ("/metrics", {"Authorization": "Bearer bench"})):
            samples = []
            for _ in range(repeat):
                started = time.perf_counter()
                response = client.get(path, headers=headers)
                samples.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise SystemExit(f"{path}: HTTP {response.status_code}")
            rows.append((path, f"median {statistics.median(samples) * 1000:.0f} ms, max {max(samples) * 1000:.0f} ms (n={repeat})"))
    return rows


def run(conversations: int = 10_000, repeat: int = 5, keep: Path | None = None) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as work:
        state = keep or Path(work)
        state.mkdir(parents=True, exist_ok=True)
        synthetic_data(state, conversations)
        label = f"{conversations:,} conversations"
        return [(f"GET {path}, {label} over 30 days", result) for path, result in timed_requests(state, repeat)]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="write the synthetic stores here and keep them")
    args = parser.parse_args()
    print("| benchmark | result |\n|---|---|")
    for name, result in run(args.conversations, args.repeat, args.keep):
        print(f"| {name} | {result} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
