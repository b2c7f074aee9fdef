"""Staff logins for tests that drive the support app: over HTTP (staff_session) and in a browser (open_inbox)."""

import re

import requests
from selenium.common.exceptions import JavascriptException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.helpers.servers import Servers

DEMO_STAFF_PASSWORD = "demo-staff"  # the support app's demo staff accounts (STAFF_DEMO_PASSWORD's default)


def staff_session(servers: Servers, login: str, password: str = DEMO_STAFF_PASSWORD) -> requests.Session:
    """A logged-in staff HTTP session; its X-CSRF-Token header is set for API calls."""
    session = requests.Session()
    page = session.get(f"{servers.support_url}/staff/login", timeout=10).text
    found = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert found, "no CSRF token on the staff login page"
    token = found.group(1)
    response = session.post(
        f"{servers.support_url}/staff/login",
        timeout=10,
        allow_redirects=False,
        data={"login": login, "password": password, "csrf": token, "next": "/staff"},
    )
    assert response.status_code == 303
    session.headers["X-CSRF-Token"] = token
    return session


def open_inbox(
    driver: WebDriver, servers: Servers, login: str = "agent1", password: str = DEMO_STAFF_PASSWORD, timeout: float = 40
) -> None:
    """Log in through the staff login page (where /inbox sends a stranger) and land on the inbox with its live
    feed connected; then mark the page (`window.inboxNotReloaded`, `window.customerScriptRan = false`) so a test
    can tell that it was not reloaded and that no customer text ran as script."""
    driver.get(f"{servers.support_url}/inbox")
    wait = WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException, JavascriptException))
    wait.until(lambda d: d.find_element(By.ID, "login"))
    assert "/staff/login" in driver.current_url
    driver.find_element(By.ID, "login").send_keys(login)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "password").submit()
    wait.until(
        lambda d: (
            d.current_url.endswith("/inbox") and d.execute_script("return Boolean(window.DestekInbox && window.DestekInbox.connected)")
        )
    )
    driver.execute_script("window.inboxNotReloaded = true; window.customerScriptRan = false;")
