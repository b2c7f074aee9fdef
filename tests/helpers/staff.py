"""Staff logins for tests that drive the support app over HTTP."""

import re

import requests

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
