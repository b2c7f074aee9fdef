"""`python -m customer_store import FILE`: load a company's customers (docs/configuration.md).

Exit status 0 when imported, 1 when the file has bad lines (nothing written), 2 for bad arguments.
"""

import argparse
import sys
from pathlib import Path

from customer_store.importer import COLUMNS, ImportFailed, import_customers
from settings.model import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m customer_store", description="The customer store's commands.")
    commands = parser.add_subparsers(dest="command", required=True)
    importing = commands.add_parser(
        "import",
        help="import customers from a CSV or JSONL file (all lines or none; re-importing updates)",
        description=f"Fields: {', '.join(COLUMNS)}. Only id is required; an empty field leaves what is stored.",
    )
    importing.add_argument("file", type=Path)
    importing.add_argument(
        "--db", default=None, help="support database: a SQLite path or a URL (default: DESTEK_DATABASE_URL, else DESTEK_DB)"
    )
    arguments = parser.parse_args(argv)
    database = arguments.db or get_settings().storage.database()
    try:
        summary = import_customers(arguments.file, database)
    except ImportFailed as error:
        for line in error.lines:
            print(line, file=sys.stderr)
        print(f"nothing imported: fix the {'line' if len(error.lines) == 1 else 'lines'} above and run the import again", file=sys.stderr)
        return 1
    print(
        f"imported {summary.created + summary.updated} customers from {arguments.file.name}: "
        f"{summary.created} new, {summary.updated} updated"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
