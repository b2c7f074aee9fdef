"""Delete transcripts and stored customer text older than the retention period.

`python -m privacy.retention [--days N] [--dry-run]` (or `make retention`), with
DESTEK_RETENTION_DAYS (default 180) when --days is not given. It works on two databases:

- the support database (storage.database: DESTEK_DATABASE_URL, else the SQLite file DESTEK_DB): rows of
  customer text older than the cutoff (answers served,
  feedback, unanswered questions, handoff requests, review marks, the bot's remembered context,
  handled WhatsApp webhooks, held WhatsApp texts, agents' answers kept from handoffs); for handoffs closed before the cutoff, their
  messages and context card (the transcript) go, while the row itself (times, reason, status)
  stays for the dashboard's handoff and response-time figures;
- Rasa's tracker store (RASA_TRACKER_DB): every conversation session that ended before the
  cutoff. A session still going on at the cutoff is kept whole, so Rasa never loads a
  conversation without its start.

Each file is changed in one transaction: an error leaves it as it was. Run it daily (cron or a
systemd timer); it is idempotent.
"""

import argparse
import sqlite3
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from settings.model import Settings, get_settings
from storage.database import Connection, Database, engine, sqlite_path, transaction, url_of

DEFAULT_DAYS = 180
DEFAULT_TRACKER_DB = "var/rasa-tracker.sqlite3"

# (table, time column, extra condition): rows deleted when the time is before the cutoff.
SUPPORT_TABLES = (
    ("answers_served", "created_at", ""),
    ("answer_feedback", "created_at", ""),
    ("unanswered_questions", "created_at", ""),
    ("handoff_requests", "created_at", ""),
    ("review_actions", "created_at", ""),
    ("customer_context", "updated_at", ""),
    ("whatsapp_inbound", "received_at", " AND handled_at IS NOT NULL"),  # an unhandled one is still to be replayed
    ("whatsapp_pending", "created_at", ""),
    ("agent_answers", "closed_at", ""),  # questions and agents' answers kept from handoffs (learning/)
)
_ENDED_HANDOFFS = "SELECT id FROM handoffs WHERE status IN ('closed', 'cancelled') AND COALESCE(closed_at, created_at) < ?"
# Per sender: the start of the session their first event at or after the cutoff belongs to.
_KEPT_SESSION_START = (
    "SELECT MAX(s.id) FROM events s WHERE s.sender_id = events.sender_id "
    "AND s.type_name = 'action' AND s.action_name = 'action_session_start' "
    "AND s.id <= (SELECT MIN(r.id) FROM events r WHERE r.sender_id = events.sender_id AND r.timestamp >= ?)"
)


@dataclass(frozen=True)
class RetentionSettings:
    days: float
    support_db: Database
    tracker_db: Path

    @classmethod
    def configured(cls, settings: Settings, days: float | None = None) -> "RetentionSettings":
        """DESTEK_RETENTION_DAYS (checked by settings), or `days` (--days)."""
        if days is not None and not 1 <= days <= 36500:
            raise ValueError(f"--days must be between 1 and 36500 days, not {days:g}")
        kept = settings.tools.retention_days if days is None else days
        return cls(days=kept, support_db=settings.storage.url(), tracker_db=settings.storage.tracker_database)

    def cutoff(self, now: float | None = None) -> float:
        return (time.time() if now is None else now) - self.days * 86400


def _tables(connection: sqlite3.Connection) -> set[str]:
    return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _open(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    return connection


def _finish(connection: sqlite3.Connection, dry_run: bool) -> None:
    connection.execute("ROLLBACK" if dry_run else "COMMIT")


class _DryRun(Exception):
    """Raised inside the unit of work to roll it back after counting."""


def purge_support_db(path: Database, cutoff: float, dry_run: bool = False) -> dict[str, int]:
    """Rows deleted (or, for handoffs, transcripts cleared) per table; a missing file or table counts nothing."""
    file = sqlite_path(path)
    if file is not None and not file.exists():
        return {}
    counts: dict[str, int] = {}
    tables = set(inspect(engine(path)).get_table_names())
    try:
        with transaction(path, write=True) as connection:
            _purge_support_tables(connection, tables, cutoff, counts)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return counts


def _purge_support_tables(connection: Connection, tables: set[str], cutoff: float, counts: dict[str, int]) -> None:
    for table, column, condition in SUPPORT_TABLES:
        if table in tables:
            counts[table] = connection.execute(f"DELETE FROM {table} WHERE {column} < ?{condition}", (cutoff,)).rowcount
    if {"handoffs", "handoff_messages"} <= tables:
        counts["handoff_messages"] = connection.execute(
            f"DELETE FROM handoff_messages WHERE handoff_id IN ({_ENDED_HANDOFFS})", (cutoff,)
        ).rowcount
        counts["handoffs (transcript cleared)"] = connection.execute(
            f"UPDATE handoffs SET context_card = NULL, reason_detail = '' WHERE id IN ({_ENDED_HANDOFFS}) "
            "AND (context_card IS NOT NULL OR reason_detail != '')",
            (cutoff,),
        ).rowcount


def purge_tracker_store(path: Path, cutoff: float, dry_run: bool = False) -> dict[str, int]:
    """Events of sessions that ended before the cutoff: every event of a sender whose last event
    is older, and, for the others, every event before the session that reaches past the cutoff."""
    if not path.exists():
        return {}
    connection = _open(path)
    try:
        if "events" not in _tables(connection):
            _finish(connection, dry_run)
            return {}
        senders = connection.execute(
            "SELECT COUNT(*) FROM (SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < ?)", (cutoff,)
        ).fetchone()[0]
        whole = connection.execute(
            "DELETE FROM events WHERE sender_id IN (SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < ?)", (cutoff,)
        ).rowcount
        older_sessions = connection.execute(f"DELETE FROM events WHERE id < ({_KEPT_SESSION_START})", (cutoff,)).rowcount
        _finish(connection, dry_run)
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    finally:
        connection.close()
    return {"events": whole + older_sessions, "conversations (senders)": senders}


def apply(settings: RetentionSettings, now: float | None = None, dry_run: bool = False) -> dict[str, dict[str, int]]:
    cutoff = settings.cutoff(now)
    return {
        _shown(settings.support_db): purge_support_db(settings.support_db, cutoff, dry_run),
        str(settings.tracker_db): purge_tracker_store(settings.tracker_db, cutoff, dry_run),
    }


def _shown(database: Database) -> str:
    """A SQLite database as its path (as before), a server's URL without its password."""
    file = sqlite_path(database)
    return str(file) if file is not None else make_url(url_of(database)).render_as_string(hide_password=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m privacy.retention", description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, help=f"keep this many days (default: DESTEK_RETENTION_DAYS or {DEFAULT_DAYS})")
    parser.add_argument("--dry-run", action="store_true", help="count what would go, change nothing")
    args = parser.parse_args(argv)
    try:
        settings = RetentionSettings.configured(get_settings(), args.days)
        results = apply(settings, dry_run=args.dry_run)
    except (ValueError, sqlite3.Error, SQLAlchemyError) as error:
        print(f"retention: {error}", file=sys.stderr)
        return 1
    verb = "would delete" if args.dry_run else "deleted"
    lines: list[str] = [f"retention: {settings.days:g} days ({verb} what is older)"]
    for path, counts in results.items():
        shown = ", ".join(f"{name} {count}" for name, count in counts.items()) if counts else "no such file or nothing to do"
        lines.append(f"  {path}: {shown}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
