"""The secrets policy and the listening addresses, as units (security/): what `make run` and every
service rely on before anything listens."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from security.secrets_policy import (
    OPTIONAL_SECRETS,
    PUBLISHED_DEFAULTS,
    SECRETS,
    SecretError,
    ensure,
    optional,
    published_values,
    require,
)
from settings.model import load
from tests.conftest import ROOT

GOOD = "a-long-random-enough-secret-0123456789"


def test_every_value_in_env_example_counts_as_published() -> None:
    lines = [line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines() if "=" in line and not line.startswith("#")]
    assert {value for _, value in lines if value} <= published_values()
    assert PUBLISHED_DEFAULTS <= published_values()


@pytest.mark.parametrize("value", sorted(PUBLISHED_DEFAULTS | {"demo-staff"}))
def test_a_published_value_is_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(SecretError, match=r"^WEBCHAT_JWT_SECRET is a published default"):
        require("WEBCHAT_JWT_SECRET", value)
    assert require("WEBCHAT_JWT_SECRET", value, demo=True) == value


@pytest.mark.parametrize(("value", "message"), [("", "is not set"), (" ", "is not set"), ("short-secret", "is shorter than 16")])
def test_a_missing_or_short_secret_is_refused(value: str, message: str) -> None:
    with pytest.raises(SecretError, match=f"^X {message}"):
        require("X", value)


def test_ensure_generates_each_unset_secret_once_per_install_in_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secrets.env"
    first = ensure(path, {"WEBCHAT_JWT_SECRET": GOOD})
    assert set(first) == set(SECRETS) - {"WEBCHAT_JWT_SECRET"}
    assert path.stat().st_mode & 0o777 == 0o600
    assert all(len(value) >= 32 for value in first.values()) and len(set(first.values())) == len(first)
    assert ensure(path, {"WEBCHAT_JWT_SECRET": GOOD}) == first  # the same values on the next start
    assert GOOD not in path.read_text()  # what the environment sets is never written


def test_ensure_replaces_a_stored_value_that_became_unusable(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    path.write_text("RASA_AUTH_TOKEN=demo-staff\n")
    assert ensure(path, {}, generate=["RASA_AUTH_TOKEN"])["RASA_AUTH_TOKEN"] not in published_values()


def test_ensure_checks_the_secrets_the_environment_sets(tmp_path: Path) -> None:
    with pytest.raises(SecretError, match=r"^SUPPORT_SESSION_SECRET is a published default"):
        ensure(tmp_path / "secrets.env", {"SUPPORT_SESSION_SECRET": "demo-session-secret-change-me"})
    assert not (tmp_path / "secrets.env").exists()


def test_ensure_does_not_generate_what_it_is_told_to_skip(tmp_path: Path) -> None:
    """A real Twilio account's token cannot be made up: it is skipped, and the service then refuses to start without it."""
    assert "TWILIO_AUTH_TOKEN" not in ensure(tmp_path / "secrets.env", {}, generate=[n for n in SECRETS if n != "TWILIO_AUTH_TOKEN"])


@pytest.mark.parametrize(
    ("expose", "service", "host"),
    [
        ("", "rasa", "127.0.0.1"),
        ("rasa", "rasa", "0.0.0.0"),
        ("rasa", "support", "127.0.0.1"),
        (" rasa , support ", "support", "0.0.0.0"),
    ],
)
def test_services_listen_on_loopback_unless_exposed(expose: str, service: str, host: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESTEK_EXPOSE", expose)
    assert load().processes.host_for(service) == host


def test_an_unknown_service_in_destek_expose_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESTEK_EXPOSE", "rasaa")
    with pytest.raises(ValueError, match=r"^DESTEK_EXPOSE: unknown service 'rasaa'"):
        load()


@pytest.mark.parametrize("name", sorted(OPTIONAL_SECRETS))
def test_an_optional_secret_may_be_unset_but_not_short_or_published(name: str, tmp_path: Path) -> None:
    assert optional(name, "") is None and optional(name, "  ") is None
    assert optional(name, GOOD) == GOOD
    for value, message in (("x", "is shorter than 16"), ("demo-staff", "is a published default")):
        with pytest.raises(SecretError, match=rf"^{name} {message}"):
            optional(name, value)
        with pytest.raises(SecretError, match=rf"^{name} {message}"):  # make run stops before anything starts
            ensure(tmp_path / "secrets.env", {name: value})
    assert not (tmp_path / "secrets.env").exists()


def test_make_runs_secret_check_refuses_a_weak_ops_token_in_one_line(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "OPS_API_TOKEN": "ops"}
    result = subprocess.run(
        [sys.executable, "-m", "security.secrets_policy", "--file", str(tmp_path / "secrets.env")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == ["error: OPS_API_TOKEN is shorter than 16 characters: set a longer random value"]


def test_the_support_app_refuses_a_published_metrics_token_in_one_line() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "METRICS_TOKEN": "demo-staff", "DESTEK_DEMO_SECRETS": ""}
    result = subprocess.run([sys.executable, "-m", "support_app"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("support app: METRICS_TOKEN is a published default")
