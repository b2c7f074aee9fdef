"""`python -m analytics.backfill`: rebuild the analytics aggregates from every event in Rasa's tracker store.

Run it once when turning the consumer on (and after changing ANALYTICS_TIMEZONE). Events the broker
still holds that the tracker store already had are then skipped by the consumer (analytics.fold).
"""

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from analytics.aggregate_schema import engine_for
from analytics.aggregate_store import Event, rebuild
from analytics.fold import EVENT_TYPES
from analytics.settings import analytics_timezone
from analytics.tracker import tracker_store
from settings.model import get_settings


def tracker_events(engine: Engine) -> Iterator[Event]:
    """Every event Rasa's SQLTrackerStore (table `events`) holds, each sender's in insertion order."""
    query = text(
        "SELECT sender_id, type_name, timestamp, data FROM events "
        f"WHERE type_name IN ({', '.join(repr(t) for t in EVENT_TYPES)}) ORDER BY sender_id, id"
    )
    with engine.connect() as connection:
        for sender, type_name, timestamp, data in connection.execution_options(yield_per=5000).execute(query):
            try:
                event: dict[str, Any] = json.loads(data or "{}")
            except json.JSONDecodeError:
                continue
            event["event"] = type_name
            event["timestamp"] = float(timestamp or event.get("timestamp") or 0.0)
            yield str(sender), event


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analytics.backfill", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tracker-url",
        help="SQLAlchemy URL of Rasa's tracker store (default: Rasa's own: sqlite:///$RASA_TRACKER_DB, or with "
        "DESTEK_PROFILE=cluster the PostgreSQL store of endpoints.cluster.yml)",
    )
    parser.add_argument("--database-url", help="support database (default: DESTEK_DATABASE_URL, else sqlite:///$DESTEK_DB)")
    args = parser.parse_args(argv)
    try:
        settings = get_settings()  # every setting, read and checked once, at start
        store = args.tracker_url or tracker_store()
        timezone = analytics_timezone()
    except ValueError as error:
        print(f"analytics backfill: {error}", file=sys.stderr)
        return 2
    if isinstance(store, Path) and not store.exists():
        print(f"analytics backfill: no tracker store at {store} (RASA_TRACKER_DB)", file=sys.stderr)
        return 2
    tracker_url = f"sqlite:///{store}" if isinstance(store, Path) else store
    started = time.perf_counter()
    target = engine_for(args.database_url or settings.storage.url())
    try:
        n_senders, n_conversations = rebuild(target, tracker_events(engine_for(tracker_url)), timezone)
    except ValueError as error:  # aggregate tables older than this code
        print(f"analytics backfill: {error}", file=sys.stderr)
        return 2
    print(f"analytics backfill: {n_conversations} conversations of {n_senders} senders in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
