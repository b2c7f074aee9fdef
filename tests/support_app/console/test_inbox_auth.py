"""Inbox permissions in-process (FastAPI's test client over a real SQLite file): no login → the
login page (pages) or 401 (APIs); an agent → 403 on the reply template admin; every
state-changing call without the CSRF header → 400 and nothing changed."""

import dataclasses
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from settings.model import get_settings
from support_app.app import create_app
from support_app.settings import Settings
from tests.helpers.databases import support_database

PASSWORD = "test-staff-password"
PAGES = ["/inbox", "/inbox/templates"]
READ_APIS = ["/inbox/api/queue", "/inbox/api/stream", "/inbox/api/templates", "/inbox/api/handoffs/1", "/inbox/api/handoffs/1/templates/1"]
WRITE_APIS = [
    ("POST", "/inbox/api/handoffs/1/claim", None),
    ("POST", "/inbox/api/handoffs/1/reply", {"text": "hello"}),
    ("POST", "/inbox/api/handoffs/1/transfer", {"to_agent": "agent2"}),
    ("POST", "/inbox/api/handoffs/1/close", None),
    ("POST", "/inbox/api/templates", {"name": "x", "language": "en", "text": "Hi {first_name}"}),
    ("PUT", "/inbox/api/templates/1", {"name": "x", "language": "en", "text": "Hi"}),
    ("DELETE", "/inbox/api/templates/1", None),
]
ADMIN_APIS = [call for call in WRITE_APIS if "/api/templates" in call[1]]
AGENT_WRITE_APIS = [call for call in WRITE_APIS if call not in ADMIN_APIS]
GOOD_TEMPLATE = {"name": "Greeting", "language": "tr", "text": "Merhaba {first_name}, ben {agent_name}."}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """One app (and database) per module: seeding the staff accounts hashes their passwords."""
    database = support_database(tmp_path_factory.mktemp("inbox-auth"))
    return create_app(dataclasses.replace(Settings.of(get_settings()), database_path=database, staff_demo_password=PASSWORD))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A fresh browser: its own cookies, so no login carries over between tests."""
    with TestClient(app) as test_client:
        yield test_client


def page_csrf(client: TestClient, path: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', client.get(path).text)
    assert match, path
    return match.group(1)


def log_in(client: TestClient, login: str) -> str:
    """Log in through the staff login form; returns the session's CSRF token."""
    token = page_csrf(client, "/staff/login")
    response = client.post(
        "/staff/login", data={"login": login, "password": PASSWORD, "csrf": token, "next": "/staff"}, follow_redirects=False
    )
    assert response.status_code == 303
    return token


def call(client: TestClient, method: str, path: str, body: object, csrf: str = "") -> int:
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    return client.request(method, path, json=body, headers=headers).status_code


@pytest.mark.parametrize("path", PAGES)
def test_pages_without_login_redirect_to_the_staff_login(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/login?next=" + path.replace("/", "%2F")


@pytest.mark.parametrize("path", READ_APIS)
def test_read_apis_without_login_answer_401(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 401
    assert response.json() == {"detail": "staff login required"}


@pytest.mark.parametrize(("method", "path", "body"), WRITE_APIS)
def test_write_apis_without_login_answer_401_even_with_a_csrf_header(client: TestClient, method: str, path: str, body: object) -> None:
    assert call(client, method, path, body, csrf="anything") == 401


def test_an_agent_gets_the_inbox_but_403_on_the_template_admin(client: TestClient) -> None:
    token = log_in(client, "agent1")
    page = client.get("/inbox")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    assert '<script src="/static/inbox.js" defer></script>' in page.text
    assert "/inbox/templates" not in page.text  # no admin link for an agent
    assert client.get("/inbox/templates", follow_redirects=False).status_code == 403
    for method, path, body in ADMIN_APIS:
        assert call(client, method, path, body, csrf=token) == 403, path
    assert client.get("/inbox/api/templates").status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), AGENT_WRITE_APIS)
def test_agent_calls_without_or_with_a_wrong_csrf_token_are_refused(client: TestClient, method: str, path: str, body: object) -> None:
    log_in(client, "agent1")
    assert call(client, method, path, body) == 400
    assert call(client, method, path, body, csrf="wrong-token") == 400


def test_admin_template_changes_need_csrf_and_valid_variables(client: TestClient) -> None:
    token = log_in(client, "admin")
    assert client.get("/inbox/templates").status_code == 200
    assert call(client, "POST", "/inbox/api/templates", GOOD_TEMPLATE) == 400
    bad = client.post("/inbox/api/templates", json={**GOOD_TEMPLATE, "text": "Merhaba {ad}"}, headers={"X-CSRF-Token": token})
    assert bad.status_code == 422
    assert bad.json()["detail"].startswith("field 'text': unknown variable {ad} at character 9")
    assert not [t for t in client.get("/inbox/api/templates").json()["templates"] if t["name"] == "Greeting"]  # nothing saved

    created = client.post("/inbox/api/templates", json=GOOD_TEMPLATE, headers={"X-CSRF-Token": token})
    assert created.status_code == 201
    template_id = created.json()["id"]
    changed = client.put(
        f"/inbox/api/templates/{template_id}", json={**GOOD_TEMPLATE, "text": "Selam {first_name}"}, headers={"X-CSRF-Token": token}
    )
    assert changed.status_code == 200
    [stored] = [t for t in client.get("/inbox/api/templates").json()["templates"] if t["name"] == "Greeting"]
    assert (stored["name"], stored["language"], stored["text"]) == ("Greeting", "tr", "Selam {first_name}")
    assert "Selam {first_name}" in client.get("/inbox/templates").text
    assert call(client, "DELETE", f"/inbox/api/templates/{template_id}", None) == 400
    assert call(client, "DELETE", f"/inbox/api/templates/{template_id}", None, csrf=token) == 200
    assert template_id not in [t["id"] for t in client.get("/inbox/api/templates").json()["templates"]]
