"""Start the real Rasa server and action server as processes on loopback, for integration tests.

`Servers.say(sender, text)` sends a customer message through the channel that owns the sender's
namespace, as a real customer would: `web:<sub>` over the web chat socket with a token signed
for <sub>, `whatsapp:+…` as a signed Twilio webhook (start the fake Twilio), anything else over
REST, whose conversation is `rest:<sender>` (`Servers.conversation(sender)`).
"""

import asyncio
import json
import os
import random
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import socketio
from twilio.request_validator import RequestValidator

from connectors.webchat_token import issue_token
from storage.database import Database
from tests.conftest import ROOT
from tests.helpers.databases import environment_url, support_database

RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
# Rasa as every shipped command starts it (scripts/rasa_cli.py: the API token from RASA_AUTH_TOKEN, never in ps).
RASA_RUN = [str(ROOT / ".venv-rasa" / "bin" / "python"), "-m", "scripts.rasa_cli", "run"]
MODEL = ROOT / "bot" / "models" / "destek.tar.gz"
AUTH_TOKEN = "integration-test-token"
TWILIO_AUTH_TOKEN = "integration-test-twilio-token"
TURN_TIMEOUT = 60
# For benchmarks that send hundreds of messages per conversation: the inbound rate limits off.
UNLIMITED_RATE = {"INBOUND_MESSAGES_PER_MINUTE": "1000000", "INBOUND_MESSAGES_BURST": "1000000", "REST_MESSAGES_PER_MINUTE": "1000000"}


def conversation(sender: str) -> str:
    """The Rasa sender id a test's `sender` ends up as: web and WhatsApp ids as they are, any
    other id in the REST channel's own namespace (connectors/rest.py)."""
    return sender if sender.startswith(("web:", "whatsapp:", "rest:")) else "rest:" + sender


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_port_pair() -> int:
    """A port p with p and p + 1 both free, below Linux's ephemeral range (32768-60999): an ephemeral
    p + 1 can be taken meanwhile by any outbound connection's local end (a database pool's, say)."""
    candidates = random.Random().sample(range(20000, 32000, 2), 200)
    for port in candidates:
        with socket.socket() as first, socket.socket() as second:
            try:
                first.bind(("127.0.0.1", port))
                second.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two consecutive free ports between 20000 and 32000")


def http(method: str, url: str, body: Any | None = None, timeout: float = 30) -> tuple[int, Any]:
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
        [
            str(ROOT / ".venv" / "bin" / "python"),
            "-m",
            "fake_twilio",
            "--port",
            str(port),
            "--destek-url",
            destek_url,
            "--status-delay",
            str(status_delay),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
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
    """A Rasa server and an action server sharing one temporary state folder and one support database
    (`database`: the SQLite file in that folder, or a PostgreSQL schema under DESTEK_TEST_DATABASE=postgres;
    Rasa's tracker store stays the SQLite file of endpoints.yml, see docs/database.md)."""

    def __init__(self, state: Path, endpoints: Path | None = None) -> None:
        self.state = state
        self.endpoints = endpoints or ROOT / "endpoints.yml"  # another file: e.g. with an event broker
        self.database: Database = support_database(state)
        self.rasa_port = free_port()
        self.action_port = free_port()
        self.fake_port = free_port()
        self.support_port = free_port()
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "ACTION_SERVER_URL": f"http://127.0.0.1:{self.action_port}/webhook",
            "RASA_TRACKER_DB": str(state / "tracker.sqlite3"),
            **environment_url(self.database),
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
            # The web chat channel needs its secret and the shop's origin even without the support app.
            "WEBCHAT_JWT_SECRET": self.webchat_secret,
            "WEBCHAT_ALLOWED_ORIGINS": self.support_url,
            "SUPPORT_SESSION_SECRET": "integration-test-session-secret",
            # The demo customers and staff, as `make run` has them (env={"DESTEK_DEMO_DATA": "0"}: none).
            "DESTEK_DEMO_DATA": "1",
            "DESTEK_BRAND_NAME": os.environ.get("DESTEK_BRAND_NAME", "Pusula"),
        }
        self.rasa: subprocess.Popen[bytes] | None = None
        self.actions: subprocess.Popen[bytes] | None = None
        self.fake: subprocess.Popen[bytes] | None = None

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def start_actions(self) -> None:
        log = open(self.state / "actions.log", "ab")
        self.actions = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "python"), "-m", "bot.action_server", "--port", str(self.action_port)],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_until(f"http://127.0.0.1:{self.action_port}/health", 120, self.actions)

    def start_rasa(self) -> None:
        log = open(self.state / "rasa.log", "ab")
        self.rasa = subprocess.Popen(
            [
                *RASA_RUN,
                "--model",
                str(MODEL),
                "--endpoints",
                str(self.endpoints),
                "--credentials",
                "credentials.yml",
                "--port",
                str(self.rasa_port),
                "--interface",
                "127.0.0.1",
                "--enable-api",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
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
    def _stop(process: subprocess.Popen[bytes] | None) -> None:
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
    support: subprocess.Popen[bytes] | None = None

    def start_support_app(self) -> None:
        """The support app (demo shop, web chat tokens). Start it before Rasa: the web chat channel
        reads the shared token secret and the shop's origin from the environment set here."""
        self.env["WEBCHAT_SERVER_URL"] = self.rasa_url
        log = open(self.state / "support_app.log", "ab")
        self.support = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "python"), "-m", "support_app", "--port", str(self.support_port)],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_until(f"{self.support_url}/healthz", 60, self.support)

    @property
    def support_url(self) -> str:
        return f"http://127.0.0.1:{self.support_port}"

    def stop_support_app(self) -> None:
        self._stop(self.support)

    def say(self, sender: str, text: str, metadata: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The bot's replies (REST's format: {"text", "buttons"?}) to one message, sent through the
        channel that owns the sender's namespace (see the module docstring)."""
        if sender.startswith("web:"):
            return asyncio.run(self._say_on_the_web(sender.removeprefix("web:"), text, metadata or {}))
        if sender.startswith("whatsapp:"):
            return self._say_on_whatsapp(sender, text)
        token = self.env.get("REST_CHANNEL_TOKEN")
        request = urllib.request.Request(
            f"{self.rasa_url}/webhooks/rest/webhook",
            method="POST",
            data=json.dumps({"sender": sender, "message": text, "metadata": metadata or {}}).encode(),
            headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
        )
        with urllib.request.urlopen(request, timeout=TURN_TIMEOUT) as response:
            return list(json.loads(response.read()))

    async def _say_on_the_web(self, sub: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        client = socketio.AsyncClient(reconnection=False)
        replies: list[dict[str, Any]] = []
        done = asyncio.Event()

        @client.on("bot_uttered")
        async def uttered(data: Any) -> None:
            if isinstance(data, dict):
                buttons = [{"title": q.get("title"), "payload": q.get("payload")} for q in data.get("quick_replies") or []]
                replies.append(
                    {
                        "recipient_id": f"web:{sub}",
                        **{k: v for k, v in data.items() if k != "quick_replies"},
                        **({"buttons": buttons} if buttons else {}),
                    }
                )

        @client.on("bot_typing")
        async def typing(data: Any) -> None:
            if data == {"typing": False}:
                done.set()

        @client.on("chat_error")
        async def refused(data: Any) -> None:
            replies.append({"error": data})
            done.set()

        await client.connect(
            self.rasa_url,
            auth={"token": issue_token(sub, self.webchat_secret, 600)},
            transports=["websocket"],
            headers={"Origin": self.support_url},
            wait_timeout=10,
        )
        try:
            await client.emit("user_uttered", {"message": text, "metadata": metadata})
            await asyncio.wait_for(done.wait(), TURN_TIMEOUT)
        finally:
            await client.disconnect()
        assert not any("error" in reply for reply in replies), replies
        return replies

    def _say_on_whatsapp(self, address: str, text: str) -> list[dict[str, Any]]:
        assert self.fake is not None, "start the fake Twilio (running_servers(..., fake_twilio=True)) to talk as a WhatsApp customer"
        before = len(self.whatsapp_sent_to(address))
        sid = "SM" + secrets.token_hex(16)
        params = {
            "MessageSid": sid,
            "AccountSid": "AC" + "0" * 32,
            "From": address,
            "To": "whatsapp:+14155238886",
            "Body": text,
            "NumMedia": "0",
            "ProfileName": "Test",
        }
        path = "/webhooks/whatsapp/webhook"
        request = urllib.request.Request(
            self.rasa_url + path,
            data=urllib.parse.urlencode(params).encode(),
            method="POST",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": RequestValidator(self.env["TWILIO_AUTH_TOKEN"]).compute_signature(self.rasa_url + path, params),
            },
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        deadline = time.monotonic() + TURN_TIMEOUT
        # The tracker is saved after the replies went out: once it holds this message, the turn is over.
        while sid not in [e.get("message_id") for e in self.tracker(address).get("events") or [] if e["event"] == "user"]:
            assert time.monotonic() < deadline, f"no turn for {text!r} from {address}"
            time.sleep(0.05)
        return [{"recipient_id": address, "text": m["body"]} for m in self.whatsapp_sent_to(address)[before:]]

    def whatsapp_sent_to(self, address: str) -> list[dict[str, Any]]:
        """What Destek sent to this address through the fake Twilio API, oldest first."""
        status, inbox = http(
            "GET", f"{self.fake_url}/_fake/messages?" + urllib.parse.urlencode({"to": address, "direction": "outbound-api"})
        )
        assert status == 200
        return list(inbox["messages"])

    def tracker(self, sender: str) -> dict[str, Any]:
        """The tracker of a test's `sender` (a REST sender's is `rest:<sender>`)."""
        quoted = urllib.parse.quote(conversation(sender), safe=":+@")
        status, tracker = http("GET", f"{self.rasa_url}/conversations/{quoted}/tracker?token={AUTH_TOKEN}")
        assert status == 200, status
        return dict(tracker)


@contextmanager
def running_servers(
    state: Path,
    *,
    fake_twilio: bool = False,
    support_app: bool = False,
    env: dict[str, str] | None = None,
    endpoints: Path | None = None,
) -> Iterator[Servers]:
    """Start what a test module needs, in the order the settings flow (the fake and the
    support app before Rasa, whose channels read their URLs and secrets), and stop it all.
    `env` adds settings every process sees (e.g. a staff password, a settings file); `endpoints`
    replaces endpoints.yml for Rasa."""
    servers = Servers(state, endpoints)
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
