"""The support database for tests, on SQLite or PostgreSQL.

`database` is parametrised: `sqlite` (a file in tmp_path) and `postgresql` (a fresh schema with a random
name on the server at DESTEK_TEST_DATABASE_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test,
dropped after the test). A test gets a URL string for PostgreSQL and a Path for SQLite, as the stores accept
both. When PostgreSQL is not reachable the `postgresql` cases are skipped with one line saying how to start
it, except under CI=true, where they fail. Every PostgreSQL case carries the `postgres` marker: `make test-postgres` runs those (`-m postgres`),
`make test-unit` the rest.
"""

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from storage.database import Database, dispose

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
START_HINT = "start it with `service postgresql start` (PostgreSQL 15, trust auth on 127.0.0.1:5432) or set DESTEK_TEST_DATABASE_URL"


def server_url() -> str:
    return os.environ.get("DESTEK_TEST_DATABASE_URL") or DEFAULT_SERVER


def _unreachable(reason: str) -> None:
    message = f"PostgreSQL not reachable at {make_url(server_url()).render_as_string(hide_password=True)} ({reason}): {START_HINT}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def postgres_schema_url(name: str) -> str:
    """The server's URL with every connection's search_path set to schema `name`."""
    url = make_url(server_url())
    return url.update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(hide_password=False)


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A URL to a fresh, empty schema on the test PostgreSQL server, dropped afterwards."""
    name = f"t_{secrets.token_hex(6)}"
    admin = create_engine(server_url(), future=True, connect_args={"connect_timeout": 3})
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{name}"'))
    except OperationalError as error:
        admin.dispose()
        _unreachable(str(error.orig).strip().splitlines()[0] if error.orig else "connection failed")
    url = postgres_schema_url(name)
    try:
        yield url
    finally:
        dispose(url)
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: runs on the test PostgreSQL server (`make test-postgres` runs these)")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The support database on each engine: a SQLite file (Path) or a PostgreSQL schema (URL)."""
    if request.param == "sqlite":
        path = tmp_path / "destek.sqlite3"
        yield path
        dispose(path)
    else:
        yield request.getfixturevalue("postgres_database")


def environment_url(database: Database) -> dict[str, str]:
    """What a child process needs in its environment to use `database`."""
    if isinstance(database, Path):
        return {"DESTEK_DB": str(database), "DESTEK_DATABASE_URL": ""}
    return {"DESTEK_DATABASE_URL": database}
