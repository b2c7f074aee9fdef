"""scripts/rasa_cli.py, the way every shipped command starts Rasa (make run, run-cluster, make
interactive, make rasa-shell, the systemd unit): Rasa's servers listen on loopback unless
DESTEK_EXPOSE names them, and the HTTP API token never appears on a command line (`ps`).

The real Rasa server is started without a model (it serves its HTTP API all the same), and Rasa's
own interactive-learning code (which hard-codes 0.0.0.0) is run through the launcher's pin."""

import os
import re
import secrets
import select
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.rasa_cli import UsageError, rasa_arguments
from tests.bot.test_rasa_shell import Terminal
from tests.conftest import ROOT
from tests.helpers.servers import MODEL, free_port, free_port_pair
from tests.helpers.sockets import command_lines, listeners

RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
LOOPBACK = {"127.0.0.1", "::1"}
STARTUP_SECONDS = 240  # Rasa imports TensorFlow: 20 s on an idle machine, minutes on a loaded one


def rasa_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("DESTEK_EXPOSE", "RASA_AUTH_TOKEN")}
    env.update({"PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2", **extra})
    return env


def start(args: list[str], cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(RASA_PYTHON), *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=open(log, "wb"), stderr=subprocess.STDOUT
    )


def wait_for_listener(process: subprocess.Popen[bytes], port: int, log: Path) -> list[tuple[str, int, int]]:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        found = listeners(process.pid)
        if any(p == port for _, p, _ in found):
            return found
        if process.poll() is not None:
            break
        time.sleep(0.5)
    raise AssertionError(f"nothing listened on {port}:\n{log.read_text(errors='replace')[-3000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def without_progress_bars(output: bytes) -> str:
    """A terminal's output without tqdm's redrawn bars, so that an error printed among them shows."""
    lines = re.split(r"[\r\n]+", output.decode(errors="replace"))
    return "\n".join(line for line in lines if line.strip() and "it/s" not in line)


def status(port: int, query: str = "") -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status{query}", timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


# --- the command line Rasa gets ------------------------------------------------------------------


def test_run_and_shell_get_loopback_unless_rasa_is_exposed() -> None:
    assert rasa_arguments(["shell", "-p", "5006"], {}) == ["shell", "-p", "5006", "--interface", "127.0.0.1"]
    assert rasa_arguments(["run"], {"DESTEK_EXPOSE": "rasa"}) == ["run", "--interface", "0.0.0.0"]
    assert rasa_arguments(["run", "--interface", "127.0.0.1"], {"DESTEK_EXPOSE": "rasa"})[-2:] == ["--interface", "127.0.0.1"]
    assert "--interface" not in rasa_arguments(["interactive", "-p", "5006"], {})  # rasa interactive has no such option


def test_the_api_token_comes_from_the_environment_only() -> None:
    assert rasa_arguments(["run", "--enable-api"], {"RASA_AUTH_TOKEN": "t" * 32})[-1] == "--auth-token=" + "t" * 32
    assert not any(arg.startswith("--auth-token") for arg in rasa_arguments(["run"], {"RASA_AUTH_TOKEN": "t" * 32}))
    with pytest.raises(UsageError, match=r"^RASA_AUTH_TOKEN is not set"):
        rasa_arguments(["run", "--enable-api"], {})
    for refused in (["--auth-token", "x"], ["--auth-token=x"]):
        with pytest.raises(UsageError, match=r"^--auth-token: pass the token in RASA_AUTH_TOKEN"):
            rasa_arguments(["run", "--enable-api", *refused], {"RASA_AUTH_TOKEN": "t" * 32})
    with pytest.raises(ValueError, match="DESTEK_EXPOSE: unknown service 'rasaa'"):
        rasa_arguments(["run"], {"DESTEK_EXPOSE": "rasaa"})


def test_a_refused_command_line_is_one_line_and_starts_nothing(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(RASA_PYTHON), "-m", "scripts.rasa_cli", "run", "--enable-api", "--auth-token=abc"],
        cwd=tmp_path,
        env=rasa_env(RASA_AUTH_TOKEN="t" * 32),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --auth-token: pass the token in RASA_AUTH_TOKEN (a command line is visible to every local user in ps)"
    ]


# --- real servers ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rasa_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[subprocess.Popen[bytes], int, str]]:
    """`rasa run --enable-api` as run.sh starts it, without a model (an empty directory as cwd)."""
    cwd, port, token = tmp_path_factory.mktemp("rasa-run"), free_port(), secrets.token_urlsafe(32)
    log = cwd / "rasa.log"
    process = start(["-m", "scripts.rasa_cli", "run", "--enable-api", "--port", str(port)], cwd, rasa_env(RASA_AUTH_TOKEN=token), log)
    try:
        wait_for_listener(process, port, log)
        yield process, port, token
    finally:
        stop(process)


def test_rasa_run_takes_its_token_from_the_environment_and_shows_it_nowhere(rasa_server: tuple[subprocess.Popen[bytes], int, str]) -> None:
    process, port, token = rasa_server
    assert status(port) == 401
    assert status(port, "?token=wrong-" + token) == 401
    assert status(port, "?token=" + token) == 409  # authenticated: "no agent loaded"
    lines = command_lines(process.pid)
    assert any("scripts.rasa_cli run" in line for line in lines), lines
    assert not any(token in line for line in lines)


def test_rasa_run_listens_on_loopback_only(rasa_server: tuple[subprocess.Popen[bytes], int, str]) -> None:
    process, port, _ = rasa_server
    found = listeners(process.pid)
    assert port in {p for _, p, _ in found}
    assert [listener for listener in listeners(process.pid) if listener[0] not in LOOPBACK] == []


VISUALIZATION = """
import os
import sys
from scripts.rasa_cli import pin_sanic_host
from settings.rasa_side import host_for
pin_sanic_host(host_for("interactive", os.environ))
from rasa.core.training import interactive
interactive.start_visualization("story_graph.dot", int(sys.argv[1]))  # Rasa: app.run(host="0.0.0.0", …)
"""


@pytest.mark.parametrize(("expose", "expected"), [("", {"127.0.0.1"}), ("interactive", {"0.0.0.0"})])
def test_rasa_interactives_hard_coded_0000_is_pinned_to_the_setting(tmp_path: Path, expose: str, expected: set[str]) -> None:
    """Rasa 3.6's interactive server and story-graph page both call Sanic's run(host="0.0.0.0"); through
    the launcher they listen on 127.0.0.1, and on every interface only when DESTEK_EXPOSE says so."""
    port, log = free_port(), tmp_path / "visualization.log"
    process = start(["-c", VISUALIZATION, str(port)], tmp_path, rasa_env(DESTEK_EXPOSE=expose), log)
    try:
        found = wait_for_listener(process, port, log)
    finally:
        stop(process)
    assert {host for host, p, _ in found if p == port} == expected


def test_every_shipped_command_starts_rasa_through_the_launcher() -> None:
    """No make target, script or unit runs `rasa run|interactive|shell` directly (0.0.0.0, token in ps)."""
    shipped = [ROOT / "Makefile", *sorted((ROOT / "scripts").glob("*.sh")), *sorted((ROOT / "deploy").rglob("*.service"))]
    direct = re.compile(r"(?:bin/rasa|\$\(RASA\))\s+(?:run|interactive|shell)\b")
    offenders = [
        f"{path.relative_to(ROOT)}: {line.strip()}"
        for path in shipped
        for line in path.read_text().splitlines()
        if direct.search(line) or "--auth-token" in line
    ]
    assert offenders == []
    recipes = subprocess.run(["make", "-n", "interactive", "rasa-shell"], cwd=ROOT, capture_output=True, text=True)
    assert "-m scripts.rasa_cli interactive" in recipes.stdout and "-m scripts.rasa_cli shell" in recipes.stdout, (
        recipes.stdout + recipes.stderr
    )


@pytest.mark.skipif(not MODEL.exists(), reason="no trained model: run `make train index` (make test does)")
def test_make_interactive_listens_on_loopback_only(tmp_path: Path) -> None:
    """`make interactive`'s recipe in a pseudo-terminal: its Rasa server (HTTP API without a token)
    on INTERACTIVE_PORT and the story-graph page on the next port are both on 127.0.0.1."""
    port = free_port_pair()
    env = {
        **rasa_env(),
        "ACTION_PORT": str(free_port()),
        "RASA_TRACKER_DB": str(tmp_path / "tracker.sqlite3"),
        "DESTEK_DB": str(tmp_path / "destek.sqlite3"),
        "DESTEK_KB_INDEX": str(ROOT / "var" / "kb-index"),
        "DESTEK_SECRETS_FILE": str(tmp_path / "secrets.env"),
        "TERM": "xterm",
    }
    env.pop("ACTION_SERVER_URL", None)
    command = [str(ROOT / "scripts" / "with-actions.sh"), str(RASA_PYTHON), "-m", "scripts.rasa_cli", "interactive", "--model", str(MODEL)]
    command += ["--config", "config.yml", "--domain", "domain.yml", "--data", "bot/data/nlu", "bot/data/rules"]
    command += ["--endpoints", "endpoints.yml", "-p", str(port)]
    terminal = Terminal(command, env)
    try:
        deadline = time.monotonic() + 2 * STARTUP_SECONDS
        found: list[tuple[str, int, int]] = []
        while time.monotonic() < deadline and not {port, port + 1} <= {p for _, p, _ in found}:
            if select.select([terminal.master], [], [], 1)[0]:
                terminal.output += os.read(terminal.master, 65536)  # keep the terminal drained
            found = listeners(terminal.process.pid)
        assert {port, port + 1} <= {p for _, p, _ in found}, without_progress_bars(terminal.output)[-3000:]
        assert {host for host, p, _ in found if p in (port, port + 1)} == {"127.0.0.1"}, found
    finally:
        os.killpg(terminal.process.pid, signal.SIGTERM)
        terminal.close()
