"""Start the real Rasa server and action server as processes on loopback, for integration tests."""

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional

from tests.conftest import ROOT

RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
MODEL = ROOT / "bot" / "models" / "destek.tar.gz"
AUTH_TOKEN = "integration-test-token"
TWILIO_AUTH_TOKEN = "integration-test-twilio-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http(method: str, url: str, body: Optional[Any] = None, timeout: float = 30) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, None


def start_fake_twilio(state: Path, port: int, env: dict[str, str], destek_url: str, status_delay: float) -> subprocess.Popen[bytes]:
    """The local fake of Twilio's API (fake_twilio) on `port`, calling Destek at `destek_url`; its log in `state`."""
    log = open(state / "fake_twilio.log", "ab")
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "fake_twilio", "--port", str(port),
         "--destek-url", destek_url, "--status-delay", str(status_delay)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    wait_until(f"http://127.0.0.1:{port}/_fake/messages", 30, process)
    return process


def wait_until(url: str, timeout: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {process.returncode}")
        try:
            if http("GET", url, timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not come up in {timeout}s")


class Servers:
    """A Rasa server and an action server sharing one temporary state folder."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.rasa_port = free_port()
        self.action_port = free_port()
        self.fake_port = free_port()
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "ACTION_SERVER_URL": f"http://127.0.0.1:{self.action_port}/webhook",
            "RASA_TRACKER_DB": str(state / "tracker.sqlite3"),
            "DESTEK_DB": str(state / "destek.sqlite3"),
            "DESTEK_KB_INDEX": str(ROOT / "var" / "kb-index"),
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "HF_HUB_OFFLINE": "1",
            "PUBLIC_URL": f"http://127.0.0.1:{self.rasa_port}",
            "TWILIO_ACCOUNT_SID": "",
            "TWILIO_API_BASE": f"http://127.0.0.1:{self.fake_port}",
            "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
            # Handoff: the support app and the action server call this Rasa server's HTTP API;
            # agents are always available unless a test points HANDOFF_SETTINGS elsewhere.
            "RASA_URL": f"http://127.0.0.1:{self.rasa_port}",
            "RASA_AUTH_TOKEN": AUTH_TOKEN,
            "HANDOFF_SETTINGS": str(ROOT / "tests" / "data" / "handoff_always_open.yml"),
        }
        self.rasa: Optional[subprocess.Popen[bytes]] = None
        self.actions: Optional[subprocess.Popen[bytes]] = None
        self.fake: Optional[subprocess.Popen[bytes]] = None

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def start_actions(self) -> None:
        log = open(self.state / "actions.log", "ab")
        self.actions = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "python"), "-m", "bot.action_server", "--port", str(self.action_port), "--host", "127.0.0.1"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        wait_until(f"http://127.0.0.1:{self.action_port}/health", 120, self.actions)

    def start_rasa(self) -> None:
        log = open(self.state / "rasa.log", "ab")
        self.rasa = subprocess.Popen(
            [
                str(RASA), "run", "--model", str(MODEL), "--endpoints", "endpoints.yml", "--credentials", "credentials.yml",
                "--port", str(self.rasa_port), "--interface", "127.0.0.1", "--enable-api", "--auth-token", AUTH_TOKEN,
            ],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        wait_until(f"{self.rasa_url}/status?token={AUTH_TOKEN}", 300, self.rasa)

    @property
    def fake_url(self) -> str:
        return f"http://127.0.0.1:{self.fake_port}"

    def start_fake(self, status_delay: float = 0.05) -> None:
        """The local fake of Twilio's API (fake_twilio), pointed at this Rasa server."""
        self.fake = start_fake_twilio(self.state, self.fake_port, self.env, self.rasa_url, status_delay)

    def stop_fake(self) -> None:
        self._stop(self.fake)

    @staticmethod
    def _stop(process: Optional[subprocess.Popen[bytes]]) -> None:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def stop_actions(self) -> None:
        self._stop(self.actions)

    def stop_rasa(self) -> None:
        self._stop(self.rasa)

    webchat_secret = "integration-test-webchat-secret-0123456789"
    support: Optional[subprocess.Popen[bytes]] = None

    def start_support_app(self) -> None:
        """The support app (demo shop, web chat tokens). Start it before Rasa: the web chat channel
        reads the shared token secret and the shop's origin from the environment set here."""
        self.support_port = free_port()
        self.env.update({
            "WEBCHAT_JWT_SECRET": self.webchat_secret,
            "WEBCHAT_ALLOWED_ORIGINS": self.support_url,
            "WEBCHAT_SERVER_URL": self.rasa_url,
            "SUPPORT_SESSION_SECRET": "integration-test-session-secret",
        })
        log = open(self.state / "support_app.log", "ab")
        self.support = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "python"), "-m", "support_app", "--port", str(self.support_port), "--host", "127.0.0.1"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        wait_until(f"{self.support_url}/healthz", 60, self.support)

    @property
    def support_url(self) -> str:
        return f"http://127.0.0.1:{self.support_port}"

    def stop_support_app(self) -> None:
        self._stop(self.support)

    def say(self, sender: str, text: str, metadata: Optional[dict[str, Any]] = None) -> list[dict[str, Any]]:
        status, replies = http("POST", f"{self.rasa_url}/webhooks/rest/webhook", {"sender": sender, "message": text, "metadata": metadata or {}})
        assert status == 200, status
        return list(replies)

    def tracker(self, sender: str) -> dict[str, Any]:
        status, tracker = http("GET", f"{self.rasa_url}/conversations/{sender}/tracker?token={AUTH_TOKEN}")
        assert status == 200, status
        return dict(tracker)


@contextmanager
def running_servers(state: Path, *, fake_twilio: bool = False, support_app: bool = False,
                    env: Optional[dict[str, str]] = None) -> Iterator[Servers]:
    """Start what a test module needs, in the order the settings flow (the fake and the
    support app before Rasa, whose channels read their URLs and secrets), and stop it all.
    `env` adds settings every process sees (e.g. a staff password, a settings file)."""
    servers = Servers(state)
    servers.env.update(env or {})
    try:
        if fake_twilio:
            servers.start_fake()
        if support_app:
            servers.start_support_app()
        servers.start_actions()
        servers.start_rasa()
        yield servers
    finally:
        servers.stop_rasa()
        servers.stop_actions()
        servers.stop_support_app()
        servers.stop_fake()
