"""`python -m storage.migrate [upgrade [--create]|current|revision -m MSG]`: Alembic on the support database
(DESTEK_DATABASE_URL, else the SQLite file DESTEK_DB, else var/destek.sqlite3). `--create` first creates a
PostgreSQL database that does not exist yet (`make run-cluster` does, for its default database)."""

import argparse
import re
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from settings.model import get_settings
from storage.database import Database, url_of

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def config(database: Database) -> Config:
    settings = Config()
    settings.set_main_option("script_location", str(MIGRATIONS))
    settings.set_main_option("sqlalchemy.url", url_of(database).replace("%", "%%"))
    return settings


def upgrade(database: Database, revision: str = "head") -> None:
    """Bring a database (new, old-style or already migrated) to `revision`."""
    command.upgrade(config(database), revision)


def create_if_missing(database: Database) -> bool:
    """Create the PostgreSQL database a URL names when the server does not have it yet (True when it did);
    SQLite needs nothing (its first connection makes the file). ValueError for a name this would have to quote."""
    url = make_url(url_of(database))
    if url.get_backend_name() != "postgresql" or not url.database:
        return False
    if not re.fullmatch(r"[A-Za-z0-9_-]+", url.database):
        raise ValueError(f"database name {url.database!r}: create it yourself (only letters, digits, _ and - are created here)")
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            if connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}).first():
                return False
            connection.execute(text(f'CREATE DATABASE "{url.database}"'))
            return True
    finally:
        server.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m storage.migrate", description=__doc__)
    parser.add_argument("action", choices=("upgrade", "current", "revision"), nargs="?", default="upgrade")
    parser.add_argument("-m", "--message", default="", help="revision: what the new migration does")
    parser.add_argument("--autogenerate", action="store_true", help="revision: diff storage.schema against the database")
    parser.add_argument("--create", action="store_true", help="upgrade: first create a PostgreSQL database that does not exist")
    args = parser.parse_args(argv)
    url = get_settings().storage.url()
    if args.action == "upgrade":
        try:
            if args.create and create_if_missing(url):
                print(f"created database {make_url(url).database}")
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        upgrade(url)
    elif args.action == "current":
        command.current(config(url), verbose=False)
    else:
        if not args.message:
            print("revision needs -m MESSAGE", file=sys.stderr)
            return 2
        command.revision(config(url), message=args.message, autogenerate=args.autogenerate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
