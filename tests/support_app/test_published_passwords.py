"""A published password (the demo accounts' `demo-staff` and `demo`, any value of .env.example)
logs in only from this machine: over an exposed port or through a reverse proxy it is refused
even though it is right, so nobody who read the repository logs in as the demo admin or as a demo
customer. In process over a real SQLite file, one test client per client address."""

import dataclasses
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from settings.model import get_settings
from support_app.app import create_app
from support_app.settings import Settings

PUBLISHED_STAFF_PASSWORD = "demo-staff"
THIS_MACHINE = ("127.0.0.1", 50000)
ELSEWHERE = ("203.0.113.7", 50000)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("RASA_TRACKER_DB", str(tmp_path / "no-tracker.sqlite3"))
    monkeypatch.delenv("DESTEK_DEMO_SECRETS", raising=False)
    return dataclasses.replace(
        Settings.of(get_settings()), database_path=tmp_path / "destek.sqlite3", staff_demo_password=PUBLISHED_STAFF_PASSWORD, demo_data=True
    )


def log_in(client: TestClient, path: str, login: str, password: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    token = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert token, path
    data = {"login": login, "password": password, "csrf": token.group(1)}
    response = client.post(path, data=data, headers=headers or {}, follow_redirects=False)
    return response.status_code, response.text


def test_the_demo_admin_and_customer_log_in_on_this_machine(settings: Settings) -> None:
    with TestClient(create_app(settings), client=THIS_MACHINE) as client:
        assert log_in(client, "/staff/login", "admin", PUBLISHED_STAFF_PASSWORD)[0] == 303
        assert log_in(client, "/login", "ayse", "demo")[0] == 303


def test_from_elsewhere_the_published_passwords_are_refused(settings: Settings) -> None:
    with TestClient(create_app(settings), client=ELSEWHERE) as client:
        status, page = log_in(client, "/staff/login", "admin", PUBLISHED_STAFF_PASSWORD)
        assert status == 403 and "published demo password" in page
        assert client.get("/dashboard", follow_redirects=False).status_code in (302, 303, 401)  # not logged in
        status, page = log_in(client, "/login", "ayse", "demo")
        assert status == 403 and "yalnızca bu bilgisayardan girilebilir" in page  # the shop speaks Turkish by default
        assert client.get("/api/webchat/token").json()["sub"].startswith("anon-")  # not Ayşe
        assert log_in(client, "/staff/login", "admin", "wrong-password")[0] == 401  # a wrong one is still just wrong


def test_through_a_local_reverse_proxy_they_are_refused_too(settings: Settings) -> None:
    """A proxy on this machine connects from 127.0.0.1 and names the caller in a header."""
    with TestClient(create_app(settings), client=THIS_MACHINE) as client:
        for header in ({"X-Forwarded-For": "198.51.100.1"}, {"Forwarded": "for=198.51.100.1"}, {"X-Real-IP": "198.51.100.1"}):
            assert log_in(client, "/staff/login", "admin", PUBLISHED_STAFF_PASSWORD, header)[0] == 403, header


def test_an_unpublished_password_and_the_demo_flag_log_in_from_anywhere(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    own = dataclasses.replace(settings, staff_demo_password="a-real-password-of-this-install", database_path=tmp_path / "own.sqlite3")
    with TestClient(create_app(own), client=ELSEWHERE) as client:
        assert log_in(client, "/staff/login", "admin", "a-real-password-of-this-install")[0] == 303
    monkeypatch.setenv("DESTEK_DEMO_SECRETS", "1")  # a throwaway public demo, as for the other secrets
    get_settings.cache_clear()  # the settings are read once per process: this is a new start
    with TestClient(create_app(settings), client=ELSEWHERE) as client:
        assert log_in(client, "/staff/login", "admin", PUBLISHED_STAFF_PASSWORD)[0] == 303
        assert log_in(client, "/login", "ayse", "demo")[0] == 303
