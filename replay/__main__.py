"""`python -m replay run|export|golden` (make replay). Exit 0: no golden conversation changed its
answer; 1: at least one did (each named); 2: bad input (one line)."""

import argparse
import getpass
import sys
from collections.abc import Sequence
from pathlib import Path

from analytics.tracker import TrackerStore, tracker_store
from handoff.settings import load_or_default
from kb_index.errors import KbError
from replay.engine import KbDecision, parse_texts, replay_conversation
from replay.golden import GoldenStore
from replay.recorded import RecordedConversation, ReplayError, from_jsonl, from_tracker, write_jsonl
from replay.report import Report, Side, build_report
from settings.model import get_settings
from storage.database import Database, exists

DEFAULT_MODEL = "bot/models/destek.tar.gz"


def _database(args: argparse.Namespace) -> Database:
    """--db (a SQLite path or a URL), else the settings' support database (DESTEK_DATABASE_URL, else DESTEK_DB)."""
    return str(args.db) if args.db else get_settings().storage.database()


def _golden_ids(database: Database) -> set[str]:
    return GoldenStore(database).ids() if exists(database) else set()


def load_recorded(args: argparse.Namespace) -> list[RecordedConversation]:
    golden = _golden_ids(_database(args))
    if args.input:
        return from_jsonl(Path(args.input), golden)
    if not args.days > 0:
        raise ReplayError(f"--days: {args.days} is not a positive number of days")
    return from_tracker(_tracker(args.tracker) if args.tracker else tracker_store(), args.days, golden)


def _tracker(value: str) -> TrackerStore:
    """--tracker: a SQLAlchemy URL (postgresql+psycopg://…) or a SQLite file."""
    return value if "://" in value else Path(value)


def run(args: argparse.Namespace) -> int:
    conversations = load_recorded(args)
    index = Path(args.index or get_settings().storage.kb_index)
    threshold = args.threshold if args.threshold is not None else get_settings().kb.threshold
    kb = KbDecision(index, threshold, _database(args))
    texts = [turn.text for c in conversations for turn in c.turns if not turn.external]
    settings = load_or_default()

    def replayed(model: Path) -> list[list[Side | None]]:
        parses = parse_texts(model, texts)
        return [
            [Side(t.intent, t.outcome, t.article_id) if t else None for t in replay_conversation(c, parses, kb, settings)]
            for c in conversations
        ]

    if args.against:
        before = replayed(Path(args.against))
        label = f"model {args.against}"
    else:
        before = [[None if t.external else Side(t.intent, t.outcome, t.article_id) for t in c.turns] for c in conversations]
        label = "what the customers got"
    report = build_report(conversations, before, replayed(Path(args.model)))
    return _print(report, label, Path(args.csv))


def _print(report: Report, label: str, csv_path: Path) -> int:
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    csv_path.write_text(report.changes_csv(), encoding="utf-8")
    print(f"Replay of {len(report.conversations)} conversations against {label}: {len(report.changes)} changed turns (details: {csv_path})")
    print(report.table())
    broken = report.golden_changed
    for change in broken:
        print(
            f"GOLDEN CHANGED {change.conversation.id} turn {change.turn} {change.text!r}: {change.before.answer} -> {change.after.answer}",
            file=sys.stderr,
        )
    return 1 if broken else 0


def export(args: argparse.Namespace) -> int:
    count = write_jsonl(load_recorded(args), Path(args.out))
    print(f"wrote {count} conversations to {args.out}")
    return 0


def golden(args: argparse.Namespace) -> int:
    store = GoldenStore(_database(args))
    if args.remove:
        changed = store.unmark(args.conversation)
    else:
        changed = store.mark(args.conversation, args.staff)
    print(f"{args.conversation}: {'golden' if not args.remove else 'not golden'}{'' if changed else ' (unchanged)'}")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m replay", description="Replay recorded conversations through the current model and KB index."
    )
    commands = top.add_subparsers(dest="command", required=True)
    for name, help_text in (("run", "replay and report what changed"), ("export", "write the recorded conversations as JSONL")):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--days", type=float, default=30.0, help="the tracker store's last N days (default 30)")
        command.add_argument("--input", help="a JSONL file of conversations instead of the tracker store")
        command.add_argument(
            "--tracker",
            help="the tracker store: a SQLite file or a postgresql+psycopg:// URL (default: Rasa's, RASA_TRACKER_DB, or with "
            "DESTEK_PROFILE=cluster endpoints.cluster.yml's tracker_store and its RASA_TRACKER_PG_* variables)",
        )
        command.add_argument(
            "--db",
            help="the support database with golden marks and 👍/👎 memory: a SQLite path or a URL (default: DESTEK_DATABASE_URL, else DESTEK_DB)",
        )
    run_command = commands.choices["run"]
    run_command.add_argument("--model", default=DEFAULT_MODEL, help=f"the model to test (default {DEFAULT_MODEL})")
    run_command.add_argument("--against", help="compare with this model instead of what the customers got")
    run_command.add_argument("--index", help="the KB index (default DESTEK_KB_INDEX)")
    run_command.add_argument("--threshold", type=float, help="the KB answer threshold (default DESTEK_KB_THRESHOLD or the index's)")
    run_command.add_argument("--csv", default="var/replay/changes.csv", help="where the per-turn changes go")
    commands.choices["export"].add_argument("--out", required=True, help="the JSONL file to write")
    golden_command = commands.add_parser("golden", help="mark a conversation (SENDER#SESSION or SENDER) golden")
    golden_command.add_argument("conversation")
    golden_command.add_argument("--remove", action="store_true")
    golden_command.add_argument("--staff", default=getpass.getuser() or "cli")
    golden_command.add_argument("--db")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return {"run": run, "export": export, "golden": golden}[args.command](args)
    except (ReplayError, KbError, ValueError, OSError) as error:
        print(f"replay: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
