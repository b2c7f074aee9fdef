"""`python -m tuning lint-kb|gaps|eval-demotion`: the support lead's command-line tools (see docs/staff-tools.md)."""

import argparse
import sys
from pathlib import Path

from kb_index.errors import KbError
from settings.model import get_settings
from storage.database import sqlite_path


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except KbError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _lint_kb(args: argparse.Namespace) -> int:
    from tuning.kb_lint import lint

    source = Path(args.source or get_settings().storage.kb_source)
    findings = lint(source)
    for finding in findings:
        print(finding)
    errors = sum(finding.level == "error" for finding in findings)
    print(f"kb lint: {errors} error(s) in {source}", file=sys.stderr)
    return 1 if errors else 0


def _gaps(args: argparse.Namespace) -> int:
    from tuning.gaps import article_titles, article_usage, collect_questions, default_encoder, group_questions, groups_csv, usage_csv

    database = args.db or get_settings().storage.database()
    file = sqlite_path(database)
    if file is not None and not file.is_file():
        raise KbError(f"{database}: no such database (set DESTEK_DB or --db)")
    groups = group_questions(collect_questions(database), default_encoder(), distance=args.distance)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(groups_csv(groups), encoding="utf-8")
    print(f"{len(groups)} group(s) of {sum(g.size for g in groups)} unanswered question(s) written to {args.out}")
    if args.articles_out:
        uses = article_usage(database, article_titles(Path(args.kb or get_settings().storage.kb_source)))
        Path(args.articles_out).write_text(usage_csv(uses), encoding="utf-8")
        flagged = sum(use.flagged_for_rewrite for use in uses)
        print(f"{len(uses)} article(s), {flagged} flagged for rewrite, written to {args.articles_out}")
    return 0


def _eval_demotion(args: argparse.Namespace) -> int:
    import json

    from feedback.ranking import DemotionSettings
    from kb_index.evaluate import load_queries
    from kb_index.search import KnowledgeBase
    from tuning.demotion_eval import evaluate_demotion, format_table

    kb = KnowledgeBase.open(Path(args.index or get_settings().storage.kb_index))
    report = evaluate_demotion(kb, load_queries(Path(args.queries)), DemotionSettings.of(get_settings().kb))
    print(json.dumps(report) if args.json else format_table(report))
    return 0


def _parser() -> argparse.ArgumentParser:
    from tuning.gaps import DEFAULT_DISTANCE

    parser = argparse.ArgumentParser(prog="python -m tuning", description="Destek tuning tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    lint = commands.add_parser("lint-kb", help="duplicate questions, missing counterparts, broken links")
    lint.add_argument("--source", default=None, help="KB folder (default: DESTEK_KB_SOURCE, else bot/data/kb)")
    lint.set_defaults(run=_lint_kb)
    gaps = commands.add_parser("gaps", help="KB gap report: unanswered questions grouped by meaning, as CSV")
    gaps.add_argument("--out", required=True, help="CSV file of the groups")
    gaps.add_argument("--articles-out", help="also write article usage (served, 👍/👎, handoffs after, flagged) to this CSV")
    gaps.add_argument("--db", default=None, help="support database: a SQLite path or a URL (default: DESTEK_DATABASE_URL, else DESTEK_DB)")
    gaps.add_argument("--kb", default=None, help="KB folder (article titles; default: DESTEK_KB_SOURCE)")
    gaps.add_argument(
        "--distance", type=float, default=DEFAULT_DISTANCE, help=f"cosine distance threshold of a group (default {DEFAULT_DISTANCE})"
    )
    gaps.set_defaults(run=_gaps)
    demotion = commands.add_parser("eval-demotion", help="before/after figure of feedback demotion on labelled queries")
    demotion.add_argument("--index", default=None, help="default: DESTEK_KB_INDEX, else var/kb-index")
    demotion.add_argument("--queries", default="bot/data/kb_eval/queries.jsonl")
    demotion.add_argument("--json", action="store_true")
    demotion.set_defaults(run=_eval_demotion)
    return parser


if __name__ == "__main__":
    sys.exit(main())
