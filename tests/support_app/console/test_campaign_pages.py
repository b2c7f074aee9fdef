"""/campaigns for marketing: logins and roles, CSRF, create from a segment or a CSV upload
(a malformed CSV stores nothing and names line and field), preview, pause/resume/cancel — in
process over a real SQLite file, and once in real headless Chromium against the real app."""

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from campaigns.store import CampaignStore
from customer_store.store import CustomerStore
from settings.model import get_settings
from storage.database import Database, transaction
from support_app.app import create_app
from support_app.settings import Settings
from tests.helpers.browser import chromium
from tests.helpers.servers import Servers

PASSWORD = "test-staff-password"
FORM = {
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
def client(database: Database) -> Iterator[TestClient]:
    """The support app in process, on SQLite and on PostgreSQL (tests/helpers/databases.py)."""
    settings = dataclasses.replace(Settings.of(get_settings()), database_path=database, staff_demo_password=PASSWORD)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def csrf(client: TestClient, path: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert match, path
    return match.group(1)


def log_in(client: TestClient, login: str) -> None:
    response = client.post(
        "/staff/login",
        data={"login": login, "password": PASSWORD, "csrf": csrf(client, "/staff/login"), "next": "/campaigns"},
        follow_redirects=False,
    )
    assert response.status_code == 303


def store_of(client: TestClient) -> CampaignStore:
    return CampaignStore(client.app.state.settings.database_path)  # type: ignore[attr-defined]


def test_only_marketing_and_admin_may_use_campaigns(client: TestClient) -> None:
    assert client.get("/campaigns", follow_redirects=False).status_code == 303
    assert client.get("/api/campaigns").status_code == 401
    log_in(client, "agent1")
    assert client.get("/campaigns").status_code == 403 and client.get("/api/campaigns").status_code == 403
    log_in(client, "marketing")
    assert client.get("/campaigns").status_code == 200 and client.get("/api/campaigns").json() == {"campaigns": []}


def test_create_from_a_segment_then_pause_resume_cancel(client: TestClient) -> None:
    log_in(client, "marketing")
    assert client.post("/campaigns", data={**FORM, "csrf": "forged", "action": "create"}).status_code == 400
    preview = client.post("/campaigns", data={**FORM, "csrf": csrf(client, "/campaigns"), "action": "preview"})
    assert preview.status_code == 200 and "Merhaba Ayşe, indirim başladı!" in preview.text and store_of(client).campaigns() == []
    created = client.post("/campaigns", data={**FORM, "csrf": csrf(client, "/campaigns"), "action": "create"}, follow_redirects=False)
    assert created.status_code == 303
    campaign_id = int(created.headers["location"].rsplit("/", 1)[1])
    detail = client.get(f"/campaigns/{campaign_id}").text
    assert 'data-stat="targeted">3<' in detail and "Hi Ayşe, the sale is on!" in detail
    token = csrf(client, f"/campaigns/{campaign_id}")
    for verb, status in (("pause", "paused"), ("resume", "scheduled"), ("cancel", "canceled")):
        response = client.post(f"/campaigns/{campaign_id}/{verb}", data={"csrf": token})
        assert response.status_code == 200 and store_of(client).campaign(campaign_id)["status"] == status
    again = client.post(f"/campaigns/{campaign_id}/resume", data={"csrf": token})
    assert again.status_code == 400 and "cannot resume" in again.text
    assert client.get(f"/api/campaigns/{campaign_id}").json()["stats"]["canceled"] == 3


def test_a_malformed_csv_is_refused_with_line_and_field_and_nothing_is_stored(client: TestClient) -> None:
    log_in(client, "marketing")
    bad = "phone,name,language\n+905551110001,Ayşe,tr\n+905551110002,John,en\n+90 555,Ali,tr\n+905551110003,Mehmet,de\n"
    response = client.post(
        "/campaigns",
        data={**FORM, "audience": "csv", "csrf": csrf(client, "/campaigns"), "action": "create"},
        files={"csv": ("list.csv", bad.encode(), "text/csv")},
    )
    assert response.status_code == 400
    assert "line 4, field phone: &#39;+90 555&#39; is not an E.164 number" in response.text
    assert "line 5, field language: &#39;de&#39; is not one of tr, en" in response.text
    assert store_of(client).campaigns() == []
    with transaction(client.app.state.settings.database_path) as db:  # type: ignore[attr-defined]
        assert db.execute("SELECT count(*) FROM campaign_recipients").fetchone()[0] == 0


def test_browser_csv_upload_shows_customer_names_as_inert_text(tmp_path: Path) -> None:
    """Real Chromium, real support app process: log in, upload a CSV whose name is markup, create."""
    servers = Servers(tmp_path)
    servers.env["STAFF_DEMO_PASSWORD"] = PASSWORD
    CustomerStore(servers.database).seed_demo_customers()
    csv_file = tmp_path / "list.csv"
    csv_file.write_text("phone,name\n+905551110009,\"<img src=x onerror=document.title='pwned'>\"\n+905551110001,Ayşe\n", encoding="utf-8")
    servers.start_support_app()
    try:
        with chromium() as browser:
            browser.get(f"{servers.support_url}/campaigns")
            browser.find_element(By.NAME, "login").send_keys("marketing")
            browser.find_element(By.NAME, "password").send_keys(PASSWORD)
            browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
            WebDriverWait(browser, 30).until(lambda driver: driver.find_elements(By.ID, "campaign-list"))
            browser.find_element(By.NAME, "name").send_keys("CSV kampanyası")
            browser.find_element(By.NAME, "message_tr").send_keys("Merhaba {name}!")
            browser.find_element(By.NAME, "send_at").clear()
            browser.find_element(By.NAME, "send_at").send_keys("2030-06-01 10:00")
            browser.find_element(By.CSS_SELECTOR, "input[name=audience][value=csv]").click()
            browser.find_element(By.NAME, "csv").send_keys(str(csv_file))
            browser.find_element(By.CSS_SELECTOR, "button[value=create]").click()
            WebDriverWait(browser, 30).until(lambda driver: driver.find_elements(By.ID, "send-log"))
            assert re.search(r"/campaigns/\d+$", browser.current_url), browser.current_url
            log = browser.find_element(By.ID, "send-log").text
            assert "<img src=x onerror=document.title='pwned'>" in log
            assert browser.find_elements(By.CSS_SELECTOR, "#send-log img") == [] and browser.title != "pwned"
            assert browser.find_element(By.CSS_SELECTOR, "[data-stat=targeted]").text == "2"
    finally:
        servers.stop_support_app()
