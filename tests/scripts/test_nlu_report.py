"""`scripts/nlu_report.py` (the table printed by `make test-nlu`): a report's rows, and bad input."""

import json
import subprocess
from pathlib import Path

from tests.conftest import PYTHON, ROOT

REPORT = {
    "greet": {"precision": 1.0, "recall": 0.9, "f1-score": 0.947, "support": 10, "confused_with": {"thank": 1}},
    "thank": {"precision": 0.917, "recall": 1.0, "f1-score": 0.957, "support": 11, "confused_with": {}},
    "accuracy": 0.952,
    "macro avg": {"precision": 0.958, "recall": 0.95, "f1-score": 0.952, "support": 21},
    "weighted avg": {"precision": 0.956, "recall": 0.952, "f1-score": 0.952, "support": 21},
}


def report_cli(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, str(ROOT / "scripts" / "nlu_report.py"), str(folder)], capture_output=True, text=True, timeout=60)


def test_prints_one_row_per_intent_with_its_confusions(tmp_path: Path) -> None:
    (tmp_path / "intent_report.json").write_text(json.dumps(REPORT), encoding="utf-8")
    result = report_cli(tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines() if line.strip()}
    assert rows["greet"][1:5] == ["1.000", "0.900", "0.947", "10"]
    assert "thank (1)" in " ".join(rows["greet"])
    assert rows["thank"][1:5] == ["0.917", "1.000", "0.957", "11"]
    assert "macro avg" in result.stdout and "0.952" in result.stdout


def test_missing_report_is_a_one_line_error(tmp_path: Path) -> None:
    result = report_cli(tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'intent_report.json'} not found (did `rasa test nlu` run with --out {tmp_path}?)"
    ]


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "intent_report.json").write_text('{\n  "greet": oops\n}', encoding="utf-8")
    result = report_cli(tmp_path)
    assert result.returncode == 1
    assert "line 2" in result.stderr and "Traceback" not in result.stderr


def prediction(gold: str, predicted: str, confidence: float) -> dict:
    return {"text": "x", "intent": gold, "intent_prediction": {"name": predicted, "confidence": confidence}}


def test_threshold_curve_from_saved_predictions(tmp_path: Path) -> None:
    (tmp_path / "intent_report.json").write_text(json.dumps(REPORT), encoding="utf-8")
    successes = [prediction("greet", "greet", 0.9)] * 8 + [
        prediction("thank", "thank", 0.42),
        prediction("out_of_scope", "out_of_scope", 0.8),
    ]
    errors = [prediction("greet", "thank", 0.3), prediction("out_of_scope", "greet", 0.35)]
    (tmp_path / "intent_successes.json").write_text(json.dumps(successes), encoding="utf-8")
    (tmp_path / "intent_errors.json").write_text(json.dumps(errors), encoding="utf-8")
    result = report_cli(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "(10 in-scope, 2 out_of_scope examples)" in result.stdout
    curve = {line.split()[0]: line.split() for line in result.stdout.splitlines() if line[:9].strip().replace(".", "").isdigit()}
    # 9 of 10 in-scope right; at 0.45 the 0.42 answer is lost, so 0.40 is the highest free threshold.
    assert curve["0.00"][1:3] == ["0.900", "0.500"]
    assert curve["0.35"][1:3] == ["0.900", "0.500"]
    assert curve["0.40"][1:4] == ["0.900", "1.000", "<-"]
    assert curve["0.45"][1:3] == ["0.800", "1.000"]
    chosen = [line.split()[0] for line in result.stdout.splitlines() if "<- chosen" in line]
    assert chosen == ["0.40"]
