"""The agent inbox end to end, with real processes: the support app (inbox, demo shop), the Rasa
server (web chat and WhatsApp channels, handoff policy), the action server, fake Twilio as
Twilio's servers, and real headless Chromium for the customer's widget and the agent's inbox.

Needs `make train index` first (make test does) and Chromium (.ci/run installs it).
"""

import re
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from customer_store.store import CustomerStore
from tests.helpers.browser import chromium
from tests.helpers.databases import query_dicts, support_database
from tests.helpers.servers import MODEL, Servers, http, running_servers
from tests.helpers.staff import open_inbox, staff_session
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.skipif(not MODEL.exists(), reason="no trained model: run `make train index` (make test does)")

WAIT = 40
KB_QUESTION = "kargom nerede, takip numarasını nereden görürüm"
ASK_PERSON_TR = "bir temsilciyle görüşmek istiyorum"
QUEUE_TEXT = re.compile(r"Sırada \d+\. kişisiniz.*yaklaşık \d+ dakika")  # utter_handoff_connecting (TR)
CSAT_TEXT = re.compile(r"1 \(kötü\) ile 5 \(mükemmel\)")  # utter_ask_csat (TR)
TEMPLATE_TR = {
    "name": "Kargo kontrolü",
    "language": "tr",
    "text": "Merhaba {first_name}, ben {agent_name}. {order_id} numaralı siparişinize bakıyorum.",
}
AYSE_WHATSAPP = "+905551110001"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    state = tmp_path_factory.mktemp("inbox")
    CustomerStore(support_database(state)).seed_demo_customers()
    with running_servers(state, fake_twilio=True, support_app=True) as running:
        yield running


@pytest.fixture(scope="module")
def template_id(servers: Servers) -> int:
    """A Turkish reply template, created by an admin through the admin API."""
    admin = staff_session(servers, "admin")
    response = admin.post(
        f"{servers.support_url}/inbox/api/templates", json=TEMPLATE_TR, headers={"X-CSRF-Token": admin.headers["X-CSRF-Token"]}, timeout=10
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


@pytest.fixture
def customer_browser() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


@pytest.fixture
def agent_browser() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


# --- helpers ----------------------------------------------------------------------------------


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], Any], timeout: float = WAIT) -> Any:
    # A page that reloads (the template admin after a save) can drop an element between finding and reading it.
    return WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)).until(condition)


def queue_item(driver: WebDriver, sender_id: str) -> Any:
    """The queue entry of this customer's handoff, once the live feed has shown it."""

    def find(d: WebDriver) -> Any:
        for handoff in d.execute_script("return window.DestekInbox.handoffs") or []:
            if handoff["sender_id"] == sender_id:
                return d.find_element(By.CSS_SELECTOR, f".queue-item[data-id='{handoff['id']}'] button")
        return None

    return wait_for(driver, find)


def open_conversation(agent: WebDriver, sender_id: str) -> int:
    item = queue_item(agent, sender_id)
    text = item.text
    assert agent.execute_script("return window.inboxNotReloaded") is True  # it appeared without a reload
    item.click()
    wait_for(agent, lambda d: d.find_element(By.ID, "conversation").is_displayed() and d.find_element(By.ID, "card").is_displayed())
    assert "waiting" in text
    return int(agent.execute_script("return window.DestekInbox.selected"))


def claim_and_reply_with_template(agent: WebDriver, template_id: int, extra: str) -> str:
    """Claim, insert the template, edit it, send; returns the text that was sent."""
    agent.find_element(By.ID, "claim-button").click()
    wait_for(agent, lambda d: d.find_element(By.ID, "reply-send").is_enabled())
    Select(agent.find_element(By.ID, "template-select")).select_by_value(str(template_id))
    agent.find_element(By.ID, "template-insert").click()
    box = agent.find_element(By.ID, "reply-text")
    wait_for(agent, lambda d: "Merhaba" in box.get_attribute("value"))
    inserted = box.get_attribute("value")
    assert "{first_name}" not in inserted and "{agent_name}" not in inserted
    if "{order_id}" in inserted:  # no order on file: the inbox says what to fill in
        assert "{order_id}" in agent.find_element(By.ID, "template-missing").text
        inserted = inserted.replace("{order_id}", "PUS-1001")
    text = inserted + " " + extra
    box.clear()
    box.send_keys(text)
    agent.find_element(By.ID, "reply-send").click()
    wait_for(agent, lambda d: any(text == m.text for m in d.find_elements(By.CSS_SELECTOR, "#conv-messages .msg-agent .msg-text")))
    return text


def csat_rows(servers: Servers, sender_id: str) -> list[dict[str, Any]]:
    return query_dicts(servers.database, "SELECT * FROM csat_ratings WHERE sender_id = ?", sender_id)


# --- web --------------------------------------------------------------------------------------


def open_widget(driver: WebDriver, servers: Servers) -> None:
    driver.get(f"{servers.support_url}/login")
    driver.find_element(By.ID, "login").send_keys("ayse")
    driver.find_element(By.ID, "password").send_keys("demo")
    driver.find_element(By.ID, "password").submit()
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "header .who"))
    wait_for(driver, lambda d: d.find_element(By.CSS_SELECTOR, ".destek-launcher")).click()
    wait_for(driver, lambda d: d.execute_script("return Boolean(window.DestekWidget.socket && window.DestekWidget.socket.connected)"))


def bot_texts(driver: WebDriver) -> list[str]:
    return [item.get_attribute("textContent") for item in driver.find_elements(By.CSS_SELECTOR, ".destek-bot .destek-text")]


def say(driver: WebDriver, text: str) -> None:
    field = driver.find_element(By.ID, "destek-input")
    field.send_keys(text)
    field.submit()


def test_web_customer_to_agent_and_back_with_csat(
    servers: Servers, template_id: int, customer_browser: WebDriver, agent_browser: WebDriver
) -> None:
    open_inbox(agent_browser, servers)
    open_widget(customer_browser, servers)
    sender = "web:cust-ayse"

    say(customer_browser, KB_QUESTION)
    wait_for(customer_browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".destek-bot a[href^='https://']"))
    answered = len(bot_texts(customer_browser))
    say(customer_browser, ASK_PERSON_TR)
    wait_for(customer_browser, lambda d: any(QUEUE_TEXT.search(t) for t in bot_texts(d)[answered:]))  # position and wait

    open_conversation(agent_browser, sender)
    transcript = agent_browser.find_element(By.ID, "card-transcript").text
    assert KB_QUESTION in transcript and ASK_PERSON_TR in transcript
    articles = agent_browser.find_elements(By.CSS_SELECTOR, "#card-articles .article")
    assert articles and re.search(r"score 0\.\d\d|score 1\.00", articles[0].text), [a.text for a in articles]
    assert agent_browser.find_element(By.ID, "card-summary").text.strip()
    assert "TR" in agent_browser.find_element(By.ID, "card-facts").text

    shown = len(bot_texts(customer_browser))
    sent = claim_and_reply_with_template(agent_browser, template_id, "Hemen dönüyorum.")
    assert sent.startswith("Merhaba Ayşe, ben ")
    wait_for(customer_browser, lambda d: sent in bot_texts(d)[shown:])

    say(customer_browser, "Teşekkürler, bekliyorum")  # reaches the agent live while they own it
    wait_for(
        agent_browser,
        lambda d: any(
            m.text == "Teşekkürler, bekliyorum" for m in d.find_elements(By.CSS_SELECTOR, "#conv-messages .msg-customer .msg-text")
        ),
    )

    shown = len(bot_texts(customer_browser))
    agent_browser.find_element(By.ID, "close-button").click()
    wait_for(customer_browser, lambda d: any(CSAT_TEXT.search(t) for t in bot_texts(d)[shown:]))
    buttons = customer_browser.find_elements(By.CSS_SELECTOR, ".destek-reply")
    four = next((b for b in buttons if b.text.strip().startswith("4")), None)
    if four is not None:
        four.click()
    else:
        say(customer_browser, "4")
    [rating] = eventually(lambda: csat_rows(servers, sender), "the CSAT rating in the database")
    assert rating["rating"] == 4 and rating["channel"] == "web"
    assert agent_browser.execute_script("return window.inboxNotReloaded") is True


def test_customer_markup_and_script_links_are_inert_in_the_inbox(servers: Servers, agent_browser: WebDriver) -> None:
    open_inbox(agent_browser, servers, "agent2")
    sender = "rest:xss-" + str(int(time.time() * 1000))  # REST's own namespace, as the channel stores it
    attacks = [
        "<img src=x onerror=alert(1)>",
        '<img src=x onerror="window.customerScriptRan=true"><script>window.customerScriptRan=true</script>',
        "javascript:alert(1)",
        '[tıkla](javascript:alert(1)) <a href="javascript:window.customerScriptRan=true">link</a>',
    ]
    servers.say(sender, ASK_PERSON_TR)
    open_conversation(agent_browser, sender)
    agent_browser.find_element(By.ID, "claim-button").click()
    wait_for(agent_browser, lambda d: d.find_element(By.ID, "reply-send").is_enabled())
    for attack in attacks:
        servers.say(sender, attack)
    wait_for(
        agent_browser,
        lambda d: [m.text for m in d.find_elements(By.CSS_SELECTOR, "#conv-messages .msg-customer .msg-text")][-len(attacks) :] == attacks,
    )
    agent_browser.refresh()  # the stored messages, loaded with the conversation, render as text too
    wait_for(agent_browser, lambda d: d.execute_script("return Boolean(window.DestekInbox && window.DestekInbox.connected)"))
    agent_browser.execute_script("window.customerScriptRan = false;")
    queue_item(agent_browser, sender).click()
    wait_for(
        agent_browser,
        lambda d: [m.text for m in d.find_elements(By.CSS_SELECTOR, "#conv-messages .msg-customer .msg-text")][-len(attacks) :] == attacks,
    )
    inbox = agent_browser.find_element(By.ID, "inbox")
    assert inbox.find_elements(By.CSS_SELECTOR, "img, script, iframe, object") == []
    assert all((a.get_attribute("href") or "").startswith(("http://", "https://")) for a in inbox.find_elements(By.TAG_NAME, "a"))
    assert agent_browser.execute_script("return window.customerScriptRan") is False
    with pytest.raises(NoAlertPresentException):
        agent_browser.switch_to.alert.text  # noqa: B018 - reading it is the check


# --- WhatsApp ---------------------------------------------------------------------------------


def whatsapp_in(servers: Servers, text: str) -> None:
    status, _ = http("POST", f"{servers.fake_url}/_fake/inbound", {"from": AYSE_WHATSAPP, "body": text, "profile_name": "Ayşe"})
    assert status == 200


def whatsapp_out(servers: Servers) -> list[str]:
    query = urllib.parse.urlencode({"to": "whatsapp:" + AYSE_WHATSAPP, "direction": "outbound-api"})
    status, inbox = http("GET", f"{servers.fake_url}/_fake/messages?{query}")
    assert status == 200
    return [message.get("body") or "" for message in inbox["messages"]]


def test_whatsapp_customer_to_agent_and_back_with_csat(servers: Servers, template_id: int, agent_browser: WebDriver) -> None:
    open_inbox(agent_browser, servers)
    sender = "whatsapp:" + AYSE_WHATSAPP
    whatsapp_in(servers, KB_QUESTION)
    eventually(lambda: any("http" in body for body in whatsapp_out(servers)), "the KB answer on WhatsApp")
    sent_before = len(whatsapp_out(servers))
    whatsapp_in(servers, ASK_PERSON_TR)
    eventually(lambda: any(QUEUE_TEXT.search(body) for body in whatsapp_out(servers)[sent_before:]), "the queue position on WhatsApp")

    open_conversation(agent_browser, sender)
    assert "whatsapp" in agent_browser.find_element(By.ID, "card-facts").text
    assert KB_QUESTION in agent_browser.find_element(By.ID, "card-transcript").text
    text = claim_and_reply_with_template(agent_browser, template_id, "WhatsApp'tan yazıyorum.")
    eventually(lambda: text in whatsapp_out(servers), "the agent's reply in fake Twilio's inbox")

    whatsapp_in(servers, "Tamam, teşekkürler")
    wait_for(
        agent_browser,
        lambda d: any(m.text == "Tamam, teşekkürler" for m in d.find_elements(By.CSS_SELECTOR, "#conv-messages .msg-customer .msg-text")),
    )

    sent_before = len(whatsapp_out(servers))
    agent_browser.find_element(By.ID, "close-button").click()
    eventually(lambda: any(CSAT_TEXT.search(body) for body in whatsapp_out(servers)[sent_before:]), "the CSAT question on WhatsApp")
    whatsapp_in(servers, "4")
    [rating] = eventually(lambda: csat_rows(servers, sender), "the WhatsApp CSAT rating in the database")
    assert rating["rating"] == 4 and rating["channel"] == "whatsapp"
