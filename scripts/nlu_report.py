"""Print the per-intent table of a `rasa test nlu` report (intent_report.json) for `make test-nlu`."""

import argparse
import json
import sys
from pathlib import Path

SUMMARY_ROWS = ("accuracy", "macro avg", "weighted avg", "micro avg")


def table(report: dict) -> str:
    lines = [f"{'intent':<22} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>7}  confused with"]
    intents = sorted(k for k in report if k not in SUMMARY_ROWS)
    for name in intents:
        row = report[name]
        confused = ", ".join(f"{other} ({n})" for other, n in sorted(row.get("confused_with", {}).items(), key=lambda kv: -kv[1]))
        lines.append(f"{name:<22} {row['precision']:>9.3f} {row['recall']:>7.3f} {row['f1-score']:>6.3f} {row['support']:>7}  {confused}")
    for name in ("macro avg", "weighted avg"):
        if name in report:
            row = report[name]
            lines.append(f"{name:<22} {row['precision']:>9.3f} {row['recall']:>7.3f} {row['f1-score']:>6.3f} {row['support']:>7}")
    if "accuracy" in report:
        lines.append(f"{'accuracy':<22} {report['accuracy']:>31.3f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("report_dir", type=Path, help="the --out folder of `rasa test nlu`")
    args = parser.parse_args()
    path = args.report_dir / "intent_report.json"
    if not path.is_file():
        sys.exit(f"error: {path} not found (did `rasa test nlu` run with --out {args.report_dir}?)")
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        sys.exit(f"error: {path} line {error.lineno}: not valid JSON ({error.msg})")
    print(table(report))
    image = args.report_dir / "intent_confusion_matrix.png"
    print(f"\nfull report: {path}" + (f"; confusion matrix: {image}" if image.is_file() else ""))


if __name__ == "__main__":
    main()
