"""Bad input to the staff pages and APIs, sent as an attacker (or a careless tool) would: each
gets a one-line 400 naming the field, nothing is stored, and every page still loads for
everyone afterwards. Stored rows with missing or impossible values never break a page.
In process (FastAPI's test client) over a real SQLite file, as tests/test_incident_api.py."""

import dataclasses
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from campaigns.store import CampaignStore
from feedback.records import Records
from incidents.store import IncidentStore
from incidents.times import eta_text
from settings.model import get_settings
from support_app.app import create_app
from support_app.console import review
from support_app.input_guard import MAX_BODY_BYTES
from support_app.settings import Settings
from tests.helpers.databases import execute, support_database

PASSWORD = "test-staff-password"
OPS_TOKEN = "test-ops-api-token"
BEARER = {"Authorization": f"Bearer {OPS_TOKEN}"}
INCIDENT = {
    "service": "internet",
    "regions": ["Istanbul-Kadikoy"],
    "eta": "+2h",
    "message_tr": "Kadıköy'de fiber arızası var.",
    "message_en": "There is a fibre fault in Kadikoy.",
}
CAMPAIGN = {
    "name": "Yaz indirimi",
    "kind": "announcement",
    "purpose": "marketing",
    "channel": "whatsapp",
    "message_tr": "Merhaba {first_name}, indirim başladı!",
    "message_en": "Hi {first_name}, the sale is on!",
    "audience": "segment",
    "send_at": "2030-06-01 10:00",
    "timezone": "Europe/Istanbul",
    "rate": "5",
}


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("OPS_API_TOKEN", OPS_TOKEN)
    monkeypatch.setenv("RASA_TRACKER_DB", str(tmp_path / "no-tracker.sqlite3"))
    monkeypatch.setenv("DESTEK_EMBEDDING_MODEL", "none")  # the gap report's grouping, without loading a model
    review._encoder.cache_clear()
    return dataclasses.replace(Settings.of(get_settings()), database_path=support_database(tmp_path), staff_demo_password=PASSWORD)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client
    review._encoder.cache_clear()


def csrf(client: TestClient, path: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert match, path
    return match.group(1)


def log_in(client: TestClient, login: str) -> str:
    response = client.post(
        "/staff/login",
        data={"login": login, "password": PASSWORD, "csrf": csrf(client, "/staff/login"), "next": "/staff"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    return csrf(client, "/staff")


def one_line(text: str) -> str:
    assert text.count("\n") <= 1, text
    return text.strip()


@pytest.mark.parametrize("raw_eta", [b"NaN", b"Infinity", b"-Infinity", b"1e309"])
def test_non_finite_eta_is_refused_and_the_pages_still_load(client: TestClient, settings: Settings, raw_eta: bytes) -> None:
    body = b'{"service": "internet", "regions": ["Kadikoy"], "eta": ' + raw_eta + b', "message_tr": "a", "message_en": "b"}'
    response = client.post("/api/incidents", content=body, headers={**BEARER, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("field 'eta': ") and "finite" in response.json()["detail"]
    created = client.post("/api/incidents", json=INCIDENT, headers=BEARER).json()
    update = client.post(
        f"/api/incidents/{created['id']}/eta", content=b'{"eta": ' + raw_eta + b"}", headers={**BEARER, "Content-Type": "application/json"}
    )
    assert update.status_code == 400
    [stored] = IncidentStore(settings.database_path).list()
    assert stored.eta == created["eta"]  # the refused update changed nothing
    assert client.get("/api/incidents", headers=BEARER).status_code == 200
    log_in(client, "ops")
    assert client.get("/incidents").status_code == 200


@pytest.mark.parametrize("eta", ["+99999d", "9999-12-31T23:59", "1969-07-20T20:17"])
def test_times_out_of_range_are_refused_on_the_api_and_the_page(client: TestClient, settings: Settings, eta: str) -> None:
    response = client.post("/api/incidents", json={**INCIDENT, "eta": eta}, headers=BEARER)
    assert response.status_code == 400 and response.json()["error"].startswith("field 'eta': ")
    numeric = client.post("/api/incidents", json={**INCIDENT, "eta": 253402300799}, headers=BEARER)  # 9999-12-31 as Unix seconds
    assert numeric.status_code == 400 and "between 2000-01-01 and 2100-01-01" in numeric.json()["error"]
    log_in(client, "ops")
    form = {
        "service": "tv",
        "regions": "Ankara",
        "eta": eta,
        "message_tr": "arıza",
        "message_en": "fault",
        "csrf": csrf(client, "/incidents"),
    }
    page = client.post("/incidents", data=form)
    assert page.status_code == 400 and "field &#39;eta&#39;" in page.text
    assert IncidentStore(settings.database_path).list() == []
    assert client.get("/incidents").status_code == 200


def test_incidents_with_impossible_stored_times_do_not_break_the_page(client: TestClient, settings: Settings) -> None:
    created = client.post("/api/incidents", json=INCIDENT, headers=BEARER).json()
    # as an older version, or a hand edit, may have left them
    execute(settings.database_path, "UPDATE incidents SET eta = ?, started_at = ? WHERE id = ?", float("inf"), -1e300, created["id"])
    listed = client.get("/api/incidents", headers=BEARER)
    assert listed.status_code == 200 and listed.json()["incidents"][0]["eta"] is None
    log_in(client, "ops")
    page = client.get("/incidents")
    assert page.status_code == 200 and "invalid" in page.text


@pytest.mark.parametrize("query", ["to=9999-12-31", "from=0001-01-01", "from=9999-12-30&to=9999-12-31"])
def test_dashboard_dates_out_of_range_are_a_400_and_the_dashboard_still_loads(client: TestClient, query: str) -> None:
    log_in(client, "agent1")
    response = client.get(f"/dashboard?{query}")
    assert response.status_code == 400
    assert re.search(r"(from|to): \d{4}-\d{2}-\d{2} is not between 2000-01-01 and 2099-12-31", response.text)
    assert client.get("/dashboard").status_code == 200


def test_a_nul_in_a_campaign_csv_name_is_refused_and_nothing_is_stored(client: TestClient, settings: Settings) -> None:
    log_in(client, "marketing")
    token = csrf(client, "/campaigns")
    bad = "phone,name\n+905551110001,Ayşe\n+905551110002,Meh\x00met\n".encode()
    response = client.post(
        "/campaigns", data={**CAMPAIGN, "audience": "csv", "csrf": token, "action": "create"}, files={"csv": ("list.csv", bad, "text/csv")}
    )
    assert response.status_code == 400
    assert "line 3, field name: NUL at character 4 is not allowed" in response.text
    escape = "phone,name\n+905551110001,Ay\x1b[31mşe\n".encode()
    response = client.post(
        "/campaigns",
        data={**CAMPAIGN, "audience": "csv", "csrf": token, "action": "create"},
        files={"csv": ("list.csv", escape, "text/csv")},
    )
    assert response.status_code == 400 and "line 2, field name: control character U+001B" in response.text
    assert CampaignStore(settings.database_path).campaigns() == []
    assert client.get("/campaigns").status_code == 200


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "Yaz\x00indirimi", "field 'name': NUL at character 4 is not allowed"),
        ("message_tr", "Merhaba\x07 {first_name}", "field 'message_tr': control character U+0007 at character 8 is not allowed"),
        ("name", "x" * 201, "field 'name': at most 200 characters, not 201"),
        ("send_at", "9999-12-31 23:59", "field 'send_at': "),
        ("active_within_days", "nan", "field active_within_days: nan is not between 0 and 3650 days"),
        ("region", "Istanbul\x00-*", "field 'region': NUL at character 9 is not allowed"),
    ],
)
def test_bad_campaign_fields_are_refused_and_nothing_is_stored(
    client: TestClient, settings: Settings, field: str, value: str, message: str
) -> None:
    log_in(client, "marketing")
    response = client.post("/campaigns", data={**CAMPAIGN, field: value, "csrf": csrf(client, "/campaigns"), "action": "create"})
    assert response.status_code == 400
    assert message.replace("'", "&#39;") in response.text or message in response.text
    assert CampaignStore(settings.database_path).campaigns() == []
    assert client.get("/campaigns").status_code == 200


def test_nul_and_control_characters_in_apis_and_query_strings_are_one_line_400s(client: TestClient) -> None:
    token = log_in(client, "admin")
    headers = {"X-CSRF-Token": token}
    template = {"name": "Selam\x00", "language": "tr", "text": "Merhaba {first_name}"}
    response = client.post("/inbox/api/templates", json=template, headers=headers)
    assert response.status_code == 400 and response.json() == {"detail": "field 'name': NUL at character 6 is not allowed"}
    response = client.post("/inbox/api/templates", json={**template, "name": "Selam", "text": "Merhaba\x1b[2J"}, headers=headers)
    assert response.status_code == 400 and response.json()["detail"].startswith("field 'text': control character U+001B")
    assert client.get("/inbox/api/templates").json()["templates"] == []
    response = client.get("/review/gaps?language=tr%00")
    assert response.status_code == 400 and one_line(response.text) == "field 'language': NUL at character 3 is not allowed"
    missing = client.post("/inbox/api/templates", json={"name": "Selam", "language": "tr"}, headers=headers)
    assert missing.status_code == 400 and missing.json() == {"detail": "field 'text': Field required"}


def test_an_oversized_body_is_refused_before_it_is_parsed(client: TestClient) -> None:
    log_in(client, "marketing")
    response = client.post("/campaigns", content=b"x" * (MAX_BODY_BYTES + 1), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413


def test_review_message_times_must_be_finite(client: TestClient) -> None:
    token = log_in(client, "agent1")
    for value in ("nan", "inf"):
        response = client.post(
            "/review/needs-article",
            data={"sender_id": "web:x", "message_at": value, "language": "en", "csrf": token},
            follow_redirects=False,
        )
        assert response.status_code == 400 and "field 'message_at'" in response.text


def test_a_thumbs_down_on_a_question_of_no_language_does_not_break_the_gap_report(client: TestClient, settings: Settings) -> None:
    records = Records(settings.database_path)
    now = time.time()
    records.add_answer_served("web:a", "12345 ???", None, "track-tr", 0.4)
    records.add_feedback("web:a", "12345 ???", "track-tr", 0.4, helpful=False)  # no word to tell the language by
    records.add_feedback("web:b", "kargom nerede kaldı", "track-tr", 0.5, helpful=False)
    records.add_unanswered("web:c", "where is my parcel", "en", None, 0.1)
    assert Records(settings.database_path).rows("answer_feedback")[0]["created_at"] >= now
    log_in(client, "agent1")
    page = client.get("/review/gaps")
    assert page.status_code == 200 and "12345 ???" in page.text and "unknown" in page.text
    groups = client.get("/review/gaps.csv")
    assert groups.status_code == 200 and "unknown" in groups.text
    articles = client.get("/review/articles.csv")
    assert articles.status_code == 200 and "track-tr" in articles.text


def test_a_campaign_recipient_with_an_impossible_due_time_does_not_break_the_campaign_page(client: TestClient, settings: Settings) -> None:
    log_in(client, "marketing")
    created = client.post("/campaigns", data={**CAMPAIGN, "csrf": csrf(client, "/campaigns"), "action": "create"}, follow_redirects=False)
    assert created.status_code == 303
    campaign_id = int(created.headers["location"].rsplit("/", 1)[1])
    assert execute(settings.database_path, "UPDATE campaign_recipients SET due_at = ? WHERE campaign_id = ?", float("inf"), campaign_id)
    page = client.get(f"/campaigns/{campaign_id}")
    assert page.status_code == 200 and "invalid" in page.text


def test_an_impossible_stored_eta_still_gives_the_customer_a_sentence() -> None:
    assert eta_text(float("inf"), "en", "Europe/Istanbul") == "not known yet"
    assert eta_text(float("nan"), "tr", None) == "henüz belli değil"
    assert eta_text(1e300, "tr", "Pacific/Kiritimati") == "henüz belli değil"
    assert eta_text(1795000000.0, "en", "Europe/Istanbul").endswith("2026")
