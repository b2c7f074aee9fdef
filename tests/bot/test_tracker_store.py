"""The tracker store writes no card number, IBAN, TCKN or code (an agent's reply included), and keeps
the full text in memory for the turn that sends it; checked under the Rasa interpreter by
tests/rasa_checks/tracker_redaction_check.py on a real SQLite file."""

import subprocess

from tests.helpers.servers import ROOT

RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"


def test_the_tracker_store_writes_texts_redacted() -> None:
    result = subprocess.run(
        [str(RASA_PYTHON), str(ROOT / "tests" / "rasa_checks" / "tracker_redaction_check.py")],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
