"""The review pages read the tracker store of the profile, as the dashboard, replay and backfill do
(analytics.tracker.tracker_store): RASA_TRACKER_DB by default, and with DESTEK_PROFILE=cluster the PostgreSQL store of
endpoints.cluster.yml (its RASA_TRACKER_PG_* settings), not the SQLite file. Through the real app (in-process); the
PostgreSQL case gets its own database (dropped after), skipped (one line) without PostgreSQL outside CI."""

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.analytics.test_reader import session_start, user, write_tracker
from tests.helpers.services import require_reachable

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
PASSWORD = "review-store-test-password"
NOW = time.time() - 3600  # inside the review page's window (DESTEK_REVIEW_DAYS, 30 days)


def conversations(where: str) -> dict[str, list[dict[str, Any]]]:
    """One conversation whose text says which store it is in."""
    return {f"web:review-{where}": [*session_start(NOW), *user(NOW + 5, f"kargom nerede {where}", "faq", 0.3)]}


def login(client: Any) -> None:
    csrf = client.get("/staff/login").text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    assert client.post("/staff/login", data={"login": "admin", "password": PASSWORD, "csrf": csrf}).status_code in (200, 303)


def review(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: dict[str, str], sender: str) -> tuple[str, int, int]:
    """GET /review, and POST /review/golden for session 0 of `sender` and of a sender no store has: (page, statuses)."""
    from fastapi.testclient import TestClient

    from support_app.app import create_app

    settings = {
        "DESTEK_DB": str(tmp_path / "destek.sqlite3"),
        "DESTEK_DATABASE_URL": "",
        "STAFF_DEMO_PASSWORD": PASSWORD,
        "DESTEK_DEMO_DATA": "1",
        **env,
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    with TestClient(create_app()) as client:
        login(client)
        page = client.get("/review")
        assert page.status_code == 200, page.text
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        marked = client.post("/review/golden", data={"sender_id": sender, "session": "0", "csrf": csrf}, follow_redirects=False)
        missing = client.post("/review/golden", data={"sender_id": "web:nobody", "session": "0", "csrf": csrf}, follow_redirects=False)
    return page.text, marked.status_code, missing.status_code


def test_review_reads_rasa_tracker_db_by_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    tracker = write_tracker(tmp_path / "tracker.sqlite3", conversations("sqlite"))
    page, marked, missing = review(monkeypatch, tmp_path, {"RASA_TRACKER_DB": str(tracker), "DESTEK_PROFILE": ""}, "web:review-sqlite")
    assert "kargom nerede sqlite" in page
    assert (marked, missing) == (303, 404)


@pytest.fixture
def postgres_tracker() -> Iterator[str]:
    """A fresh PostgreSQL database with Rasa's `events` table (rasa/core/tracker_store.py SQLEvent), dropped after."""
    require_reachable("127.0.0.1", 5432, "PostgreSQL", "start it to run the review test on the cluster's tracker store")
    name = f"destek_review_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    store = create_engine(f"{SERVER}/{name}")
    try:
        with store.begin() as connection:
            connection.execute(
                text(
                    "CREATE TABLE events (id SERIAL PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, type_name VARCHAR(255) NOT NULL, "
                    "timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT)"
                )
            )
            for sender, events in conversations("postgresql").items():
                for event in events:
                    connection.execute(
                        text("INSERT INTO events (sender_id, type_name, timestamp, action_name, data) VALUES (:s, :t, :ts, :a, :d)"),
                        {"s": sender, "t": event["event"], "ts": event["timestamp"], "a": event.get("name"), "d": json.dumps(event)},
                    )
        yield name
    finally:
        store.dispose()
        from storage.database import dispose

        dispose(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_review_reads_the_cluster_profiles_postgresql_tracker_store(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, postgres_tracker: str
) -> None:
    """With DESTEK_PROFILE=cluster the SQLite file (which holds another conversation here) is not read."""
    tracker = write_tracker(tmp_path / "tracker.sqlite3", conversations("sqlite"))
    env = {
        "RASA_TRACKER_DB": str(tracker),
        "DESTEK_PROFILE": "cluster",
        "RASA_TRACKER_PG_HOST": "127.0.0.1",
        "RASA_TRACKER_PG_PORT": "5432",
        "RASA_TRACKER_PG_DB": postgres_tracker,
        "RASA_TRACKER_PG_USER": "postgres",
        "RASA_TRACKER_PG_PASSWORD": "",
        "RASA_TRACKER_PG_LOGIN_DB": "postgres",
    }
    page, marked, missing = review(monkeypatch, tmp_path, env, "web:review-postgresql")
    assert "kargom nerede postgresql" in page and "kargom nerede sqlite" not in page
    assert (marked, missing) == (303, 404)


def test_the_tracker_store_of_the_profile_comes_from_the_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """DESTEK_PROFILE and RASA_TRACKER_PG_* are settings (settings/model.py), not environment reads of their own."""
    from analytics.tracker import tracker_store
    from settings.model import get_settings, load

    monkeypatch.setenv("RASA_TRACKER_DB", str(tmp_path / "t.sqlite3"))
    monkeypatch.delenv("DESTEK_PROFILE", raising=False)
    assert tracker_store(load()) == tmp_path / "t.sqlite3"
    monkeypatch.setenv("DESTEK_PROFILE", "cluster")
    for name in ("HOST", "PORT", "DB", "USER", "PASSWORD", "LOGIN_DB"):
        monkeypatch.delenv(f"RASA_TRACKER_PG_{name}", raising=False)
    assert tracker_store(load()) == "postgresql+psycopg://postgres@127.0.0.1:5432/destek_tracker"  # run-cluster's defaults
    monkeypatch.setenv("RASA_TRACKER_PG_HOST", "db.internal")
    monkeypatch.setenv("RASA_TRACKER_PG_USER", "destek")
    monkeypatch.setenv("RASA_TRACKER_PG_PASSWORD", "s3cret")
    get_settings.cache_clear()
    assert tracker_store() == "postgresql+psycopg://destek:s3cret@db.internal:5432/destek_tracker"
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text("tracker_store:\n  type: SQL\n  dialect: postgresql\n  url: ${RASA_TRACKER_PG_HOSTNAME}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"^endpoints.yml: tracker_store url needs RASA_TRACKER_PG_HOSTNAME, which settings/model.py"):
        tracker_store(load(), endpoints)
