"""`rasa shell` as `make rasa-shell` runs it (scripts/with-actions.sh starts the action server first),
driven through a pseudo-terminal with scripted input: it starts, and answers from the KB."""

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from pathlib import Path

from tests.conftest import ROOT
from tests.helpers.databases import environment_url, query, support_database
from tests.helpers.servers import MODEL, free_port

RASA_CLI = [str(ROOT / ".venv-rasa" / "bin" / "python"), "-m", "scripts.rasa_cli"]  # as `make rasa-shell` runs it
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # rasa's tables need a width
        self.process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, env=env, start_new_session=True)
        os.close(slave)
        self.output = b""

    def expect(self, pattern: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = ANSI.sub(b"", self.output).decode("utf-8", "replace")
            if re.search(pattern, text):
                return text
            ready, _, _ = select.select([self.master], [], [], 1)
            if ready:
                try:
                    self.output += os.read(self.master, 65536)
                except OSError:  # the process closed the terminal
                    break
        raise AssertionError(
            f"{pattern!r} not seen in {timeout}s; output:\n{ANSI.sub(b'', self.output).decode('utf-8', 'replace')[-3000:]}"
        )

    def type(self, text: str) -> None:
        os.write(self.master, text.encode() + b"\r")

    def close(self) -> int:
        try:
            return self.process.wait(timeout=60)
        finally:
            os.close(self.master)


def test_rasa_shell_answers_from_the_kb_with_the_action_server(tmp_path: Path) -> None:
    action_port = free_port()
    database = support_database(tmp_path)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ACTION_PORT": str(action_port),
        "RASA_TRACKER_DB": str(tmp_path / "tracker.sqlite3"),
        **environment_url(database),
        "DESTEK_KB_INDEX": str(ROOT / "var" / "kb-index"),
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "TERM": "xterm",
        "COLUMNS": "120",
        "LINES": "40",
    }
    env.pop("ACTION_SERVER_URL", None)
    terminal = Terminal(
        [
            str(ROOT / "scripts" / "with-actions.sh"),
            *RASA_CLI,
            "shell",
            "--model",
            str(MODEL),
            "--endpoints",
            "endpoints.yml",
            "-p",
            str(free_port()),
        ],
        env,
    )
    try:
        terminal.expect(f"action server started on port {action_port}", 180)
        terminal.expect(r"Bot loaded\. Type a message", 420)
        terminal.type("how much is shipping")
        text = terminal.expect(r"Did this answer help\?", 120)
        assert re.search(r"Source: .+ – https://help\.pusula\.example/en/shipping-fees-times", text)  # the KB action answered
        terminal.expect(r"👍", 30)  # the buttons of the feedback question: a selection prompt
        terminal.type("")  # choose the first button (👍)
        terminal.expect(r"(Thanks|Glad)", 120)
        terminal.type("/stop")
        assert terminal.close() == 0
    finally:
        if terminal.process.poll() is None:
            os.killpg(terminal.process.pid, 15)
            terminal.process.wait(timeout=30)
    assert query(database, "SELECT article_id, helpful FROM answer_feedback") == [("shipping-fees-times-en", 1)]
