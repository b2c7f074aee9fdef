"""The support database through SQLAlchemy: SQLite (the embedded default) or PostgreSQL (production), chosen
by one setting.

`DESTEK_DATABASE_URL` wins (`postgresql+psycopg://user@host/db`, or `sqlite:///path`); without it,
`DESTEK_DB` is the SQLite file's path (compatibility with every existing setup), and without either the
file is var/destek.sqlite3 (settings: `Storage.database()`, or `RasaSettings.database()` in the Rasa
process). A store is given either a URL string or a Path (a SQLite file).

The stores keep their SQL as text with `?` placeholders, written in the dialect both engines share
(`ON CONFLICT … DO NOTHING`, `RETURNING`, `CASE` instead of SQLite's scalar max or boolean sums);
`Connection` passes it to the driver in the driver's own placeholder style. The few differences that remain
(write locks, row locks) are methods here, not SQL in the stores.

Common to SQLAlchemy 1.4 (`future=True`, the Rasa process) and 2.0.
"""

import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy
from sqlalchemy import Table, create_engine, event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import NullPool, SingletonThreadPool

from storage.schema import metadata

Database = str | Path

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{Path(path)}"


def url_of(database: Database) -> str:
    """A store's argument as a URL: a Path (or a string without `://`) is a SQLite file."""
    if isinstance(database, Path) or "://" not in database:
        return sqlite_url(Path(database))
    return database


def sqlite_path(database: Database) -> Path | None:
    """The SQLite file behind a store's argument, or None for a server database."""
    url = make_url(url_of(database))
    return Path(url.database) if url.get_backend_name() == "sqlite" and url.database else None


def exists(database: Database) -> bool:
    """Whether there is a database to read: a SQLite file that exists, or a server database (always)."""
    path = sqlite_path(database)
    return path is None or path.is_file()


def engine(database: Database, kept_open: bool = False) -> Engine:
    """One engine per URL (and kind) and process. SQLite: a connection per unit of work (as before the database
    layer: nothing stays open on the file), WAL, 10 s busy timeout; `kept_open`: one connection per thread, kept,
    without an fsync per commit (for the WhatsApp acknowledgement path). PostgreSQL: a small pool, checked before use."""
    url = url_of(database)
    key = f"{url} kept" if kept_open else url
    with _engines_lock:
        found = _engines.get(key)
        if found is None:
            found = _engines[key] = _create_engine(make_url(url), kept_open)
        return found


def dispose(database: Database) -> None:
    """Close the pooled connections of a database this process will not use again (tests, tools)."""
    url = url_of(database)
    with _engines_lock:
        found = [_engines.pop(key) for key in (url, f"{url} kept") if key in _engines]
    for each in found:
        each.dispose()


def _create_engine(url: URL, kept_open: bool = False) -> Engine:
    if url.get_backend_name() == "sqlite":
        if url.database:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        pool = {"poolclass": SingletonThreadPool, "pool_size": 64} if kept_open else {"poolclass": NullPool}
        created = create_engine(url, future=True, connect_args={"timeout": 10, "check_same_thread": False}, **pool)
        event.listen(created, "connect", _sqlite_pragmas_kept_open if kept_open else _sqlite_pragmas)
        return created
    if url.drivername == "postgresql+psycopg" and not _has_psycopg_dialect():
        url = url.set(drivername="postgresql+psycopg2")  # the Rasa process: SQLAlchemy 1.4 with Rasa's psycopg2
    return create_engine(url, future=True, pool_size=5, max_overflow=10, pool_pre_ping=True)


def _has_psycopg_dialect() -> bool:
    """SQLAlchemy 2.0 has a dialect for psycopg 3; 1.4 (pinned by Rasa) only for psycopg2."""
    return int(sqlalchemy.__version__.split(".")[0]) >= 2


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling stays off: BEGIN is sent by Connection (deferred or IMMEDIATE).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=OFF")  # as before: the stores never relied on SQLite enforcing them
    cursor.close()


def _sqlite_pragmas_kept_open(dbapi_connection: Any, record: Any) -> None:
    _sqlite_pragmas(dbapi_connection, record)
    # No fsync per commit (WAL stays consistent; a power cut may lose the last commits, a process crash loses
    # nothing): a commit costs ~0.1 ms instead of ~15 ms.
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


class Row(dict[str, Any]):
    """A result row read by column name (`row["id"]`, `dict(row)`) or by position (`row[0]`), like sqlite3.Row."""

    def __init__(self, keys: Sequence[str], values: Sequence[Any]) -> None:
        super().__init__(zip(keys, values, strict=True))
        self._values = tuple(values)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, int):
            return self._values[key]
        return super().__getitem__(key)

    def __iter__(self) -> Iterator[Any]:
        """The values, as sqlite3.Row does (`article_id, helpful = row`); `dict(row)` still reads the keys."""
        return iter(self._values)


class Result:
    """What `Connection.execute` returns: rows fetched at once, `rowcount`, and the `RETURNING` value."""

    def __init__(self, keys: Sequence[str], rows: list[Row], rowcount: int) -> None:
        self.keys, self.rows, self.rowcount = keys, rows, rowcount

    # Typed Any like sqlite3's cursor: the stores know their columns; a row is a Row.
    def __iter__(self) -> Iterator[Any]:
        return iter(self.rows)

    def fetchone(self) -> Any:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Any]:
        return self.rows

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None


_PLACEHOLDER = re.compile(r"'[^']*'|\?|%")


class Connection:
    """One unit of work on the support database (see `transaction`)."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self.dialect: str = connection.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def _driver_sql(self, sql: str) -> str:
        if self.is_sqlite:
            return sql
        # psycopg's placeholders are %s, and a literal % must be doubled (outside string literals too).
        return _PLACEHOLDER.sub(lambda m: "%s" if m.group() == "?" else "%%" if m.group() == "%" else m.group().replace("%", "%%"), sql)

    def execute(self, sql: str, params: Iterable[Any] = ()) -> Result:
        result = self._connection.exec_driver_sql(self._driver_sql(sql), tuple(params))
        if result.returns_rows:
            keys = list(result.keys())
            rows = [Row(keys, tuple(row)) for row in result.fetchall()]
            return Result(keys, rows, result.rowcount)
        return Result([], [], result.rowcount)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        listed = [tuple(row) for row in rows]
        if not listed:
            return 0
        return int(self._connection.exec_driver_sql(self._driver_sql(sql), listed).rowcount)

    def insert_id(self, sql: str, params: Iterable[Any] = ()) -> int | None:
        """An INSERT's new `id` (None when ON CONFLICT skipped it): `RETURNING id` on both engines."""
        row = self.execute(f"{sql} RETURNING id", params).fetchone()
        return int(row[0]) if row else None

    def for_update(self) -> str:
        """The row-lock suffix of a SELECT: `FOR UPDATE` on PostgreSQL; nothing on SQLite, where the
        transaction already holds the database's one write lock (`transaction(write=True)`)."""
        return "" if self.is_sqlite else " FOR UPDATE"

    def lock_key(self, key: str) -> None:
        """Serialise the transactions that decide on `key` (e.g. "one open handoff per sender"): a transaction-scoped
        advisory lock on PostgreSQL; on SQLite the write lock of `transaction(write=True)` already does it."""
        if not self.is_sqlite:
            self.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (key,))

    def greatest(self, left: str, right: str) -> str:
        """The larger of two SQL expressions (SQLite's scalar max, PostgreSQL's GREATEST)."""
        return f"max({left}, {right})" if self.is_sqlite else f"greatest({left}, {right})"


@contextmanager
def transaction(database: Database, write: bool = False, kept_open: bool = False) -> Iterator[Connection]:
    """One transaction, committed on success and rolled back on error. `write=True` takes SQLite's write
    lock at BEGIN (BEGIN IMMEDIATE), so that a read-then-write cannot be overtaken by another process;
    on PostgreSQL the stores lock the rows they decide on (`for_update`)."""
    bound = engine(database, kept_open)
    with bound.connect() as opened:
        if opened.dialect.name == "sqlite":
            opened.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield Connection(opened)
            except BaseException:
                opened.rollback()
                raise
            opened.commit()
        else:
            with opened.begin():
                yield Connection(opened)


def create_tables(database: Database, tables: Sequence[Table]) -> None:
    """The tables that are missing (idempotent; a migrated database already has them all). On PostgreSQL
    an advisory lock keeps two processes starting together from creating the same table twice."""
    bound = engine(database)
    with bound.begin() as opened:
        if opened.dialect.name == "postgresql":
            opened.execute(text("SELECT pg_advisory_xact_lock(7310001)"))
        else:
            opened.exec_driver_sql("BEGIN IMMEDIATE")  # the check and the CREATE in one write lock
        metadata.create_all(opened, tables=list(tables), checkfirst=True)


class Store:
    """Base of the stores on the database layer: the constructor creates the subclass's TABLES when they are
    missing; `_transaction()` opens one unit of work. `path` is the SQLite file (None on PostgreSQL)."""

    TABLES: ClassVar[tuple[Table, ...]] = ()

    def __init__(self, database: Database) -> None:
        self.url = url_of(database)
        self.path = sqlite_path(database)
        create_tables(self.url, self.TABLES)

    def _transaction(self, write: bool = False, kept_open: bool = False) -> AbstractContextManager[Connection]:
        return transaction(self.url, write, kept_open)
