"""`python -m storage.migrate [upgrade|current|revision -m MSG]`: Alembic on the support database
(DESTEK_DATABASE_URL, else the SQLite file DESTEK_DB, else var/destek.sqlite3)."""

import argparse
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m storage.migrate", description=__doc__)
    parser.add_argument("action", choices=("upgrade", "current", "revision"), nargs="?", default="upgrade")
    parser.add_argument("-m", "--message", default="", help="revision: what the new migration does")
    parser.add_argument("--autogenerate", action="store_true", help="revision: diff storage.schema against the database")
    args = parser.parse_args(argv)
    url = get_settings().storage.url()
    if args.action == "upgrade":
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
