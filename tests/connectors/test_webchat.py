"""The web chat end to end: the demo shop in real headless Chromium, the widget, the real Rasa
server with the web chat channel and the real action server; and the channel's token binding
checked with a real socket.io client.

Needs `make train index` first (make test does) and Chromium (.ci/run installs it).
"""

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
import socketio
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from connectors.webchat_token import AUDIENCE, ISSUER, issue_token
from customer_store.store import CustomerStore
from tests.helpers.databases import query
from tests.helpers.servers import MODEL, Servers, running_servers

pytestmark = pytest.mark.skipif(not MODEL.exists(), reason="no trained model: run `make train index` (make test does)")

TRACKING_QUESTION = "kargom nerede, takip numarasını nereden görürüm"
TRACKING_URL = "https://yardim.pusula.example/tr/order-tracking"
WAIT = 30


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    with running_servers(tmp_path_factory.mktemp("webchat"), support_app=True) as running:
        yield running


# --- browser helpers -------------------------------------------------------------------------


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], Any], timeout: float = WAIT) -> Any:
    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)


def open_widget(driver: WebDriver, url: str) -> None:
    driver.get(url)
    launcher = wait_for(driver, lambda d: d.find_element(By.CSS_SELECTOR, ".destek-launcher"))
    launcher.click()
    wait_for(driver, lambda d: d.find_element(By.ID, "destek-panel").is_displayed())
    wait_for(driver, lambda d: d.execute_script("return Boolean(window.DestekWidget.socket && window.DestekWidget.socket.connected)"))


def bot_texts(driver: WebDriver) -> list[str]:
    return [item.text for item in driver.find_elements(By.CSS_SELECTOR, ".destek-bot .destek-text")]


def user_texts(driver: WebDriver) -> list[str]:
    return [item.text for item in driver.find_elements(By.CSS_SELECTOR, ".destek-user .destek-text")]


def ask(driver: WebDriver, text: str, expect: Callable[[WebDriver], Any]) -> Any:
    field = driver.find_element(By.ID, "destek-input")
    field.send_keys(text)
    field.submit()
    return wait_for(driver, expect)


def widget_sub(driver: WebDriver) -> str:
    return str(driver.execute_script("return window.DestekWidget.tokenInfo.sub"))


def login(driver: WebDriver, base_url: str, name: str) -> None:
    driver.get(f"{base_url}/login")
    driver.find_element(By.ID, "login").send_keys(name)
    driver.find_element(By.ID, "password").send_keys("demo")
    driver.find_element(By.ID, "password").submit()
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "header .who"))


def user_events(servers: Servers, sender: str) -> list[dict[str, Any]]:
    return [event for event in servers.tracker(sender)["events"] if event["event"] == "user"]


# --- browser tests ---------------------------------------------------------------------------


def test_widget_answers_in_turkish_with_link_records_thumbs_up_and_survives_reload(servers: Servers, browser: WebDriver) -> None:
    open_widget(browser, servers.support_url + "/")
    assert browser.find_element(By.CSS_SELECTOR, "label[for='destek-input']").get_attribute("textContent") == "Mesajınız"
    assert browser.find_element(By.CSS_SELECTOR, ".destek-log").get_attribute("aria-live") == "polite"

    link = ask(browser, TRACKING_QUESTION, lambda d: d.find_element(By.CSS_SELECTOR, f".destek-bot a[href='{TRACKING_URL}']"))
    assert link.get_attribute("rel") == "noopener noreferrer"
    thumbs_up = wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".destek-reply[data-payload='/answer_helpful']"))
    assert thumbs_up.get_attribute("aria-label") == "Evet, yanıt işime yaradı"
    thumbs_up.click()
    wait_for(browser, lambda d: any("sevindim" in text for text in bot_texts(d)))

    sender = f"web:{widget_sub(browser)}"
    assert sender.startswith("web:anon-")
    rows = query(servers.database, "SELECT query, article_id, helpful FROM answer_feedback WHERE sender_id = ?", sender)
    assert rows == [(TRACKING_QUESTION, "order-tracking-tr", 1)]

    before_reload = bot_texts(browser)
    browser.refresh()
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".destek-msg"))
    assert widget_sub(browser) == sender.removeprefix("web:")  # the same conversation on the server
    log_text = browser.find_element(By.CSS_SELECTOR, ".destek-log").get_attribute("textContent")
    assert TRACKING_QUESTION in log_text and TRACKING_URL in log_text
    assert [
        item.get_attribute("textContent") for item in browser.find_elements(By.CSS_SELECTOR, ".destek-bot .destek-text")
    ] == before_reload
    assert browser.find_elements(By.CSS_SELECTOR, f".destek-bot a[href='{TRACKING_URL}']")
    assert [event["text"] for event in user_events(servers, sender)] == [TRACKING_QUESTION, "/answer_helpful"]


def test_widget_reconnects_after_a_dropped_connection_in_the_same_conversation(servers: Servers, browser: WebDriver) -> None:
    open_widget(browser, servers.support_url + "/")
    ask(browser, "merhaba", lambda d: len(bot_texts(d)) >= 2)
    sender = f"web:{widget_sub(browser)}"
    browser.execute_script("window.DestekWidget.socket.io.engine.close()")  # the transport drops
    wait_for(browser, lambda d: not d.execute_script("return window.DestekWidget.socket.connected"))
    answered = len(bot_texts(browser))
    ask(browser, TRACKING_QUESTION, lambda d: d.find_elements(By.CSS_SELECTOR, f".destek-bot a[href='{TRACKING_URL}']"))
    assert len(bot_texts(browser)) > answered
    assert browser.execute_script("return window.DestekWidget.socket.connected")
    assert [event["text"] for event in user_events(servers, sender)] == ["merhaba", TRACKING_QUESTION]


def test_customer_markup_and_script_links_render_as_inert_text(servers: Servers, browser: WebDriver) -> None:
    open_widget(browser, servers.support_url + "/")
    attacks = ["<img src=x onerror=alert(1)>", "javascript:alert(1) <b>bold</b>"]
    for attack in attacks:
        ask(
            browser,
            attack,
            lambda d, attack=attack: attack in user_texts(d) and not d.execute_script("return !window.DestekWidget.typing.hidden"),
        )
    widget = browser.find_element(By.CSS_SELECTOR, ".destek-widget")
    assert widget.find_elements(By.CSS_SELECTOR, "img, b, script") == []
    assert all(a.get_attribute("href").startswith(("http://", "https://")) for a in widget.find_elements(By.TAG_NAME, "a"))
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - reading it is the check
    browser.refresh()  # the stored transcript is rendered as text too
    wait_for(
        browser,
        lambda d: attacks[0] in [m.get_attribute("textContent") for m in d.find_elements(By.CSS_SELECTOR, ".destek-user .destek-text")],
    )
    assert browser.find_element(By.CSS_SELECTOR, ".destek-widget").find_elements(By.CSS_SELECTOR, "img, b, script") == []


def test_logged_in_customer_chat_is_bound_to_the_customer_and_in_their_language(servers: Servers, browser: WebDriver) -> None:
    login(browser, servers.support_url, "john")
    open_widget(browser, servers.support_url + "/checkout")
    assert widget_sub(browser) == "cust-john"
    assert browser.find_element(By.CSS_SELECTOR, ".destek-title").text == "Pusula Support"
    ask(browser, "hello there", lambda d: len(bot_texts(d)) >= 2)
    [event] = user_events(servers, "web:cust-john")
    assert event["metadata"]["channel"] == "web"
    assert event["metadata"]["customer_id"] == "cust-john"
    assert event["metadata"]["page"] == "/checkout"
    conversations = CustomerStore(servers.database).conversations("cust-john")
    assert [(c["channel"], c["sender_id"]) for c in conversations] == [("web", "web:cust-john")]


# --- the channel's token binding, with a real socket.io client -------------------------------


class Chat:
    """One socket.io connection to the web chat channel, collecting what the server sends."""

    def __init__(self, servers: Servers, token: str | None, origin: str | None = None) -> None:
        self.servers = servers
        self.token = token
        self.origin = origin or servers.support_url
        self.client = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self.refused: list[Any] = []
        self.client.on("*", self._collect)
        self.client.on("connect_error", self.refused.append)

    async def _collect(self, event: str, data: Any = None) -> None:
        self.events.append((event, data))

    async def connect(self) -> None:
        await self.client.connect(
            self.servers.rasa_url,
            auth={"token": self.token} if self.token is not None else None,
            transports=["websocket"],
            headers={"Origin": self.origin},
            wait_timeout=10,
        )

    async def say(self, payload: dict[str, Any]) -> None:
        """Send a message and wait until the bot has finished answering it."""
        done = len([e for e in self.events if e == ("bot_typing", {"typing": False})])
        await self.client.emit("user_uttered", payload)
        for _ in range(int(WAIT / 0.1)):
            if len([e for e in self.events if e == ("bot_typing", {"typing": False})]) > done:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"no answer to {payload}")


def token_for(servers: Servers, sub: str, ttl: int = 600) -> str:
    return issue_token(sub, servers.webchat_secret, ttl)


def test_a_token_for_customer_a_cannot_write_into_customer_bs_conversation(servers: Servers) -> None:
    async def scenario() -> None:
        bob = Chat(servers, token_for(servers, "cust-mehmet"))
        await bob.connect()
        await bob.say({"message": "merhaba"})
        await bob.client.disconnect()
        bob_before = servers.tracker("web:cust-mehmet")["events"]

        alice = Chat(servers, token_for(servers, "cust-ayse"))
        await alice.connect()
        await alice.client.emit("session_request", {"session_id": "web:cust-mehmet"})
        forged = {
            "message": "bu mesaj Mehmet'in sohbetine yazılmamalı",
            "session_id": "web:cust-mehmet",
            "sender": "web:cust-mehmet",
            "sender_id": "web:cust-mehmet",
            "metadata": {"customer_id": "cust-mehmet", "channel": "web", "sender_id": "web:cust-mehmet"},
        }
        await alice.say(forged)
        await alice.client.disconnect()
        assert ("session_confirm", {"session_id": "web:cust-ayse"}) in alice.events
        assert servers.tracker("web:cust-mehmet")["events"] == bob_before
        [event] = user_events(servers, "web:cust-ayse")
        assert event["text"] == forged["message"]
        assert event["metadata"]["customer_id"] == "cust-ayse"

    asyncio.run(scenario())


def test_replies_reach_only_the_connections_of_the_same_conversation(servers: Servers) -> None:
    async def scenario() -> None:
        first, second, other = (Chat(servers, token_for(servers, sub)) for sub in ("anon-room-a", "anon-room-a", "anon-room-b"))
        for chat in (first, second, other):
            await chat.connect()
        await first.say({"message": "merhaba"})
        for chat in (first, second, other):
            await chat.client.disconnect()
        assert [e for e in first.events if e[0] == "bot_uttered"]
        assert [e for e in second.events if e[0] == "bot_uttered"] == [e for e in first.events if e[0] == "bot_uttered"]
        assert [e for e in other.events if e[0] == "bot_uttered"] == []

    asyncio.run(scenario())


def _expired(servers: Servers) -> str:
    return issue_token("anon-expired", servers.webchat_secret, 60, now=time.time() - 3600)


@pytest.mark.parametrize(
    ("make_token", "reason"),
    [
        (lambda s: None, "missing web chat token"),
        (lambda s: "not-a-jwt", "invalid web chat token"),
        (lambda s: issue_token("cust-ayse", "someone-elses-secret-0123456789abcdef", 600), "invalid web chat token"),
        (_expired, "web chat token expired"),
        (
            lambda s: jwt.encode({"sub": "cust-ayse", "exp": time.time() + 600, "iss": ISSUER, "aud": AUDIENCE}, None, algorithm="none"),
            "invalid web chat token",
        ),
        (
            lambda s: jwt.encode({"sub": "cust-ayse", "exp": time.time() + 600}, s.webchat_secret, algorithm="HS256"),
            "invalid web chat token",
        ),
    ],
    ids=["missing", "garbage", "wrong-secret", "expired", "alg-none", "no-audience"],
)
def test_a_bad_or_missing_token_is_refused(servers: Servers, make_token: Callable[[Servers], str | None], reason: str) -> None:
    chat = Chat(servers, make_token(servers))

    async def scenario() -> None:
        with pytest.raises(socketio.exceptions.ConnectionError):
            await chat.connect()
        await chat.client.shutdown()

    asyncio.run(scenario())
    assert chat.refused and str(chat.refused[0]["message"]).startswith(reason)


def test_a_page_from_another_origin_cannot_open_the_socket(servers: Servers) -> None:
    chat = Chat(servers, token_for(servers, "anon-origin"), origin="http://evil.example")

    async def scenario() -> None:
        with pytest.raises(socketio.exceptions.ConnectionError):
            await chat.connect()
        await chat.client.shutdown()

    asyncio.run(scenario())


def test_a_message_after_the_token_expired_is_refused_and_a_refresh_keeps_the_subject(servers: Servers) -> None:
    async def scenario() -> None:
        chat = Chat(servers, token_for(servers, "anon-short", ttl=2))
        await chat.connect()
        reply = await chat.client.call("refresh_token", {"token": token_for(servers, "anon-other")}, timeout=10)
        assert reply == {"error": "the new token is for another conversation"}
        expires = time.time() + 2
        while time.time() < expires + 1:  # let the short token run out
            await asyncio.sleep(0.2)
        await chat.client.emit("user_uttered", {"message": "merhaba"})
        for _ in range(100):
            if not chat.client.connected:
                break
            await asyncio.sleep(0.1)
        assert not chat.client.connected
        assert ("chat_error", {"error": "web chat token expired"}) in chat.events

        renewed = Chat(servers, token_for(servers, "anon-short", ttl=2))
        await renewed.connect()
        reply = await renewed.client.call("refresh_token", {"token": token_for(servers, "anon-short")}, timeout=10)
        assert reply["ok"] is True
        expires = time.time() + 2
        while time.time() < expires + 1:
            await asyncio.sleep(0.2)
        await renewed.say({"message": "merhaba"})
        await renewed.client.disconnect()

    asyncio.run(scenario())
    assert [event["text"] for event in user_events(servers, "web:anon-short")] == ["merhaba"]


def test_a_flood_from_one_conversation_is_limited_and_told(servers: Servers) -> None:
    """INBOUND_MESSAGES_BURST (10 by default) messages at once pass; the rest are refused with a code
    the widget shows, and never reach the NLU; another conversation is not affected."""

    async def scenario() -> None:
        flood = Chat(servers, token_for(servers, "anon-flood"))
        calm = Chat(servers, token_for(servers, "anon-calm"))
        await flood.connect()
        await calm.connect()
        for number in range(13):
            await flood.client.emit("user_uttered", {"message": f"merhaba {number}"})
        await calm.say({"message": "merhaba"})
        for _ in range(int(WAIT / 0.1)):
            if len([e for e in flood.events if e == ("bot_typing", {"typing": False})]) >= 10:
                break
            await asyncio.sleep(0.1)
        await flood.client.disconnect()
        await calm.client.disconnect()
        refusals = [data for event, data in flood.events if event == "chat_error"]
        assert len(refusals) == 3 and all(data["code"] == "rate_limited" for data in refusals)

    asyncio.run(scenario())
    assert len(user_events(servers, "web:anon-flood")) == 10
    assert len(user_events(servers, "web:anon-calm")) == 1
