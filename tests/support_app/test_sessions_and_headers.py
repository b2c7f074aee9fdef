"""Login throttles a stranger cannot turn against an agent or a customer, the session cookie's
lifetime and Secure flag, and security headers on every response, errors included.
In process (FastAPI's test client, one per client address) over a real SQLite file."""

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from settings.model import get_settings
from support_app.app import create_app
from support_app.console.staff.accounts import SESSION_LIFETIME
from support_app.login_throttle import LoginThrottle
from support_app.settings import Settings
from tests.helpers.databases import support_database

PASSWORD = "test-staff-password"
STRANGER = ("203.0.113.7", 40000)
AGENT_DESK = ("198.51.100.20", 40001)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("RASA_TRACKER_DB", str(tmp_path / "no-tracker.sqlite3"))
    return dataclasses.replace(Settings.of(get_settings()), database_path=support_database(tmp_path), staff_demo_password=PASSWORD)


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    app = create_app(settings)

    @app.get("/probe/boom")
    async def boom() -> None:
        raise RuntimeError("a bug in a route")

    return app


@pytest.fixture
def stranger(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, client=STRANGER, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def agent_desk(app: FastAPI, stranger: TestClient) -> Iterator[TestClient]:
    with TestClient(app, client=AGENT_DESK) as client:
        yield client


def csrf(client: TestClient, path: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert match, path
    return match.group(1)


def staff_login(client: TestClient, login: str, password: str) -> int:
    data = {"login": login, "password": password, "csrf": csrf(client, "/staff/login"), "next": "/staff"}
    return client.post("/staff/login", data=data, follow_redirects=False).status_code


def shop_login(client: TestClient, login: str, password: str) -> int:
    return client.post(
        "/login", data={"login": login, "password": password, "csrf": csrf(client, "/login")}, follow_redirects=False
    ).status_code


def test_a_stranger_cannot_lock_an_agent_out(stranger: TestClient, agent_desk: TestClient) -> None:
    for _ in range(5):
        assert staff_login(stranger, "agent1", "guess") == 401
    assert staff_login(stranger, "agent1", "guess") == 429
    assert staff_login(stranger, "agent1", PASSWORD) == 429  # the stranger is stopped even with the right password
    assert staff_login(agent_desk, "agent1", PASSWORD) == 303  # the agent, from their own desk, is not


def test_the_shop_login_is_throttled_per_login_and_client(
    stranger: TestClient, agent_desk: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESTEK_DEMO_SECRETS", "1")  # ayse's published "demo" password from another host (test_published_passwords.py)
    get_settings.cache_clear()  # the settings are read once per process: this is a new start
    for _ in range(5):
        assert shop_login(stranger, "ayse", "guess") == 401
    refused = stranger.post("/login", data={"login": "ayse", "password": "demo", "csrf": csrf(stranger, "/login")})
    assert refused.status_code == 429 and "15" in refused.text
    assert shop_login(agent_desk, "ayse", "demo") == 303


def test_the_slower_limits_per_client_and_per_login() -> None:
    throttle = LoginThrottle("test", per_login_and_client="3 per minute", per_client="5 per minute", per_login="7 per minute")
    for login in ("a", "b", "c", "d", "e"):  # one client spraying many logins
        throttle.failed(login, "10.0.0.1")
    assert throttle.blocked("f", "10.0.0.1") and not throttle.blocked("f", "10.0.0.2")
    for client in range(7):  # one login guessed from many clients, twice each
        throttle.failed("victim", f"10.1.0.{client}")
    assert throttle.blocked("victim", "10.9.9.9") and not throttle.blocked("other", "10.9.9.9")
    throttle.failed("z", "10.2.0.1")
    throttle.succeeded("z", "10.2.0.1")
    throttle.failed("z", "10.2.0.1")
    throttle.failed("z", "10.2.0.1")
    assert not throttle.blocked("z", "10.2.0.1")  # a right password forgot the earlier failure


def test_the_session_cookie_lives_as_long_as_a_staff_session(agent_desk: TestClient) -> None:
    data = {"login": "agent1", "password": PASSWORD, "csrf": csrf(agent_desk, "/staff/login"), "next": "/staff"}
    header = agent_desk.post("/staff/login", data=data, follow_redirects=False).headers["set-cookie"]
    assert f"Max-Age={SESSION_LIFETIME}" in header and SESSION_LIFETIME == 12 * 3600
    assert "secure" not in header.lower() and "httponly" in header.lower() and "samesite=lax" in header.lower()


def test_secure_cookies_when_served_over_https(settings: Settings) -> None:
    app = create_app(dataclasses.replace(settings, secure_cookies=True))
    with TestClient(app, base_url="https://shop.example") as client:
        header = client.get("/login").headers["set-cookie"]
    assert "secure" in [part.strip().lower() for part in header.split(";")]


def assert_security_headers(response_headers: dict[str, str] | object, what: str) -> None:
    headers = {k.lower(): v for k, v in dict(response_headers).items()}  # type: ignore[call-overload]
    assert "default-src 'self'" in headers.get("content-security-policy", ""), what
    assert headers.get("x-frame-options") == "DENY", what
    assert headers.get("x-content-type-options") == "nosniff", what
    assert headers.get("cache-control") == "no-store", what


def test_error_responses_carry_the_security_headers(stranger: TestClient) -> None:
    crashed = stranger.get("/probe/boom")
    assert crashed.status_code == 500 and "a bug in a route" not in crashed.text
    assert_security_headers(crashed.headers, "500")
    missing = stranger.get("/no/such/page")
    assert missing.status_code == 404
    assert_security_headers(missing.headers, "404")
    refused = stranger.get("/dashboard?x=%00")
    assert refused.status_code == 400
    assert_security_headers(refused.headers, "400 from the input guard")
    assert_security_headers(stranger.get("/api/incidents").headers, "401 API")


def test_staff_pages_and_apis_are_not_cached_and_static_files_may_be(agent_desk: TestClient) -> None:
    assert staff_login(agent_desk, "agent1", PASSWORD) == 303
    for path in ("/staff", "/inbox", "/review", "/dashboard", "/inbox/api/queue", "/inbox/api/templates"):
        response = agent_desk.get(path)
        assert response.status_code == 200, path
        assert_security_headers(response.headers, path)
    assert agent_desk.get("/api/webchat/token").headers["cache-control"] == "no-store"
    static = agent_desk.get(
        "/static/" + next(p.name for p in (Path(__file__).parents[2] / "support_app" / "static").iterdir() if p.suffix == ".css")
    )
    assert static.status_code == 200 and "no-store" not in static.headers.get("cache-control", "")


def test_over_long_credentials_are_refused_before_any_hashing(stranger: TestClient) -> None:
    for path, page in (("/staff/login", "/staff/login"), ("/login", "/login")):
        for login, password in (("a" * 101, "x"), ("agent1", "x" * 1025)):
            response = stranger.post(path, data={"login": login, "password": password, "csrf": csrf(stranger, page)})
            assert response.status_code == 400 and response.json()["detail"].startswith("field '"), path
