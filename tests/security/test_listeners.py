"""Each Python service started as `make run` starts it, without --host: it listens on 127.0.0.1,
and on every interface only when DESTEK_EXPOSE names it. Real processes, sockets read from /proc;
no Rasa model needed (Rasa's own listeners: tests/scripts/test_rasa_cli.py)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.helpers.servers import free_port
from tests.helpers.sockets import listeners

STARTUP_SECONDS = 180


def listening(service: list[str], port: int, env: dict[str, str], log: Path) -> set[str]:
    """The addresses the process listens on once `port` is open."""
    process = subprocess.Popen(
        [sys.executable, "-m", *service, "--port", str(port)], cwd=ROOT, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline and process.poll() is None:
            found = [host for host, p, _ in listeners(process.pid) if p == port]
            if found:
                return set(found)
            time.sleep(0.3)
        raise AssertionError(f"{service[0]} did not listen on {port}:\n{log.read_text(errors='replace')[-3000:]}")
    finally:
        process.terminate()
        process.wait(timeout=30)


SERVICES = {
    "support": ["support_app"],
    "fake_twilio": ["fake_twilio"],
    "actions": ["bot.action_server"],
}


@pytest.mark.parametrize("name", sorted(SERVICES))
@pytest.mark.parametrize(("expose", "expected"), [("", "127.0.0.1"), ("rasa", "127.0.0.1"), ("own", "0.0.0.0")])
def test_each_service_listens_on_loopback_unless_exposed(name: str, expose: str, expected: str, tmp_path: Path, tiny_index: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DESTEK_EXPOSE": name if expose == "own" else expose,
        "DESTEK_DB": str(tmp_path / "destek.sqlite3"),
        "RASA_TRACKER_DB": str(tmp_path / "tracker.sqlite3"),
        "DESTEK_KB_INDEX": str(tiny_index),
    }
    assert listening(SERVICES[name], free_port(), env, tmp_path / f"{name}.log") == {expected}
