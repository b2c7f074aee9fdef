"""`make replay` reads the production profile's tracker store: Rasa's own SQLTrackerStore (run in .venv-rasa) writes
the same conversations to PostgreSQL, configured as endpoints.cluster.yml configures it (its RASA_TRACKER_PG_*
variables, `login_db` creating the database), and to a SQLite file; `python -m replay export` with
DESTEK_PROFILE=cluster reads the PostgreSQL one and gives exactly what it gives from the SQLite one.
Skipped (one line) without PostgreSQL outside CI; under CI=true it must run."""

import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.analytics.test_aggregates import hand_made
from tests.conftest import ROOT
from tests.helpers.services import require_reachable

PYTHON = str(ROOT / ".venv" / "bin" / "python")
RASA_PYTHON = str(ROOT / ".venv-rasa" / "bin" / "python")
SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"

# Rasa's SQLTrackerStore, as the Rasa server saves trackers (Python 3.10, Rasa's SQLAlchemy 1.4 and psycopg2).
WRITER = """
import asyncio, json, sys
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

async def main() -> None:
    options, conversations = json.load(sys.stdin)
    store = SQLTrackerStore(Domain.empty(), **options)
    for sender, events in conversations.items():
        await store.save(DialogueStateTracker.from_dict(sender, events))

asyncio.run(main())
"""


def cluster_env(database: str, **changes: str) -> dict[str, str]:
    """The cluster profile's settings (scripts/run-cluster.sh exports the same names)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("RASA_TRACKER")}
    env |= {"PYTHONPATH": str(ROOT), "DESTEK_PROFILE": "cluster", "RASA_TRACKER_PG_HOST": "127.0.0.1", "RASA_TRACKER_PG_PORT": "5432"}
    env |= {"RASA_TRACKER_PG_DB": database, "RASA_TRACKER_PG_USER": "postgres", "RASA_TRACKER_PG_PASSWORD": ""}
    env |= {"RASA_TRACKER_PG_LOGIN_DB": "postgres"}
    return env | changes


def write_with_rasa(options: dict[str, Any], conversations: dict[str, list[dict[str, Any]]]) -> None:
    done = subprocess.run(
        [RASA_PYTHON, "-c", WRITER], input=json.dumps([options, conversations]), capture_output=True, text=True, timeout=600, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(the PostgreSQL tracker database's name, the SQLite tracker file), both written by Rasa; the database is dropped."""
    require_reachable("127.0.0.1", 5432, "PostgreSQL", "start it (`service postgresql start`) to run the replay test on it")
    name = f"destek_tracker_{secrets.token_hex(5)}"
    sqlite = tmp_path_factory.mktemp("replay-pg") / "tracker.sqlite3"
    conversations = hand_made()
    env = cluster_env(name)
    # the endpoints.cluster.yml keys, filled from the environment as Rasa fills them
    write_with_rasa(
        {
            "dialect": "postgresql",
            "host": env["RASA_TRACKER_PG_HOST"],
            "port": int(env["RASA_TRACKER_PG_PORT"]),
            "db": name,
            "username": env["RASA_TRACKER_PG_USER"],
            "password": env["RASA_TRACKER_PG_PASSWORD"],
            "login_db": env["RASA_TRACKER_PG_LOGIN_DB"],
        },
        conversations,
    )
    write_with_rasa({"dialect": "sqlite", "db": str(sqlite)}, conversations)
    try:
        yield name, sqlite
    finally:
        admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def export(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path / f"export-{secrets.token_hex(3)}.jsonl"
    done = subprocess.run(
        [PYTHON, "-m", "replay", "export", "--days", "100000", "--db", str(tmp_path / "none.sqlite3"), "--out", str(out), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done, out


def test_replay_reads_the_cluster_profiles_postgresql_tracker_store(stores: tuple[str, Path], tmp_path: Path) -> None:
    name, sqlite = stores
    from_postgres, postgres_file = export(tmp_path, cluster_env(name))
    assert from_postgres.returncode == 0, from_postgres.stderr
    from_sqlite, sqlite_file = export(tmp_path, {**os.environ, "PYTHONPATH": str(ROOT)}, "--tracker", str(sqlite))
    assert from_sqlite.returncode == 0, from_sqlite.stderr
    lines = postgres_file.read_text(encoding="utf-8").splitlines()
    assert lines == sqlite_file.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    outcomes = {turn["outcome"] for record in records for turn in record["turns"]}
    assert len(records) == 5 and {"answer", "not_sure", "handoff"} <= outcomes
    assert "4111" not in postgres_file.read_text(encoding="utf-8"), "customer text is redacted"
    # the same store named on the command line
    url = f"{SERVER}/{name}"
    explicit, explicit_file = export(tmp_path, {**os.environ, "PYTHONPATH": str(ROOT)}, "--tracker", url)
    assert explicit.returncode == 0 and explicit_file.read_text(encoding="utf-8").splitlines() == lines


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # the RASA_TRACKER_PG_* variables are settings (settings/model.py): one line naming a bad one
        ({"RASA_TRACKER_PG_PORT": "port"}, "replay: RASA_TRACKER_PG_PORT: must be a whole number, not 'port'"),
        ({"DESTEK_PROFILE": "clustre"}, "replay: DESTEK_PROFILE: Input should be '' or 'cluster'"),
        ({"RASA_TRACKER_PG_PORT": "1"}, "replay: tracker store postgresql+psycopg://postgres@127.0.0.1:1/"),
    ],
)
def test_a_cluster_tracker_store_that_cannot_be_used_is_a_one_line_error(
    stores: tuple[str, Path], tmp_path: Path, changes: dict[str, str | None], expected: str
) -> None:
    name, _ = stores
    env = {key: value for key, value in cluster_env(name).items() if changes.get(key, "") is not None}
    env |= {key: value for key, value in changes.items() if value is not None}
    done, out = export(tmp_path, env)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and done.stderr.startswith(expected), done.stderr
    assert not out.exists()


def test_the_analytics_backfill_reads_the_same_postgresql_tracker_store(stores: tuple[str, Path], tmp_path: Path) -> None:
    """`make analytics-backfill` in the cluster profile takes its default tracker store from the same settings."""
    from analytics.aggregate_schema import engine_for
    from tests.analytics.test_aggregates import table_rows

    name, sqlite = stores
    rows = []
    for label, env in (
        ("postgresql", cluster_env(name)),
        ("sqlite", {**os.environ, "PYTHONPATH": str(ROOT), "DESTEK_PROFILE": "", "RASA_TRACKER_DB": str(sqlite)}),
    ):
        target = f"sqlite:///{tmp_path / label}.sqlite3"
        done = subprocess.run(
            [PYTHON, "-m", "analytics.backfill", "--database-url", target], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0 and "analytics backfill: 6 conversations of 4 senders" in done.stdout, done.stderr
        rows.append(table_rows(engine_for(target)))
    assert rows[0] == rows[1] and rows[0][0]
