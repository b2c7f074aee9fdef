"""`python -m tuning lint-kb|gaps`: the support lead's command-line tools (see docs/staff-tools.md)."""

import argparse
import sys
from pathlib import Path
from typing import Optional

from kb_index.errors import KbError


def main(argv: Optional[list[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except KbError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _lint_kb(args: argparse.Namespace) -> int:
    from tuning.kb_lint import lint

    findings = lint(Path(args.source))
    for finding in findings:
        print(finding)
    errors = sum(finding.level == "error" for finding in findings)
    print(f"kb lint: {errors} error(s) in {args.source}", file=sys.stderr)
    return 1 if errors else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tuning", description="Destek tuning tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    lint = commands.add_parser("lint-kb", help="duplicate questions, missing counterparts, broken links")
    lint.add_argument("--source", default="bot/data/kb", help="KB folder (default: bot/data/kb)")
    lint.set_defaults(run=_lint_kb)
    return parser


if __name__ == "__main__":
    sys.exit(main())
