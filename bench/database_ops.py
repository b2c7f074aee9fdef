"""Per-operation cost of typical support-database writes and reads on SQLite and on PostgreSQL, in one run.

`python bench/database_ops.py [--n 300] [--postgres URL]` (or `make bench-database`). PostgreSQL: the server at
--postgres / DESTEK_TEST_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test), in a scratch
schema dropped afterwards; without a reachable server only SQLite is measured (the line says so).
Each operation is one store call as the product makes it (one unit of work, a commit for writes).
Prints Markdown table rows.
"""

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402

from campaigns.store import CampaignSpec, CampaignStore, Recipient  # noqa: E402
from connectors.whatsapp.inbound_log import InboundLog  # noqa: E402
from customer_store.store import CustomerStore  # noqa: E402
from handoff.store import HandoffStore  # noqa: E402
from storage.database import Database, dispose  # noqa: E402

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def timed(operation: Callable[[int], object], n: int) -> tuple[float, float]:
    """(p50, p95) in milliseconds over n calls, after 20 warm-up calls."""
    for number in range(-20, 0):
        operation(number)
    samples = []
    for number in range(n):
        started = time.perf_counter()
        operation(number)
        samples.append((time.perf_counter() - started) * 1000)
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(n - 1, int(0.95 * n))]


def operations(database: Database) -> dict[str, Callable[[int], object]]:
    customers, handoffs, inbound_log, campaigns = (
        CustomerStore(database),
        HandoffStore(database),
        InboundLog(database),
        CampaignStore(database),
    )
    customers.seed_demo_customers()
    handoff = handoffs.create("web:bench", "web", "asked_for_human", 1)["id"]
    spec = CampaignSpec(
        name="bench",
        kind="announcement",
        purpose="service",
        channel="whatsapp",
        messages={"tr": "Merhaba"},
        audience={"type": "csv"},
        send_at=2e9,
    )
    campaign = campaigns.create(spec, [Recipient(f"whatsapp:+90500{number:07d}") for number in range(1000)])
    run = secrets.token_hex(3)
    return {
        "WhatsApp webhook claimed (insert, dedupe on MessageSid)": lambda n: inbound_log.claim(
            f"SM{run}{n}", "whatsapp:+905551110001", {"Body": "merhaba"}
        ),
        "conversation recorded (upsert)": lambda n: customers.record_conversation("cust-ayse", "web", f"web:{run}:{n % 50}"),
        "handoff message added (insert, id returned)": lambda n: handoffs.add_message(handoff, "customer", "", f"mesaj {n}"),
        "customer profile read (primary key)": lambda n: customers.customer("cust-ayse"),
        "consent checked (primary key)": lambda n: customers.has_consent("cust-john", "marketing"),
        "campaign stats (aggregate over 1,000 rows)": lambda n: campaigns.stats(campaign),
    }


def measure(database: Database, n: int) -> dict[str, tuple[float, float]]:
    try:
        return {name: timed(operation, n) for name, operation in operations(database).items()}
    finally:
        dispose(database)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--postgres", default=os.environ.get("DESTEK_TEST_DATABASE_URL") or DEFAULT_SERVER)
    args = parser.parse_args()
    results: dict[str, dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        results["SQLite"] = measure(Path(folder) / "destek.sqlite3", args.n)
    schema = f"bench_{secrets.token_hex(4)}"
    admin = create_engine(args.postgres, future=True)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as error:
        print(f"PostgreSQL not reachable at {make_url(args.postgres).render_as_string(hide_password=True)}: {str(error.orig).strip()}")
    else:
        try:
            url = make_url(args.postgres).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
            results["PostgreSQL"] = measure(url, args.n)
        finally:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engines = list(results)
    print(f"| operation (n={args.n}, p50 / p95 ms) | " + " | ".join(engines) + " |")
    print("|---|" + "---|" * len(engines))
    for name in results["SQLite"]:
        print(f"| {name} | " + " | ".join(f"{results[each][name][0]:.2f} / {results[each][name][1]:.2f}" for each in engines) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
