"""The copilot panel and the SLA marker in real headless Chromium against the real support app
process; handoffs and customer messages are written straight into the real SQLite store, as the
action server writes them (no Rasa here: test_inbox_e2e.py covers the round trip)."""

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from selenium.common.exceptions import JavascriptException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from handoff.store import HandoffStore
from tests.conftest import ROOT
from tests.helpers.browser import chromium
from tests.helpers.servers import Servers
from tests.helpers.staff import DEMO_STAFF_PASSWORD, open_inbox

WAIT = 20
TEMPLATES = json.loads((ROOT / "tests" / "data" / "copilot_templates.json").read_text(encoding="utf-8"))["templates"]
ATTACK = '<img src=x onerror="window.customerScriptRan=true"> şifremi unuttum'


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    state = tmp_path_factory.mktemp("agent-desk")
    settings = state / "handoff.yml"
    settings.write_text(
        "assignment:\n  auto_assign: false\n  sla_minutes: 1\n  presence_timeout_seconds: 3\n  tick_seconds: 0.2\n", encoding="utf-8"
    )
    running = Servers(state)
    running.env.update({"HANDOFF_SETTINGS": str(settings), "STAFF_DEMO_PASSWORD": DEMO_STAFF_PASSWORD})
    try:
        running.start_support_app()
        yield running
    finally:
        running.stop_support_app()


@pytest.fixture(scope="module")
def store(servers: Servers) -> HandoffStore:
    handoffs = HandoffStore(servers.database)
    for row in TEMPLATES:
        handoffs.save_template(row["name"], row["language"], row["text"], "admin")
    return handoffs


@pytest.fixture
def agent() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], Any], timeout: float = WAIT) -> Any:
    return WebDriverWait(
        driver, timeout, poll_frequency=0.05, ignored_exceptions=(StaleElementReferenceException, JavascriptException)
    ).until(condition)


def select(driver: WebDriver, handoff_id: int) -> None:
    wait_for(driver, lambda d: d.find_element(By.CSS_SELECTOR, f".queue-item[data-id='{handoff_id}'] button")).click()
    wait_for(driver, lambda d: d.execute_script("return window.DestekInbox.handoff && window.DestekInbox.handoff.id") == handoff_id)


def panel(driver: WebDriver) -> Any:
    return driver.execute_script(
        "var p = document.getElementById('copilot');"
        "return {message: Number(p.getAttribute('data-message-id')), updated: Number(p.getAttribute('data-updated-at')),"
        " articles: Array.from(p.querySelectorAll('.copilot-passage')).map(e => [e.getAttribute('data-article'), e.getAttribute('data-lang')]),"
        " templates: Array.from(p.querySelectorAll('.copilot-template strong')).map(e => e.textContent),"
        " status: document.getElementById('copilot-status').textContent}"
    )


def test_copilot_panel_follows_the_customer_and_inserts_in_one_click(servers: Servers, store: HandoffStore, agent: WebDriver) -> None:
    handoff = store.create("web:desk-copilot", "web", "customer_asks", 2, language="tr")
    store.claim(handoff["id"], "agent1")
    first = store.add_message(handoff["id"], "customer", "", "iade ettiğim ürünün parası ne zaman yatar")
    open_inbox(agent, servers, "agent1")
    select(agent, handoff["id"])
    shown = wait_for(agent, lambda d: (lambda p: p if p["message"] == first and p["articles"] else None)(panel(d)))
    assert shown["articles"][0] == ["refund-status-tr", "tr"] and {lang for _, lang in shown["articles"]} == {"tr"}
    assert shown["templates"][0] == "İade süresi"

    # the customer writes again: the panel follows within the live feed's rhythm
    written_ms = time.time() * 1000
    second = store.add_message(handoff["id"], "customer", "", ATTACK)
    shown = wait_for(agent, lambda d: (lambda p: p if p["message"] == second else None)(panel(d)))
    print(f"panel updated {shown['updated'] - written_ms:.0f} ms after the customer's message was stored")
    assert shown["updated"] - written_ms < 3000
    assert shown["articles"][0] == ["reset-password-tr", "tr"]
    assert shown["templates"][0] == "Şifre sıfırlama"
    assert ATTACK in shown["status"]  # the customer's markup is text
    assert agent.execute_script("return window.customerScriptRan") is False
    assert not agent.find_elements(By.CSS_SELECTOR, "#copilot img")

    # one click puts the passage (and its article link) into the reply box
    passage = agent.find_element(By.CSS_SELECTOR, "#copilot .copilot-passage")
    snippet = passage.find_element(By.CSS_SELECTOR, ".copilot-text").text
    link = passage.find_element(By.CSS_SELECTOR, "a")
    assert link.get_attribute("href").startswith("http") and link.get_attribute("rel") == "noopener noreferrer"
    passage.find_element(By.CSS_SELECTOR, ".copilot-insert").click()
    reply = agent.find_element(By.ID, "reply-text")
    wait_for(agent, lambda d: snippet in reply.get_attribute("value"))
    assert link.get_attribute("href") in reply.get_attribute("value")
    # a template is filled for this handoff and agent, then inserted after the passage
    agent.find_element(By.CSS_SELECTOR, "#copilot .copilot-template .copilot-insert").click()
    wait_for(agent, lambda d: "Şifremi unuttum bağlantısıyla" in reply.get_attribute("value"))
    assert reply.get_attribute("value").index(snippet) < reply.get_attribute("value").index("Şifremi unuttum bağlantısıyla")


def test_sla_marker_and_one_browser_notification(servers: Servers, store: HandoffStore, agent: WebDriver) -> None:
    agent.get(f"{servers.support_url}/healthz")
    agent.execute_cdp_cmd("Browser.grantPermissions", {"origin": servers.support_url, "permissions": ["notifications"]})
    open_inbox(agent, servers, "agent2")
    agent.execute_script(
        "var Real = window.Notification; window.shownNotifications = [];"
        "window.Notification = function (title, options) { window.shownNotifications.push(options.tag); return new Real(title, options); };"
        "window.Notification.permission = Real.permission;"
    )
    assert agent.execute_script("return window.Notification.permission") == "granted"
    fresh = store.create("web:desk-fresh", "web", "customer_asks", 1, language="en")
    late = store.create("web:desk-late", "web", "customer_asks", 1, language="en", now=time.time() - 61)
    item = f".queue-item[data-id='{late['id']}']"
    wait_for(agent, lambda d: "sla-breached" in d.find_element(By.CSS_SELECTOR, item).get_attribute("class"))
    assert agent.find_element(By.CSS_SELECTOR, f"{item} .sla-badge").text == "SLA"
    wait_for(agent, lambda d: "priority 5" in d.find_element(By.CSS_SELECTOR, item).text)
    # raised above the fresher handoff, and it alone is marked
    order = agent.execute_script(
        "return Array.from(document.querySelectorAll('#queue-list .queue-item')).map(e => Number(e.getAttribute('data-id')))"
    )
    assert order.index(late["id"]) < order.index(fresh["id"])
    assert "sla-breached" not in agent.find_element(By.CSS_SELECTOR, f".queue-item[data-id='{fresh['id']}']").get_attribute("class")
    assert "has waited 1 min" in agent.find_element(By.ID, "sla-alert").text
    time.sleep(3)  # several heartbeats and queue redraws later: still one notification, still marked
    assert agent.execute_script("return window.shownNotifications") == [f"destek-sla-{late['id']}"]
    assert "sla-breached" in agent.find_element(By.CSS_SELECTOR, item).get_attribute("class")
    # a reload of the inbox does not notify again
    agent.refresh()
    wait_for(agent, lambda d: d.execute_script("return Boolean(window.DestekDesk && window.DestekDesk.breaches.length)"))
    wait_for(agent, lambda d: "sla-breached" in d.find_element(By.CSS_SELECTOR, item).get_attribute("class"))
    assert agent.execute_script("return window.DestekDesk.notifications") == 0
    # once an agent answers, the mark goes away
    store.claim(late["id"], "agent2")
    store.set_message_status(store.add_message(late["id"], "agent", "agent2", "Hello!", status="pending"), "sent")
    wait_for(agent, lambda d: "sla-breached" not in d.find_element(By.CSS_SELECTOR, item).get_attribute("class"))


def test_team_box_shows_presence_and_admin_sets_a_capacity(servers: Servers, agent: WebDriver) -> None:
    open_inbox(agent, servers, "admin")
    row = "#desk-agents .desk-agent[data-login='{}']"
    wait_for(agent, lambda d: "● admin" in d.find_element(By.CSS_SELECTOR, row.format("admin")).text)  # this open inbox
    assert "○ agent1" in agent.find_element(By.CSS_SELECTOR, row.format("agent1")).text
    assert "Auto-assignment off" in agent.find_element(By.ID, "desk-status").text
    capacity = agent.find_element(By.CSS_SELECTOR, row.format("agent1") + " input")
    capacity.clear()
    capacity.send_keys("4")
    agent.find_element(By.CSS_SELECTOR, row.format("agent1") + " button").click()
    wait_for(agent, lambda d: d.find_element(By.CSS_SELECTOR, row.format("agent1") + " .load").text.endswith("/4"))
