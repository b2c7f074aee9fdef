"""LinearIntentClassifier under the Rasa interpreter (the checks live in tests/rasa_checks/)."""

import subprocess

from tests.servers import ROOT

RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"


def test_tfidf_weighting_persistence_and_config_errors() -> None:
    check = ROOT / "tests" / "rasa_checks" / "linear_intent_classifier_check.py"
    result = subprocess.run([str(RASA_PYTHON), str(check)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
