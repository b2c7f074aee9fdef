"""How long /dashboard and /metrics take on a large tracker store, recomputed from the tracker store
and read from the analytics aggregates (analytics/aggregate_*.py, filled by `analytics.backfill`).

Writes N synthetic conversations (30 days, web/WhatsApp/REST, TR/EN, KB answers, 👍/👎,
handoffs with CSAT) in Rasa 3.6's `events` schema plus the support tables, then times
GET /dashboard (default 30 days) and GET /metrics through the real app in-process, first with
ANALYTICS_SOURCE=tracker, then after the backfill with ANALYTICS_SOURCE=aggregates.

    .venv/bin/python bench/analytics_dashboard.py [--conversations 10000 100000] [--keep DIR] [--postgresql [SERVER]]
        [--skip-recompute]
"""

import argparse
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_METRICS_TOKEN = "bench-metrics-token-0123456789"  # optional secrets are at least 16 characters
sys.path.insert(0, str(ROOT))

from tests.analytics.test_reader import action, kb_answer, kb_not_sure, session_start, user, write_tracker  # noqa: E402

POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"  # CI's and the machines' PostgreSQL (issue #16)
ARTICLES = ["order-tracking-tr", "refund-en", "modem-lights-tr", "store-locations-en", "payment-methods-tr", "reset-password-en"]


def synthetic_data(state: Path, conversations: int, seed: int = 11, support_url: str | None = None) -> None:
    """state/tracker.sqlite3 with `conversations` sessions over 30 days, and their handoffs, CSAT ratings and
    campaigns in the support database (support_url, default sqlite:///state/destek.sqlite3), migrated to the
    newest schema first (`make migrate`: the tables and indexes production has)."""
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
        conversation = [
            *session_start(t),
            *user(t + 1, "kargom nerede" if language == "tr" else "where is my parcel", "faq", rng.uniform(0.5, 1), language),
        ]
        if rng.random() < 0.75:
            conversation += kb_answer(t + 1 + rng.uniform(0.05, 2), rng.choice(ARTICLES), rng.uniform(0.35, 0.95), "kargom nerede")
            if rng.random() < 0.4:
                helpful = rng.random() < 0.8
                conversation += [
                    *user(
                        t + 20,
                        "/answer_helpful" if helpful else "/answer_not_helpful",
                        "answer_helpful" if helpful else "answer_not_helpful",
                        1.0,
                        language,
                    ),
                    *action(t + 20.2, "action_record_feedback", "utter_feedback_thanks", kb_feedback="up" if helpful else "down"),
                ]
        else:
            conversation += kb_not_sure(t + 1 + rng.uniform(0.05, 2), f"soru {rng.randint(1, 300)} iban TR330006100519786457841326")
            if rng.random() < 0.6:
                conversation += [
                    *user(t + 30, "/request_human", "request_human", 1.0, language),
                    *action(t + 30.5, "action_request_human", "utter_handoff_recorded", handoff_requested=True),
                ]
                reply, closed = t + 30.5 + rng.uniform(20, 600), t + 30.5 + rng.uniform(600, 3600)
                handoffs.append(
                    (
                        len(handoffs) + 1,
                        sender,
                        channel,
                        language,
                        rng.choice(["customer_asked", "kb_no_answer"]),
                        "closed",
                        t + 30.5,
                        reply,
                        closed,
                    )
                )
                if rng.random() < 0.5:
                    ratings.append((len(handoffs), sender, channel, rng.randint(1, 5), closed + 5))
        events[sender] = conversation
    write_tracker(state / "tracker.sqlite3", events)
    write_support_rows(support_url or f"sqlite:///{state / 'destek.sqlite3'}", handoffs, ratings, rng, now)


def write_support_rows(url: str, handoffs: list[tuple[Any, ...]], ratings: list[tuple[Any, ...]], rng: random.Random, now: float) -> None:
    from analytics.aggregate_schema import engine_for
    from storage import schema
    from storage.migrate import upgrade

    upgrade(url)
    handoff_columns = ("id", "sender_id", "channel", "language", "reason", "status", "created_at", "first_agent_reply_at", "closed_at")
    with engine_for(url).begin() as db:
        db.execute(schema.handoffs.insert(), [{**dict(zip(handoff_columns, row, strict=True)), "priority": 0} for row in handoffs])
        db.execute(
            schema.csat_ratings.insert(),
            [dict(zip(("handoff_id", "sender_id", "channel", "rating", "created_at"), row, strict=True)) for row in ratings],
        )
        campaign = {"kind": "announcement", "purpose": "service", "channel": "whatsapp", "messages": "{}", "audience": "{}"}
        campaign |= {"send_at": now, "timezone": "Europe/Istanbul", "quiet_hours": 0, "rate": 1, "status": "done", "updated_at": now}
        db.execute(
            schema.campaigns.insert(),
            [
                {**campaign, "id": 1, "name": "Outage Kadıköy", "created_at": now - 86400},
                {**campaign, "id": 2, "name": "Cart reminder", "created_at": now - 3600},
            ],
        )
        recipients = []
        for number in range(2000):
            state, delivery = rng.choice([("sent", "delivered"), ("sent", "read"), ("sent", ""), ("failed", ""), ("skipped", "")])
            recipients.append(
                {
                    "campaign_id": rng.choice([1, 2]),
                    "address": f"whatsapp:+90554{number:07d}",
                    "text": "Merhaba",
                    "due_at": now,
                    "state": state,
                    "delivery": delivery,
                    "replied": int(rng.random() < 0.1),
                    "opted_out_after": int(rng.random() < 0.02),
                }
            )
        db.execute(schema.campaign_recipients.insert(), recipients)


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Settings for the app under test, restored afterwards (make bench runs more after this). The process reads its
    settings once (settings.model.get_settings, cached): the cache is emptied on the way in and out, or the second size
    would open the first size's (deleted) databases."""
    from settings.model import get_settings

    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]


def timed_requests(state: Path, repeat: int, source: str, support_url: str) -> list[tuple[str, str]]:
    from fastapi.testclient import TestClient

    from support_app.app import create_app

    settings = {
        "RASA_TRACKER_DB": str(state / "tracker.sqlite3"),
        "DESTEK_DB": str(state / "destek.sqlite3"),
        "DESTEK_DATABASE_URL": support_url,
        "ANALYTICS_SOURCE": source,
        "STAFF_DEMO_PASSWORD": "bench-staff-password",
        "DESTEK_DEMO_DATA": "1",
        "METRICS_TOKEN": BENCH_METRICS_TOKEN,
        # the app refuses to start without them (security/secrets_policy.py): throw-away values for this run
        "WEBCHAT_JWT_SECRET": os.environ.get("WEBCHAT_JWT_SECRET") or secrets.token_urlsafe(32),
        "SUPPORT_SESSION_SECRET": os.environ.get("SUPPORT_SESSION_SECRET") or secrets.token_urlsafe(32),
    }
    with environment(settings), TestClient(create_app()) as client:
        page = client.get("/staff/login")
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        client.post("/staff/login", data={"login": "admin", "password": "bench-staff-password", "csrf": csrf})
        rows = []
        for path, headers in (("/dashboard", {}), ("/metrics", {"Authorization": f"Bearer {BENCH_METRICS_TOKEN}"})):
            client.get(path, headers=headers)  # warm-up (templates, connection pool)
            samples, cpu = [], []
            for _ in range(repeat):
                started, started_cpu = time.perf_counter(), time.process_time()
                response = client.get(path, headers=headers)
                samples.append(time.perf_counter() - started)
                cpu.append(
                    time.process_time() - started_cpu
                )  # this process's CPU (app and client): wall time minus waiting for a busy core
                if response.status_code != 200:
                    raise SystemExit(f"{path}: HTTP {response.status_code}")
            rows.append(
                (
                    path,
                    f"p50 {statistics.median(samples) * 1000:.0f} ms, p95 {p95(samples) * 1000:.0f} ms, max {max(samples) * 1000:.0f} ms; "
                    f"CPU p50 {statistics.median(cpu) * 1000:.0f} ms, p95 {p95(cpu) * 1000:.0f} ms (n={repeat})",
                )
            )
    return rows


def backfill(state: Path, support_url: str) -> str:
    """`python -m analytics.backfill` on the synthetic stores, as a real process (wall time, peak memory)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "RASA_TRACKER_DB": str(state / "tracker.sqlite3"),
        "DESTEK_DATABASE_URL": support_url,
    }
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "analytics.backfill"], env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit("analytics backfill failed")
    return f"{time.perf_counter() - started:.1f} s, peak RSS {usage.ru_maxrss / 1024:.0f} MiB"


@contextmanager
def support_database(state: Path, postgresql: str | None) -> Iterator[str]:
    """The support database's URL: a SQLite file in `state`, or a new database on the PostgreSQL server
    `postgresql` (dropped afterwards)."""
    if postgresql is None:
        yield f"sqlite:///{state / 'destek.sqlite3'}"
        return
    from sqlalchemy import create_engine, text

    from analytics.aggregate_schema import engine_for
    from storage.database import dispose

    name = f"destek_bench_{os.getpid()}_{int(time.time())}"
    admin = create_engine(f"{postgresql}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{postgresql}/{name}"
    try:
        yield url
    finally:
        engine_for(url).dispose()
        dispose(url)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(
    sizes: tuple[int, ...] = (10_000, 100_000),
    repeat: int = 20,
    tracker_repeat: int = 5,
    keep: Path | None = None,
    postgresql: str | None = None,
    recompute: bool = True,
) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    engine = "PostgreSQL" if postgresql else "SQLite"
    for conversations in sizes:
        with tempfile.TemporaryDirectory() as work:
            state = keep / str(conversations) if keep else Path(work)
            state.mkdir(parents=True, exist_ok=True)
            with support_database(state, postgresql) as support_url:
                started = time.perf_counter()
                synthetic_data(state, conversations, support_url=support_url)
                label = f"{conversations:,} conversations over 30 days, support database on {engine}"
                rows.append((f"synthetic data, {label}", f"{time.perf_counter() - started:.1f} s to write"))
                if recompute:  # the recompute costs seconds a request at 100,000: fewer samples
                    samples = tracker_repeat if conversations > 10_000 else repeat // 2
                    for path, result in timed_requests(state, samples, "tracker", support_url):
                        rows.append((f"GET {path}, {label}, recomputed from the tracker store", result))
                rows.append((f"analytics backfill, {label}", backfill(state, support_url)))
                for path, result in timed_requests(state, repeat, "aggregates", support_url):
                    rows.append((f"GET {path}, {label}, from the aggregates", result))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=20, help="requests per measurement from the aggregates")
    parser.add_argument("--tracker-repeat", type=int, default=5, help="requests per recompute measurement above 10,000")
    parser.add_argument("--keep", type=Path, help="write the synthetic stores here and keep them")
    parser.add_argument(
        "--postgresql",
        nargs="?",
        const=POSTGRES_SERVER,
        help="the support database (aggregates, handoffs, CSAT) on this PostgreSQL server, a new database per size "
        "(default server postgresql+psycopg://postgres@127.0.0.1:5432); the tracker store stays SQLite",
    )
    parser.add_argument("--skip-recompute", action="store_true", help="time the aggregates only (the recompute takes minutes at 100,000)")
    args = parser.parse_args()
    print("| benchmark | result |\n|---|---|")
    for name, result in run(
        tuple(args.conversations), args.repeat, args.tracker_repeat, args.keep, args.postgresql, not args.skip_recompute
    ):
        print(f"| {name} | {result} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
