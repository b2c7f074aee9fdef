"""Custom Rasa components under the Rasa interpreter (.venv-rasa); the checks live in tests/rasa_checks/.

- linear_intent_classifier_check: TF-IDF weighting equals scikit-learn's, ranking length,
  save/load round trip, config errors.
- fine_tuned_intent_classifier_check: a real fine-tune on a few dozen examples (torch in .venv),
  English-only labels, the exact probability average, Turkish messages and payloads untouched,
  save/load round trip, errors naming the setting.
"""

import subprocess

import pytest

from tests.helpers.servers import ROOT

RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"


@pytest.mark.parametrize("check", ["linear_intent_classifier_check.py", "fine_tuned_intent_classifier_check.py"])
def test_component_check_passes(check: str) -> None:
    script = ROOT / "tests" / "rasa_checks" / check
    result = subprocess.run([str(RASA_PYTHON), str(script)], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
