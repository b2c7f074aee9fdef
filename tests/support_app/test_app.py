"""The support app in-process (FastAPI's test client): pages, login, cart, and web chat tokens."""

import dataclasses
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from connectors.webchat_token import verify_token
from settings.model import get_settings
from support_app.app import create_app
from support_app.settings import Settings
from tests.helpers.databases import query, support_database

SECRET = "test-webchat-secret-0123456789abcdefgh"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return dataclasses.replace(
        Settings.of(get_settings()),
        database_path=support_database(tmp_path),
        webchat_jwt_secret=SECRET,
        webchat_server_url="http://127.0.0.1:5005",
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    # from this machine: the demo customers' published password "demo" logs in only from here
    with TestClient(create_app(settings), client=("127.0.0.1", 50000)) as test_client:
        yield test_client


def csrf(client: TestClient, path: str = "/") -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert match
    return match.group(1)


def token_sub(client: TestClient) -> str:
    return verify_token(client.get("/api/webchat/token").json()["token"], SECRET).sub


@pytest.mark.parametrize("path", ["/", "/cart", "/checkout", "/login"])
def test_every_page_embeds_the_widget_under_a_content_security_policy(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.text.count("<script") == 2  # the config data block and the widget
    assert '<script src="/static/destek-widget.js" defer></script>' in response.text
    assert '"tokenUrl": "/api/webchat/token"' in response.text
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "connect-src 'self' http://127.0.0.1:5005 ws://127.0.0.1:5005;" in policy
    assert "unsafe-inline" not in policy


def test_health(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_a_visitor_keeps_one_anonymous_subject_across_reloads(client: TestClient, settings: Settings) -> None:
    body = client.get("/api/webchat/token").json()
    assert body["sub"].startswith("anon-") and client.get("/api/webchat/token").json()["sub"] == body["sub"]
    claims = verify_token(body["token"], SECRET)
    assert claims.customer_id is None and claims.sender_id == f"web:{body['sub']}"
    assert body["expires_at"] == claims.expires_at
    assert 0 < claims.expires_at - time.time() <= settings.webchat_token_ttl
    with TestClient(create_app(settings)) as other_visitor:
        assert token_sub(other_visitor) != body["sub"]


def test_login_binds_the_token_to_the_customer_and_logout_unbinds_it(client: TestClient) -> None:
    anonymous = token_sub(client)
    response = client.post("/login", data={"login": "ayse", "password": "demo", "csrf": csrf(client, "/login")}, follow_redirects=False)
    assert response.status_code == 303
    assert token_sub(client) == "cust-ayse"
    assert "Ayşe Yılmaz" in client.get("/").text
    client.post("/logout", data={"csrf": csrf(client)})
    assert token_sub(client) not in ("cust-ayse", anonymous)


def test_a_wrong_password_is_refused(client: TestClient) -> None:
    for name, password in (("ayse", "wrong"), ("nobody", "demo")):
        response = client.post("/login", data={"login": name, "password": password, "csrf": csrf(client, "/login")})
        assert response.status_code == 401
        assert "Kullanıcı adı veya şifre hatalı." in response.text
        assert token_sub(client).startswith("anon-")


def test_passwords_are_stored_hashed(client: TestClient, settings: Settings) -> None:
    hashes = [row[0] for row in query(settings.database_path, "SELECT password_hash FROM web_accounts")]
    assert len(hashes) == 3 and all(h.startswith("scrypt$") and "demo" not in h for h in hashes)


def test_cart_and_checkout_show_the_summary_in_lira(client: TestClient) -> None:
    token = csrf(client)
    for product in ("mesh-kit", "ethernet-cable", "ethernet-cable"):
        client.post("/cart/add", data={"product_id": product, "csrf": token})
    page = client.get("/checkout").text
    assert "Mesh Wi-Fi Seti (2&#39;li)" in page and "299,00 TL" in page and "3.498,00 TL" in page
    assert "Ödemeye" not in page and 'action="/checkout"' in page
    assert "Your order was received" in client.post("/checkout?lang=en", data={"csrf": token}).text
    assert "Your cart is empty." in client.get("/cart").text


@pytest.mark.parametrize(
    ("path", "data", "reason"),
    [
        ("/cart/add", {"product_id": "mesh-kit"}, "missing or wrong CSRF token"),
        ("/cart/add", {"product_id": "no-such-thing", "csrf": None}, "unknown product 'no-such-thing'"),
        ("/checkout", {"csrf": None}, "the cart is empty"),
    ],
)
def test_bad_requests_get_a_400_with_the_reason(client: TestClient, path: str, data: dict, reason: str) -> None:
    token = csrf(client)
    response = client.post(path, data={key: token if value is None else value for key, value in data.items()})
    assert response.status_code == 400
    assert reason in response.json()["detail"]


def test_the_page_language_follows_the_customer_and_the_switch(client: TestClient) -> None:
    client.post("/login", data={"login": "john", "password": "demo", "csrf": csrf(client, "/login")})
    assert '<html lang="en">' in client.get("/").text
    assert client.get("/api/webchat/token").json()["language"] == "en"
    assert '<html lang="tr">' in client.get("/?lang=tr").text
    assert '"language": "tr"' in client.get("/cart").text
