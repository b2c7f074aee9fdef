"""Alembic on the support database: a new database (SQLite and PostgreSQL), an OLD SQLite file, made by
the stores' own CREATE TABLE statements before the database layer (old_schema.sql), and a database whose analytics
aggregate tables were made by the consumer before migration 0003, all reach the newest revision, keep their rows,
and then match storage.schema exactly."""

import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from campaigns.sendlog import SendLog
from campaigns.store import CampaignSpec, CampaignStore, Recipient
from customer_store.store import CustomerStore
from storage.database import Database, engine
from storage.migrate import config, create_if_missing, upgrade
from storage.schema import metadata
from tests.conftest import ROOT
from tests.helpers.databases import environment_url, server_url

OLD_SCHEMA = Path(__file__).with_name("old_schema.sql")


def head() -> str:
    return str(ScriptDirectory.from_config(config("sqlite://")).get_current_head())


def migrated_state(database: Database) -> tuple[str | None, list[object]]:
    """(revision, differences between the database and storage.schema)."""
    with engine(database).connect() as connection:
        context = MigrationContext.configure(connection)
        return context.get_current_revision(), compare_metadata(context, metadata)


def test_a_new_database_migrates_to_head_and_equals_the_schema(database: Database) -> None:
    upgrade(database)
    revision, differences = migrated_state(database)
    assert revision == head() and differences == []
    upgrade(database)  # again: nothing to do, nothing breaks
    assert migrated_state(database)[0] == head()


@pytest.mark.sqlite_only("adopts a SQLite file made by the stores before the database layer")
def test_an_old_sqlite_file_made_by_the_previous_stores_migrates_and_keeps_its_rows(tmp_path: Path) -> None:
    old = tmp_path / "destek.sqlite3"
    with sqlite3.connect(old) as connection:
        connection.executescript(OLD_SCHEMA.read_text(encoding="utf-8"))
        connection.execute("INSERT INTO customers (id, name, phone, created_at) VALUES ('c1', 'Ayşe', '+905551110001', 1.5)")
        connection.execute(
            "INSERT INTO consents (customer_id, purpose, granted, source, recorded_at) VALUES ('c1', 'marketing', 1, 'form', 2)"
        )
        connection.execute("INSERT INTO scheduler_lease (name, holder, expires_at, renewed_at) VALUES ('campaigns', 'old', 0, 0)")
    connection.close()

    upgrade(old)
    revision, differences = migrated_state(old)
    assert revision == head()
    # The old file keeps SQLite's own spellings (REAL for double precision; an INTEGER PRIMARY KEY reflects as
    # nullable): no table, column, index or constraint is missing or extra.
    kinds = {change[0] for difference in differences for change in (difference if isinstance(difference, list) else [difference])}
    assert kinds <= {"modify_type", "modify_nullable"}, differences

    customers = CustomerStore(old)
    assert customers.customer("c1")["name"] == "Ayşe" and customers.has_consent("c1", "marketing")
    store = CampaignStore(old)
    spec = CampaignSpec(
        name="x",
        kind="announcement",
        purpose="service",
        channel="whatsapp",
        messages={"tr": "Merhaba"},
        audience={"type": "csv"},
        send_at=1e9,
    )
    campaign_id = store.create(spec, [Recipient("whatsapp:+905551110001", "c1")])
    assert store.stats(campaign_id)["targeted"] == 1
    assert SendLog(store).hold_lease("new", ttl=5)[0], "the old lease row (expired) is taken over"


def test_a_database_whose_analytics_aggregates_predate_the_migration_keeps_them(database: Database) -> None:
    """Before 0003 the analytics consumer and backfill created their tables themselves (create_all): a database at 0002
    with those tables and rows, migrated by `make migrate` (python -m storage.migrate upgrade, as a process), keeps the
    rows, gets the dashboard's indexes, and then equals storage.schema."""
    from analytics.aggregate_schema import conversations, daily, engine_for
    from analytics.aggregate_store import rebuild
    from storage.database import url_of
    from tests.analytics.test_reader import kb_answer, session_start, user

    upgrade(database, "0002")
    aggregates = engine_for(url_of(database))
    events = [("web:ayse", e) for e in (*session_start(1e9), *user(1e9 + 5, "kargom nerede", "faq"), *kb_answer(1e9 + 6, "a", 0.9, "q"))]
    assert rebuild(aggregates, events, ZoneInfo("Europe/Istanbul")) == (1, 1)
    with aggregates.begin() as connection:  # the consumer before 0003 made the tables without this index
        connection.execute(text("DROP INDEX ix_analytics_conversations_sender_start"))
    with aggregates.connect() as connection:
        before = [list(connection.execute(select(table))) for table in (conversations, daily)]
    assert before[0] and before[1]

    done = subprocess.run(
        [sys.executable, "-m", "storage.migrate", "upgrade"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **environment_url(database)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    revision, differences = migrated_state(database)
    assert revision == head() and differences == []
    with aggregates.connect() as connection:
        assert [list(connection.execute(select(table))) for table in (conversations, daily)] == before
    indexes = {index["name"] for index in inspect(engine(database)).get_indexes("handoffs")}
    assert "handoffs_by_created" in indexes
    aggregates.dispose()


@pytest.mark.postgres
def test_upgrade_create_makes_a_missing_postgresql_database_once_then_migrates_it(
    postgres_database: str,
) -> None:  # the fixture: server up, or skip (fail under CI)
    """`make run-cluster`'s step: `python -m storage.migrate upgrade --create` on a database the server lacks."""
    name = f"destek_create_{uuid.uuid4().hex[:12]}"
    url = make_url(server_url()).set(database=name).render_as_string(hide_password=False)
    admin = create_engine(make_url(server_url()).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "DESTEK_DATABASE_URL": url}
        command = [sys.executable, "-m", "storage.migrate", "upgrade", "--create"]
        first = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert first.returncode == 0, first.stderr
        assert first.stdout.splitlines() == [f"created database {name}"]
        assert "handoffs" in inspect(engine(url)).get_table_names()
        again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0 and again.stdout == "", again.stderr  # there already: nothing created
        assert create_if_missing(url) is False
        engine(url).dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_create_refuses_a_database_name_it_would_have_to_quote() -> None:
    with pytest.raises(ValueError, match=r"^database name 'a\"b': create it yourself"):
        create_if_missing('postgresql+psycopg://postgres@127.0.0.1:5432/a"b')
    assert create_if_missing("sqlite:///var/never-made.sqlite3") is False
