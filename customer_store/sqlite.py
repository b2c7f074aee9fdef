"""The one way Destek opens its SQLite file (DESTEK_DB) from the action server and the support app."""

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


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
