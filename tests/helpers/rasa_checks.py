"""Run a check script of tests/rasa_checks/ under the Rasa interpreter (.venv-rasa), as the checks need Rasa."""

import subprocess

from tests.helpers.servers import ROOT

RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"


def run_rasa_check(script: str, timeout: float = 600) -> str:
    """The script's standard output; fails the test unless it exits 0 and prints "ok" last. Runs from the
    repository with a minimal environment (no settings of the session leak in)."""
    result = subprocess.run(
        [str(RASA_PYTHON), str(ROOT / "tests" / "rasa_checks" / script)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
    return result.stdout
