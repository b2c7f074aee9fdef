"""`make run`'s processes (scripts/run.sh), started as a fresh install with no secret set, as an
outsider would probe them (issue #15):

- every TCP socket any of its processes listens on is bound to loopback, unless DESTEK_EXPOSE
  names the service (then only that one is on every interface);
- secrets are generated once per install into a 0600 file, and a token, cookie, signature or API
  token made with any published default (security/secrets_policy.py: the old defaults and every
  value in .env.example) is refused, while the same made with the install's own secret works;
- a published or missing secret stops run.sh, and each service started directly, with one line
  naming the variable;
- CORS on the Rasa server answers the widget's origin only.
"""

import asyncio
import base64
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import socketio
from itsdangerous import TimestampSigner
from twilio.request_validator import RequestValidator

from connectors.webchat_token import issue_token
from security.secrets_policy import SECRETS, published_values
from tests.conftest import ROOT
from tests.helpers.databases import environment_url, on_postgres, support_database
from tests.helpers.servers import MODEL, free_port
from tests.helpers.sockets import command_lines, listeners

pytestmark = [
    pytest.mark.skipif(not MODEL.exists(), reason="no trained model: run `make train index` (make test does)"),
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),  # short published values, on purpose
]

SETTINGS_TO_CLEAR = (
    *SECRETS,
    "TWILIO_ACCOUNT_SID",
    "TWILIO_API_BASE",
    "REST_CHANNEL_TOKEN",
    "DESTEK_EXPOSE",
    "DESTEK_DEMO_SECRETS",
    "WEBCHAT_ALLOWED_ORIGINS",
    "WEBCHAT_SERVER_URL",
    "PUBLIC_URL",
    "RASA_URL",
    "ACTION_SERVER_URL",
    "HANDOFF_SETTINGS",
)
LOOPBACK = {"127.0.0.1", "::1"}
PUBLISHED = sorted(published_values())


@dataclass
class Run:
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    state: Path
    log: Path

    def port(self, name: str) -> int:
        return int(self.env[name])

    @property
    def secrets(self) -> dict[str, str]:
        lines = (self.state / "secrets.env").read_text().splitlines()
        return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def run_env(state: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS_TO_CLEAR}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "RASA_PORT": str(free_port()),
            "ACTION_PORT": str(free_port()),
            "SUPPORT_PORT": str(free_port()),
            "FAKE_TWILIO_PORT": str(free_port()),
            "RASA_TRACKER_DB": str(state / "tracker.sqlite3"),
            **environment_url(support_database(state)),
            "DESTEK_SECRETS_FILE": str(state / "secrets.env"),
            "DESTEK_KB_INDEX": str(ROOT / "var" / "kb-index"),
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "HF_HUB_OFFLINE": "1",
            **extra,
        }
    )
    return env


def start(state: Path, **extra: str) -> Run:
    state.mkdir(parents=True, exist_ok=True)
    env, log = run_env(state, **extra), state / "run.log"
    process = subprocess.Popen(
        [str(ROOT / "scripts" / "run.sh")], cwd=ROOT, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True
    )
    run = Run(process, env, state, log)
    deadline = time.monotonic() + 420
    while "Destek is running." not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            stop(run)
            raise AssertionError(f"run.sh did not come up:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(1)
    return run


def stop(run: Run) -> None:
    """Ctrl-C's path (run.sh's trap stops its children); the process group only if that failed."""
    if run.process.poll() is None:
        run.process.send_signal(signal.SIGTERM)
        try:
            run.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(run.process.pid, signal.SIGKILL)
            run.process.wait(timeout=10)


def exposed(run: Run) -> list[tuple[str, int, int]]:
    return [listener for listener in listeners(run.process.pid) if listener[0] not in LOOPBACK]


# --- HTTP helpers ------------------------------------------------------------------------------


def request(
    url: str, method: str = "GET", data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, str, dict[str, str]]:
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, response.read().decode("utf-8", "replace"), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace"), dict(error.headers)


def web_chat_connects(run: Run, secret: str) -> bool:
    async def attempt() -> bool:
        client = socketio.AsyncClient(reconnection=False)
        try:
            await client.connect(
                f"http://127.0.0.1:{run.port('RASA_PORT')}",
                auth={"token": issue_token("cust-ayse", secret, 600)},
                transports=["websocket"],
                headers={"Origin": f"http://localhost:{run.port('SUPPORT_PORT')}"},
                wait_timeout=10,
            )
        except socketio.exceptions.ConnectionError:
            return False
        finally:
            await client.shutdown()
        return True

    return asyncio.run(attempt())


def shop_greets_john(run: Run, secret: str) -> bool:
    """The demo shop with a session cookie signed like Starlette's SessionMiddleware does."""
    payload = base64.b64encode(json.dumps({"customer_id": "cust-john"}).encode())
    cookie = TimestampSigner(secret).sign(payload).decode()
    status, page, _ = request(f"http://127.0.0.1:{run.port('SUPPORT_PORT')}/", headers={"Cookie": f"destek_session={cookie}"})
    assert status == 200
    return "John" in page


def whatsapp_status(run: Run, auth_token: str) -> int:
    path = "/webhooks/whatsapp/webhook"
    public = f"http://localhost:{run.port('RASA_PORT')}"
    params = {"MessageSid": "SM" + os.urandom(16).hex(), "From": "whatsapp:+905551110001", "To": "whatsapp:+14155238886", "Body": "merhaba"}
    signature = RequestValidator(auth_token).compute_signature(public + path, params)
    return request(
        f"http://127.0.0.1:{run.port('RASA_PORT')}{path}",
        "POST",
        urllib.parse.urlencode(params).encode(),
        {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
    )[0]


def action_status(run: Run, token: str | None) -> int:
    body = json.dumps(
        {"next_action": "action_request_human", "tracker": {"sender_id": "web:cust-ayse", "events": []}, "domain": {}}
    ).encode()
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token is not None else {})}
    return request(f"http://127.0.0.1:{run.port('ACTION_PORT')}/webhook", "POST", body, headers)[0]


def rasa_api_status(run: Run, token: str) -> int:
    return request(f"http://127.0.0.1:{run.port('RASA_PORT')}/conversations/web:cust-ayse/tracker?token={urllib.parse.quote(token)}")[0]


# --- a fresh install with the repo's defaults ------------------------------------------------


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    run = start(tmp_path_factory.mktemp("make-run") / "default")
    try:
        yield run
    finally:
        stop(run)


def test_every_listener_of_make_run_is_on_loopback(fresh: Run) -> None:
    found = listeners(fresh.process.pid)
    ports = {port for _, port, _ in found}
    assert {fresh.port(name) for name in ("RASA_PORT", "ACTION_PORT", "SUPPORT_PORT", "FAKE_TWILIO_PORT")} <= ports, found
    assert exposed(fresh) == []


def test_secrets_are_generated_once_per_install_in_a_private_file(fresh: Run) -> None:
    secrets_file = fresh.state / "secrets.env"
    assert secrets_file.stat().st_mode & 0o777 == 0o600
    assert set(fresh.secrets) == set(SECRETS)
    assert all(len(value) >= 32 and value not in PUBLISHED for value in fresh.secrets.values())
    assert rasa_api_status(fresh, fresh.secrets["RASA_AUTH_TOKEN"]) == 200  # the running services use them


def test_the_databases_the_services_create_are_private(fresh: Run) -> None:
    """run.sh's umask 077: customers' data is not readable by other local accounts."""
    created = [fresh.state / "tracker.sqlite3"] + ([] if on_postgres() else [fresh.state / "destek.sqlite3"])  # else a PostgreSQL schema
    assert all(path.exists() for path in created), list(fresh.state.iterdir())
    assert {path.name: oct(path.stat().st_mode & 0o077) for path in created} == {path.name: "0o0" for path in created}


def test_no_secret_is_on_any_command_line(fresh: Run) -> None:
    """`ps` shows every process's command line to every local user: no secret may be on one."""
    lines = command_lines(fresh.process.pid)
    assert any("scripts.rasa_cli run" in line for line in lines), lines  # the tree is the running one
    leaked = [(name, line) for name, value in fresh.secrets.items() for line in lines if value in line]
    assert leaked == []


@pytest.mark.parametrize("published", PUBLISHED)
def test_nothing_signed_with_a_published_default_is_accepted(fresh: Run, published: str) -> None:
    assert not web_chat_connects(fresh, published)
    assert not shop_greets_john(fresh, published)
    assert whatsapp_status(fresh, published) == 403
    assert action_status(fresh, published) == 403
    assert rasa_api_status(fresh, published) in (401, 403)


def test_the_same_signed_with_the_installs_own_secrets_is_accepted(fresh: Run) -> None:
    """The control for the test above: each check can pass."""
    own = fresh.secrets
    assert web_chat_connects(fresh, own["WEBCHAT_JWT_SECRET"])
    assert shop_greets_john(fresh, own["SUPPORT_SESSION_SECRET"])
    assert whatsapp_status(fresh, own["TWILIO_AUTH_TOKEN"]) == 200
    assert action_status(fresh, None) == 401


def test_rasa_cors_answers_the_widget_origin_only(fresh: Run) -> None:
    url = f"http://127.0.0.1:{fresh.port('RASA_PORT')}/webhooks/rest/webhook"
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    widget = f"http://localhost:{fresh.port('SUPPORT_PORT')}"
    _, _, allowed = request(url, "OPTIONS", headers={**preflight, "Origin": widget})
    _, _, refused = request(url, "OPTIONS", headers={**preflight, "Origin": "http://evil.example"})
    assert allowed.get("Access-Control-Allow-Origin") == widget
    assert "Access-Control-Allow-Origin" not in refused


# --- refusals: before anything listens --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("WEBCHAT_JWT_SECRET", "demo-webchat-secret-change-me-0123456789", "is a published default"),
        ("SUPPORT_SESSION_SECRET", "demo-session-secret-change-me", "is a published default"),
        ("TWILIO_AUTH_TOKEN", "demo-auth-token-not-secret", "is a published default"),
        ("RASA_AUTH_TOKEN", "demo-staff", "is a published default"),
        ("ACTION_SERVER_TOKEN", "short", "is shorter than 16 characters"),
    ],
)
def test_run_sh_refuses_a_published_or_weak_secret_naming_it(tmp_path: Path, name: str, value: str, reason: str) -> None:
    env = run_env(tmp_path, **{name: value})
    result = subprocess.run([str(ROOT / "scripts" / "run.sh")], cwd=ROOT, env=env, capture_output=True, timeout=120, start_new_session=True)
    errors = [line for line in result.stderr.decode().splitlines() if line.startswith("error:")]
    assert result.returncode != 0
    assert len(errors) == 1 and errors[0].startswith(f"error: {name} {reason}")
    assert not (tmp_path / "secrets.env").exists()


def test_the_demo_flag_lets_a_published_value_through(tmp_path: Path) -> None:
    env = run_env(tmp_path, WEBCHAT_JWT_SECRET="demo-webchat-secret-change-me-0123456789", DESTEK_DEMO_SECRETS="1")
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "security.secrets_policy", "--file", str(tmp_path / "s.env")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "WEBCHAT_JWT_SECRET" not in result.stdout.decode()  # set, so not generated


@pytest.mark.parametrize(
    ("command", "unset", "line"),
    [
        ([".venv/bin/python", "-m", "bot.action_server"], "ACTION_SERVER_TOKEN", "action server: ACTION_SERVER_TOKEN is not set"),
        ([".venv/bin/python", "-m", "support_app"], "SUPPORT_SESSION_SECRET", "support app: SUPPORT_SESSION_SECRET is not set"),
        ([".venv/bin/python", "-m", "fake_twilio"], "TWILIO_AUTH_TOKEN", "fake_twilio: TWILIO_AUTH_TOKEN is not set"),
        (
            [
                ".venv-rasa/bin/rasa",
                "run",
                "--model",
                str(MODEL),
                "--endpoints",
                "endpoints.yml",
                "--credentials",
                "credentials.yml",
                "--interface",
                "127.0.0.1",
            ],
            "WEBCHAT_JWT_SECRET",
            "web chat channel: WEBCHAT_JWT_SECRET is not set",
        ),
    ],
    ids=["action-server", "support-app", "fake-twilio", "rasa"],
)
def test_each_service_started_directly_refuses_a_missing_secret_in_one_line(
    tmp_path: Path, command: list[str], unset: str, line: str
) -> None:
    env = run_env(
        tmp_path,
        **{name: "a-random-enough-test-secret-0123456789" for name in SECRETS if name != unset},
        ACTION_SERVER_URL="http://127.0.0.1:9/webhook",
    )
    result = subprocess.run([*command, "--port", str(free_port())], cwd=ROOT, env=env, capture_output=True, timeout=300)
    assert result.returncode != 0
    assert result.stderr.decode().strip().splitlines()[-1].startswith(line)


# --- the one setting that exposes a service ---------------------------------------------------


def test_destek_expose_rasa_puts_only_rasa_on_every_interface(tmp_path: Path) -> None:
    run = start(tmp_path / "exposed", DESTEK_EXPOSE="rasa")
    try:
        assert {(host, port) for host, port, _ in exposed(run)} == {("0.0.0.0", run.port("RASA_PORT"))}
    finally:
        stop(run)
