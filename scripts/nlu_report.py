"""Print the per-intent table of a `rasa test nlu` report (intent_report.json) for `make test-nlu`.

With the predictions saved (`--successes`; errors are saved by default) it also prints the
fallback threshold curve and the threshold tuning/fallback_threshold.py would choose.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tuning.fallback_threshold import IN_SCOPE_BUDGET, THRESHOLD_STEPS, accuracy_at, highest_threshold_within_budget

SUMMARY_ROWS = ("accuracy", "macro avg", "weighted avg", "micro avg")
OUT_OF_SCOPE = "out_of_scope"


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


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        sys.exit(f"error: {path} line {error.lineno}: not valid JSON ({error.msg})")


def predictions(report_dir: Path) -> list[tuple[str, str, float]]:
    """(gold intent, predicted intent, confidence) of every cross-validation test example saved."""
    rows = []
    for name in ("intent_successes.json", "intent_errors.json"):
        path = report_dir / name
        for item in read_json(path) if path.is_file() else []:
            prediction = item.get("intent_prediction") or {}
            rows.append((str(item.get("intent")), str(prediction.get("name")), float(prediction.get("confidence") or 0.0)))
    return rows


def threshold_curve(rows: list[tuple[str, str, float]]) -> str:
    """In-scope accuracy and out_of_scope recall per fallback threshold, and the threshold chosen."""
    in_scope = [(predicted == gold, confidence) for gold, predicted, confidence in rows if gold != OUT_OF_SCOPE]
    unknown = [(predicted, confidence) for gold, predicted, confidence in rows if gold == OUT_OF_SCOPE]
    accuracy = accuracy_at(in_scope)
    chosen = highest_threshold_within_budget(accuracy)
    lines = [
        f"fallback threshold curve ({len(in_scope)} in-scope, {len(unknown)} {OUT_OF_SCOPE} examples)",
        "threshold  in-scope accuracy  out_of_scope recall",
    ]
    for threshold in THRESHOLD_STEPS:
        caught = sum(p == OUT_OF_SCOPE or c < threshold for p, c in unknown) / max(1, len(unknown))
        mark = f"  <- chosen (at most {100 * IN_SCOPE_BUDGET:g} point of in-scope accuracy given up)" if threshold == chosen else ""
        lines.append(f"{threshold:>9.2f}  {accuracy(threshold):>17.3f}  {caught:>19.3f}{mark}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("report_dir", type=Path, help="the --out folder of `rasa test nlu`")
    args = parser.parse_args()
    path = args.report_dir / "intent_report.json"
    if not path.is_file():
        sys.exit(f"error: {path} not found (did `rasa test nlu` run with --out {args.report_dir}?)")
    report = read_json(path)
    print(table(report))
    rows = predictions(args.report_dir)
    if rows:
        print("\n" + threshold_curve(rows))
    image = args.report_dir / "intent_confusion_matrix.png"
    print(f"\nfull report: {path}" + (f"; confusion matrix: {image}" if image.is_file() else ""))


if __name__ == "__main__":
    main()
