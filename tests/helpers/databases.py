"""The support database for tests, on SQLite or PostgreSQL: one switch for the whole suite.

`DESTEK_TEST_DATABASE=sqlite` (the default) or `postgres` chooses the engine of every support database the
tests make: the `database` fixture, `support_database(folder)` (what the test servers in tests/helpers/servers.py,
the campaign rig and the tests that keep their database in a tmp folder use), and so the processes the tests
start (they get `environment_url(database)`). On PostgreSQL each support database is a fresh schema with a
random name on the server at DESTEK_TEST_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test);
every connection's `search_path` points at it, so a subprocess given the URL lands in it too.

When PostgreSQL is not reachable, a run under `DESTEK_TEST_DATABASE=postgres` skips every test with one line
saying how to start it, except under CI=true, where the run stops with an error (it must never be skipped there).

Markers: `postgres` — the test needs PostgreSQL whatever the switch (the two-scheduler crash test); it runs in
the PostgreSQL run (`make test-postgres`), not in `make test-unit`. `sqlite_only(reason)` — the test is about
SQLite itself (file permissions, WAL, an old SQLite file); the PostgreSQL run skips it with that reason.
"""

import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError

from storage.database import Database, dispose, engine, transaction

SWITCH = "DESTEK_TEST_DATABASE"
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
START_HINT = "start it with `service postgresql start` (PostgreSQL 15, trust auth on 127.0.0.1:5432) or set DESTEK_TEST_DATABASE_URL"
_SCHEMA_PREFIX = "ts_"

# The schemas support_database() made in this process (dropped at the end of the session), and a random
# part of their names so that two runs (or two helpers on one server) never share one.
_made: dict[str, str] = {}
_run = secrets.token_hex(3)


def server_url() -> str:
    return os.environ.get("DESTEK_TEST_DATABASE_URL") or DEFAULT_SERVER


def engine_under_test() -> str:
    """`sqlite` or `postgres`: the value of DESTEK_TEST_DATABASE (a clear error for anything else)."""
    value = os.environ.get(SWITCH) or "sqlite"
    if value not in ("sqlite", "postgres"):
        raise pytest.UsageError(f"{SWITCH}={value!r}: expected sqlite or postgres")
    return value


def on_postgres() -> bool:
    return engine_under_test() == "postgres"


def _unreachable_message(reason: str) -> str:
    return f"PostgreSQL not reachable at {make_url(server_url()).render_as_string(hide_password=True)} ({reason}): {START_HINT}"


def _unreachable(reason: str) -> None:
    message = _unreachable_message(reason)
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _admin() -> Engine:
    return create_engine(server_url(), future=True, connect_args={"connect_timeout": 3})


def _reason(error: OperationalError) -> str:
    return str(error.orig).strip().splitlines()[0] if error.orig else "connection failed"


def postgres_schema_url(name: str) -> str:
    """The server's URL with every connection's search_path set to schema `name`."""
    url = make_url(server_url())
    return url.update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(hide_password=False)


def _drop_schemas(names: list[str]) -> None:
    if not names:
        return
    admin = _admin()
    try:
        for name in names:  # one transaction each: a schema's tables take a lock each, a shared table of fixed size
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    finally:
        admin.dispose()


def support_database(folder: Path, name: str = "destek") -> Database:
    """The support database a test keeps in `folder`: the SQLite file `folder/<name>.sqlite3`, or (under
    DESTEK_TEST_DATABASE=postgres) a PostgreSQL schema of its own, made on first use and dropped at the end of
    the session. Asking again for the same folder and name gives the same database, so a test may name the
    database of a server it started (`support_database(servers.state)`) as it named a file before."""
    path = folder / f"{name}.sqlite3"
    if not on_postgres():
        return path
    key = str(path.resolve())
    if key not in _made:
        schema = f"{_SCHEMA_PREFIX}{os.getpid()}_{_run}_{hashlib.sha256(key.encode()).hexdigest()[:12]}"
        admin = _admin()
        try:
            with admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        except OperationalError as error:
            _unreachable(_reason(error))
        finally:
            admin.dispose()
        _made[key] = schema
    return postgres_schema_url(_made[key])


@pytest.fixture(autouse=True)
def close_support_databases() -> Iterator[None]:
    """After each test, close this process's connections to the schemas tests made (they stay until the session
    ends, for a later test that names the same folder): kept open, a few hundred tests exhaust PostgreSQL's
    max_connections ("too many clients already")."""
    yield
    for schema in list(_made.values()):
        dispose(postgres_schema_url(schema))


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A URL to a fresh, empty schema on the test PostgreSQL server (whatever the switch), dropped afterwards."""
    name = f"t_{secrets.token_hex(6)}"
    admin = _admin()
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{name}"'))
    except OperationalError as error:
        admin.dispose()
        _unreachable(_reason(error))
    url = postgres_schema_url(name)
    try:
        yield url
    finally:
        dispose(url)
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


@pytest.fixture
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The support database of one test on the engine under test: a SQLite file (Path) in tmp_path, or a fresh
    PostgreSQL schema (URL), dropped after the test."""
    if on_postgres():
        yield request.getfixturevalue("postgres_database")
    else:
        path = tmp_path / "destek.sqlite3"
        yield path
        dispose(path)


def environment_url(database: Database) -> dict[str, str]:
    """What a child process needs in its environment to use `database`."""
    if isinstance(database, Path):
        return {"DESTEK_DB": str(database), "DESTEK_DATABASE_URL": ""}
    return {"DESTEK_DATABASE_URL": database}


def use_database(monkeypatch: pytest.MonkeyPatch, database: Database) -> None:
    """Point this process's settings (DESTEK_DATABASE_URL, else DESTEK_DB) at `database` for one test."""
    for name, value in environment_url(database).items():
        monkeypatch.setenv(name, value)
    from settings.model import get_settings
    from settings.rasa_side import rasa_settings

    get_settings.cache_clear()  # the settings are read once per process: this is a new start
    rasa_settings.cache_clear()


def query(database: Database, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """The rows of one statement on a support database of either engine (`?` placeholders), as tuples."""
    with transaction(database) as connection:
        return [tuple(row) for row in connection.execute(sql, params)]


def query_dicts(database: Database, sql: str, *params: Any) -> list[dict[str, Any]]:
    """The rows of one statement as dicts by column name."""
    with transaction(database) as connection:
        return [dict(row) for row in connection.execute(sql, params)]


def execute(database: Database, sql: str, *params: Any) -> int:
    """One write (a test changing what time or a hand edit would), committed; the rows it changed."""
    with transaction(database, write=True) as connection:
        return connection.execute(sql, params).rowcount


def table_names(database: Database) -> list[str]:
    """The tables of a support database (either engine)."""
    return sorted(inspect(engine(database)).get_table_names())


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: needs PostgreSQL whatever DESTEK_TEST_DATABASE says (runs in `make test-postgres`)")
    config.addinivalue_line("markers", "sqlite_only(reason): about SQLite itself; the PostgreSQL run skips it with the reason")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under DESTEK_TEST_DATABASE=postgres: the SQLite-only tests skip with their reason; an unreachable server
    skips every test with one line (outside CI) or stops the run (CI=true)."""
    if not on_postgres():
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            item.add_marker(pytest.mark.skip(reason=f"SQLite-specific: {marker.args[0] if marker.args else marker.kwargs['reason']}"))
    admin = _admin()
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
            stale = _stale_schemas(connection)
    except OperationalError as error:
        message = _unreachable_message(_reason(error))
        if os.environ.get("CI") == "true":
            pytest.exit(f"{SWITCH}=postgres under CI=true: {message}", returncode=1)
        for item in items:
            item.add_marker(pytest.mark.skip(reason=message))
        return
    finally:
        admin.dispose()
    _drop_schemas(stale)


def _stale_schemas(connection: Connection) -> list[str]:
    """Schemas left by an earlier run of this helper whose process is gone (a run killed before its clean-up)."""
    names = connection.execute(
        text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :prefix"), {"prefix": f"{_SCHEMA_PREFIX}%"}
    ).scalars()
    stale = []
    for name in names:
        pid = name[len(_SCHEMA_PREFIX) :].split("_", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            stale.append(name)
    return stale


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Drop the schemas support_database() made (the processes that used them have been stopped by now)."""
    if not _made:
        return
    urls = [postgres_schema_url(schema) for schema in _made.values()]
    for url in urls:
        dispose(url)
    _drop_schemas(list(_made.values()))
    _made.clear()
