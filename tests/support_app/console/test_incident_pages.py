"""The incidents page and JSON API in-process (FastAPI's test client over a real SQLite file):
who may call it, bad input as one line with nothing changed, and the page's forms."""

import dataclasses
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from incidents.store import IncidentStore
from settings.model import get_settings
from storage.database import Database
from support_app.app import create_app
from support_app.settings import Settings

PASSWORD = "test-staff-password"
OPS_TOKEN = "test-ops-api-token"
GOOD = {
    "service": "internet",
    "regions": ["Istanbul-Kadikoy"],
    "eta": "+2h",
    "message_tr": "Kadıköy'de fiber arızası var.",
    "message_en": "There is a fibre fault in Kadikoy.",
}


@pytest.fixture
def settings(database: Database, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The support app in process, on SQLite and on PostgreSQL (tests/helpers/databases.py)."""
    monkeypatch.setenv("OPS_API_TOKEN", OPS_TOKEN)
    return dataclasses.replace(Settings.of(get_settings()), database_path=database, staff_demo_password=PASSWORD)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def csrf(client: TestClient, path: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert match
    return match.group(1)


def log_in(client: TestClient, login: str) -> None:
    response = client.post(
        "/staff/login",
        data={"login": login, "password": PASSWORD, "csrf": csrf(client, "/staff/login"), "next": "/staff"},
        follow_redirects=False,
    )
    assert response.status_code == 303


BEARER = {"Authorization": f"Bearer {OPS_TOKEN}"}


def test_api_needs_the_token_or_an_operations_login(client: TestClient) -> None:
    assert client.get("/api/incidents").status_code == 401
    assert client.get("/api/incidents", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.post("/api/incidents", json=GOOD).status_code == 401
    log_in(client, "agent1")
    assert client.get("/api/incidents").status_code == 403
    assert client.get("/incidents").status_code == 403
    log_in(client, "ops")
    token = csrf(client, "/incidents")
    assert client.post("/api/incidents", json=GOOD).status_code == 400  # a staff POST without the CSRF header
    created = client.post("/api/incidents", json=GOOD, headers={"X-CSRF-Token": token})
    assert created.status_code == 200 and created.json()["opened_by"] == "ops"


def test_api_open_update_list_with_the_token(client: TestClient, settings: Settings) -> None:
    created = client.post("/api/incidents", json=GOOD, headers=BEARER).json()
    assert created["status"] == "open" and created["contact_count"] == 0 and created["opened_by"] == "token"
    updated = client.post(f"/api/incidents/{created['id']}/eta", json={"eta": "2099-05-01T12:00"}, headers=BEARER)
    assert updated.status_code == 200 and updated.json()["eta"] > created["eta"]
    listed = client.get("/api/incidents?status=open", headers=BEARER).json()["incidents"]
    assert [incident["id"] for incident in listed] == [created["id"]]
    assert IncidentStore(settings.database_path).open_incident_for("istanbul-kadıköy", "internet").id == created["id"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"service": "gas"}, "field 'service': 'gas' is not one of internet, tv, mobile"),
        ({"regions": []}, "field 'regions': give at least one affected region"),
        ({"regions": 5}, "field 'regions': give a list of region names or a comma-separated string"),
        ({"eta": "soon"}, "field 'eta': 'soon' is not a time (use e.g. 2026-11-23T18:30 or +2h)"),
        ({"eta": None}, "field 'eta': give Unix seconds, an ISO 8601 time or +2h"),
        ({"message_en": ""}, "field 'message_en': the customer message is empty"),
        ({"message_tr": None}, "field 'message_tr': missing"),
    ],
)
def test_api_bad_input_is_one_line_and_changes_nothing(client: TestClient, settings: Settings, change: dict, message: str) -> None:
    body = {**GOOD, **change}
    if change.get("message_tr", "") is None:
        body.pop("message_tr")
    response = client.post("/api/incidents", json=body, headers=BEARER)
    assert response.status_code == 400
    assert response.json() == {"error": message}
    assert IncidentStore(settings.database_path).list() == []


def test_api_refuses_changes_to_unknown_or_resolved_incidents(client: TestClient, settings: Settings) -> None:
    assert client.post("/api/incidents/99/eta", json={"eta": "+1h"}, headers=BEARER).json() == {"error": "no incident with id 99"}
    assert client.post("/api/incidents/99/resolve", headers=BEARER).json() == {"error": "no incident with id 99"}
    response = client.post("/api/incidents", content=b"{not json", headers={**BEARER, "Content-Type": "application/json"})
    assert response.status_code == 400 and response.json() == {"detail": "the body is not JSON"}


def test_page_opens_and_updates_an_incident_and_shows_errors(client: TestClient, settings: Settings) -> None:
    assert client.get("/incidents", follow_redirects=False).headers["location"].startswith("/staff/login")
    log_in(client, "ops")
    token = csrf(client, "/incidents")
    form = {
        "service": "tv",
        "regions": "Ankara-Cankaya",
        "eta": "2099-01-01T10:00",
        "message_tr": "TV yayınında arıza.",
        "message_en": "A TV broadcast fault.",
        "csrf": token,
    }
    bad = client.post("/incidents", data={**form, "eta": ""})
    assert bad.status_code == 400 and "field &#39;eta&#39;" in bad.text
    assert IncidentStore(settings.database_path).list() == []
    assert client.post("/incidents", data={**form, "csrf": "forged"}).status_code == 400
    done = client.post("/incidents", data=form)
    assert done.status_code == 200 and "Incident opened." in done.text
    [incident] = IncidentStore(settings.database_path).list()
    assert incident.service == "tv" and incident.opened_by == "ops"
    assert client.post(f"/incidents/{incident.id}/eta", data={"eta": "2099-01-02T10:00", "csrf": token}).status_code == 200
    assert "2099-01-02 10:00" in client.get("/incidents").text
