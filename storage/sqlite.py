"""The one way Destek opens its SQLite file (DESTEK_DB) from the action server and the support app."""

import sqlite3
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import ClassVar, Iterator


@contextmanager
def connection(path: Path) -> Iterator[sqlite3.Connection]:
    """A short-lived connection in one transaction (committed on success), always closed.

    WAL lets readers in other processes work while one writes; rows come back as sqlite3.Row.
    """
    opened = sqlite3.connect(path, timeout=10)
    opened.row_factory = sqlite3.Row
    try:
        opened.execute("PRAGMA journal_mode=WAL")
        with opened:
            yield opened
    finally:
        opened.close()


class SqliteStore:
    """Base of the stores that own tables in the support database: the constructor creates the
    subclass's SCHEMA (idempotent `CREATE TABLE IF NOT EXISTS`), `_connection()` opens one unit of work."""

    SCHEMA: ClassVar[str] = ""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connection() as opened:
            opened.executescript(self.SCHEMA)

    def _connection(self) -> AbstractContextManager[sqlite3.Connection]:
        return connection(self.path)
