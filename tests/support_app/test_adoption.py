"""Adopting Destek by settings: DESTEK_DEMO_DATA decides whether demo customers and staff are seeded,
DESTEK_BRAND_NAME names the company in the shop and the widget (a real support app, a real SQLite file,
and the widget's title in headless Chromium)."""

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from customer_store.store import CustomerStore
from settings.model import get_settings
from support_app.app import create_app
from support_app.console.staff.accounts import StaffAccounts
from support_app.settings import Settings
from tests.conftest import ROOT
from tests.helpers.databases import support_database
from tests.helpers.servers import Servers
from tests.helpers.waiting import eventually

PASSWORD = "test-staff-password"


def settings_for(tmp_path: Path, **changes: object) -> Settings:
    return dataclasses.replace(
        Settings.of(get_settings()), database_path=support_database(tmp_path), staff_demo_password=PASSWORD, **changes
    )


def log_in(client: TestClient, path: str, login: str, password: str) -> int:
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert csrf
    response = client.post(path, data={"login": login, "password": password, "csrf": csrf.group(1)}, follow_redirects=False)
    return response.status_code


def widget_config(page: str) -> dict[str, object]:
    block = re.search(r'<script type="application/json" id="destek-config">(.*?)</script>', page, re.S)
    assert block
    config: dict[str, object] = json.loads(block.group(1))
    return config


def test_without_demo_data_no_demo_customer_shop_login_or_staff_account_exists(tmp_path: Path) -> None:
    with TestClient(create_app(settings_for(tmp_path, demo_data=False))) as client:
        assert log_in(client, "/login", "ayse", "demo") == 401
        assert log_in(client, "/staff/login", "admin", PASSWORD) != 303
        assert "ayse, john, mehmet" not in client.get("/login").text  # no hint at demo logins
    store = CustomerStore(support_database(tmp_path))
    assert store.customer("cust-ayse") is None and store.customer_for("web", "ayse") is None
    assert StaffAccounts(support_database(tmp_path)).authenticate("admin", PASSWORD) is None


def test_with_demo_data_the_demo_still_works_out_of_the_box(tmp_path: Path) -> None:
    with TestClient(create_app(settings_for(tmp_path, demo_data=True)), client=("127.0.0.1", 50000)) as client:  # on this machine
        assert "ayse, john, mehmet" in client.get("/login").text
        assert log_in(client, "/login", "ayse", "demo") == 303
        assert log_in(client, "/staff/login", "admin", PASSWORD) == 303
    assert CustomerStore(support_database(tmp_path)).customer("cust-ayse") is not None


def test_the_brand_name_is_a_setting_in_the_shop_and_the_widget_config(tmp_path: Path) -> None:
    with TestClient(create_app(settings_for(tmp_path, brand_name="Acme <b>Net</b>"))) as client:
        page = client.get("/?lang=en").text
    assert widget_config(page)["brand"] == "Acme <b>Net</b>"
    assert "<title>Acme &lt;b&gt;Net&lt;/b&gt;</title>" in page  # escaped, not markup
    assert "<b>Net</b>" not in page and "Pusula" not in page
    with TestClient(create_app(settings_for(tmp_path, brand_name=""))) as client:
        page = client.get("/").text
    assert widget_config(page)["brand"] == "" and "Pusula" not in page


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DESTEK_DEMO_DATA", "maybe", "DESTEK_DEMO_DATA: must be 1 or 0 (true/false, yes/no, on/off), not 'maybe'"),
        ("DESTEK_BRAND_NAME", "x" * 61, "DESTEK_BRAND_NAME: must be at most 60 printable characters"),
    ],
)
def test_bad_settings_stop_the_support_app_with_one_line_naming_the_setting(tmp_path: Path, name: str, value: str, message: str) -> None:
    env = {**Servers(tmp_path).env, name: value}
    result = subprocess.run(
        [sys.executable, "-m", "support_app", "--port", "1"],  # stops before it listens
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [f"support app: {message}"]


def test_the_widget_title_carries_the_brand_as_text_in_a_real_browser(tmp_path: Path, browser: WebDriver) -> None:
    servers = Servers(tmp_path)
    servers.env.update({"DESTEK_BRAND_NAME": "Acme <img src=x>", "DESTEK_DEMO_DATA": "0"})
    servers.start_support_app()  # no chat server is needed to draw the widget's panel
    try:
        browser.get(servers.support_url + "/?lang=en")
        launcher = eventually(lambda: browser.find_element(By.CSS_SELECTOR, ".destek-launcher"), "the widget's launcher")
        launcher.click()
        title = eventually(lambda: browser.find_element(By.CSS_SELECTOR, ".destek-title"), "the widget's title")
        assert title.text == "Acme <img src=x> Support"
        assert title.find_elements(By.TAG_NAME, "img") == []
        assert browser.find_element(By.ID, "destek-panel").get_attribute("aria-label") == "Acme <img src=x> Support"
        browser.get(servers.support_url + "/?lang=tr")
        eventually(lambda: browser.find_element(By.CSS_SELECTOR, ".destek-launcher"), "the widget's launcher").click()
        assert eventually(lambda: browser.find_element(By.CSS_SELECTOR, ".destek-title").text, "the title") == "Acme <img src=x> Destek"
    finally:
        servers.stop_support_app()
