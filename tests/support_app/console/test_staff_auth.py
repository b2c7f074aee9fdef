"""Staff logins in-process (FastAPI's test client over a real SQLite file): sessions, roles, CSRF."""

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient

from settings.model import get_settings
from support_app.app import create_app
from support_app.console.staff.accounts import StaffAccounts, StaffUser, staff_api, staff_page
from support_app.settings import Settings
from tests.helpers.databases import support_database, use_database

PASSWORD = "test-staff-password"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return dataclasses.replace(Settings.of(get_settings()), database_path=support_database(tmp_path), staff_demo_password=PASSWORD)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    probe = APIRouter()

    @probe.get("/probe/page")
    async def page(user: StaffUser = Depends(staff_page("agent"))) -> dict[str, str]:
        return {"login": user.login}

    @probe.get("/api/probe/admin")
    async def admin_api(user: StaffUser = Depends(staff_api("admin"))) -> dict[str, str]:
        return {"login": user.login}

    app.include_router(probe)
    with TestClient(app) as test_client:
        yield test_client


def csrf(client: TestClient, path: str = "/staff/login") -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert match
    return match.group(1)


def log_in(client: TestClient, login: str, password: str = PASSWORD, next_path: str = "/staff") -> int:
    response = client.post(
        "/staff/login", data={"login": login, "password": password, "csrf": csrf(client), "next": next_path}, follow_redirects=False
    )
    return response.status_code


def test_pages_redirect_to_login_and_back(client: TestClient) -> None:
    response = client.get("/probe/page?x=1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/login?next=%2Fprobe%2Fpage%3Fx%3D1"
    assert log_in(client, "agent1", next_path="/probe/page") == 303
    assert client.get("/probe/page").json() == {"login": "agent1"}


def test_apis_answer_401_without_login_and_403_for_the_wrong_role(client: TestClient) -> None:
    assert client.get("/api/probe/admin").status_code == 401
    log_in(client, "agent1")
    assert client.get("/api/probe/admin").status_code == 403
    assert client.get("/staff").status_code == 200


def test_admin_may_open_everything(client: TestClient) -> None:
    log_in(client, "admin")
    assert client.get("/api/probe/admin").json() == {"login": "admin"}
    assert client.get("/probe/page").json() == {"login": "admin"}


def test_wrong_password_and_missing_csrf_are_refused(client: TestClient) -> None:
    assert log_in(client, "agent1", password="wrong-password") == 401
    response = client.post("/staff/login", data={"login": "agent1", "password": PASSWORD, "csrf": "forged"})
    assert response.status_code == 400
    assert client.get("/api/probe/admin").status_code == 401


def test_repeated_failures_block_the_login(client: TestClient) -> None:
    for _ in range(5):
        assert log_in(client, "agent2", password="wrong-password") == 401
    assert log_in(client, "agent2") == 429


def test_logout_ends_the_session_on_the_server(client: TestClient) -> None:
    log_in(client, "agent1")
    stolen_cookie = client.cookies.get("destek_session")
    assert client.post("/staff/logout", data={"csrf": csrf(client, "/staff")}, follow_redirects=False).status_code == 303
    client.cookies.set("destek_session", stolen_cookie)
    assert client.get("/probe/page", follow_redirects=False).status_code == 303


def test_no_open_redirect_after_login(client: TestClient) -> None:
    response = client.post(
        "/staff/login",
        data={"login": "agent1", "password": PASSWORD, "csrf": csrf(client), "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/staff"


def test_home_lists_only_the_areas_of_the_role(client: TestClient) -> None:
    log_in(client, "marketing")
    page = client.get("/staff").text
    assert 'href="/campaigns"' in page and 'href="/dashboard"' in page and 'href="/inbox"' not in page


def test_a_customer_login_keeps_the_staff_login(client: TestClient) -> None:
    log_in(client, "agent1")
    shop_csrf = csrf(client, "/login")
    client.post("/login", data={"login": "ayse", "password": "demo", "csrf": shop_csrf})
    assert client.get("/probe/page").json() == {"login": "agent1"}


def test_accounts_refuse_bad_input(tmp_path: Path) -> None:
    accounts = StaffAccounts(support_database(tmp_path))
    with pytest.raises(ValueError, match="role 'boss'"):
        accounts.set_account("x", "X", "boss", "long-enough-password")
    with pytest.raises(ValueError, match="at least 8 characters"):
        accounts.set_account("x", "X", "agent", "short")
    accounts.set_account("x", "X", "agent", "long-enough-password")
    session = accounts.open_session("x")
    assert accounts.session_user(session) == StaffUser("x", "X", "agent")
    accounts.set_account("x", "X", "agent", "another-long-password")
    assert accounts.session_user(session) is None


def test_cli_adds_lists_and_refuses_bad_roles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from support_app.console.staff import cli as staff_cli

    use_database(monkeypatch, support_database(tmp_path))
    monkeypatch.setenv("STAFF_PASSWORD", "a-long-password")
    assert staff_cli.main(["add", "zeynep", "--role", "agent", "--name", "Zeynep"]) == 0
    assert staff_cli.main(["list"]) == 0
    assert "zeynep\tagent\tZeynep" in capsys.readouterr().out
    monkeypatch.setenv("STAFF_PASSWORD", "short")
    assert staff_cli.main(["add", "zeynep", "--role", "agent"]) == 2
    assert "password must have at least 8 characters" in capsys.readouterr().err
