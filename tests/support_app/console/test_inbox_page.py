"""The inbox page in real headless Chromium against the real support app process, with handoffs
written straight into the real SQLite store (as the action server writes them) and no Rasa
server running: the live queue, the context card, customer text rendered inert, templates with
missing values, and what the agent sees when a reply cannot be delivered.

The full round trip through Rasa, the widget and WhatsApp is in test_inbox_e2e.py.
"""

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from selenium.common.exceptions import JavascriptException, NoAlertPresentException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from handoff.context_card import build_card
from handoff.store import HandoffStore
from tests.helpers.browser import chromium
from tests.helpers.servers import Servers
from tests.helpers.staff import open_inbox, staff_session

WAIT = 20
ATTACKS = [
    "<img src=x onerror=alert(1)>",
    '<img src=x onerror="window.customerScriptRan=true"><script>window.customerScriptRan=true</script>',
    "javascript:alert(1)",
    '<a href="javascript:window.customerScriptRan=true">bana tıkla</a> [link](javascript:alert(1))',
]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """Only the support app; RASA_URL points at a port where nothing listens."""
    running = Servers(tmp_path_factory.mktemp("inbox-page"))
    try:
        running.start_support_app()
        yield running
    finally:
        running.stop_support_app()


@pytest.fixture(scope="module")
def store(servers: Servers) -> HandoffStore:
    return HandoffStore(servers.database)


@pytest.fixture
def agent() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], Any], timeout: float = WAIT) -> Any:
    # A page that reloads (the template admin after a save) can drop an element between finding and reading it.
    return WebDriverWait(
        driver, timeout, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException, JavascriptException)
    ).until(condition)


def tracker_events(texts: list[str]) -> list[dict[str, Any]]:
    """A conversation as Rasa's tracker has it: a KB answer the customer rated down, then the given texts."""
    now = time.time() - 120
    events: list[dict[str, Any]] = [
        {
            "event": "user",
            "text": "kargom nerede",
            "timestamp": now,
            "parse_data": {"intent": {"name": "faq", "confidence": 0.913}, "entities": [{"entity": "language", "value": "tr"}]},
        },
        {"event": "action", "name": "action_answer_from_kb", "timestamp": now + 1},
        {
            "event": "slot",
            "name": "kb_candidates",
            "value": [
                {"id": "order-tracking-tr", "title": "Siparişimi nasıl takip ederim?", "score": 0.612},
                {"id": "delivery-time-tr", "title": "Teslimat ne kadar sürer?", "score": 0.231},
            ],
        },
        {"event": "slot", "name": "kb_query", "value": "kargom nerede"},
        {"event": "slot", "name": "kb_article_id", "value": "order-tracking-tr"},
        {"event": "slot", "name": "kb_score", "value": 0.612},
        {"event": "slot", "name": "kb_answered", "value": True},
        {"event": "bot", "text": "Siparişinizin nerede olduğunu Siparişlerim sayfasından görebilirsiniz.", "timestamp": now + 1},
        {"event": "action", "name": "action_record_feedback", "timestamp": now + 2},
        {"event": "slot", "name": "kb_feedback", "value": "down"},
    ]
    for offset, text in enumerate(texts):
        events.append(
            {
                "event": "user",
                "text": text,
                "timestamp": now + 10 + offset,
                "parse_data": {"intent": {"name": "nlu_fallback", "confidence": 0.3}, "entities": []},
            }
        )
    return events


def new_handoff(store: HandoffStore, sender: str, texts: list[str]) -> dict[str, Any]:
    """A handoff as action_request_human creates it: queued, with its context card."""
    handoff = store.create(sender, "web", "customer_asked", 2, language="tr")
    store.set_context_card(handoff["id"], build_card(handoff, [(sender, "web", tracker_events(texts))]))
    return handoff


def queue_button(driver: WebDriver, handoff_id: int) -> Any:
    return wait_for(driver, lambda d: d.find_element(By.CSS_SELECTOR, f".queue-item[data-id='{handoff_id}'] button"))


def open_conversation(driver: WebDriver, handoff_id: int) -> None:
    """Select the handoff in the queue and wait until its conversation and card are shown."""
    queue_button(driver, handoff_id).click()
    wait_for(
        driver,
        lambda d: (
            d.execute_script("return Boolean(window.DestekInbox.handoff) && window.DestekInbox.handoff.id") == handoff_id
            and d.find_element(By.ID, "conversation").is_displayed()
        ),
    )


def texts(driver: WebDriver, selector: str) -> list[str]:
    """The text of every match, read in one script (a page reloading in between cannot break it)."""
    return list(driver.execute_script("return Array.from(document.querySelectorAll(arguments[0])).map(e => e.textContent)", selector))


def customer_texts(driver: WebDriver) -> list[str]:
    return [m.text for m in driver.find_elements(By.CSS_SELECTOR, "#conv-messages .msg-customer .msg-text")]


def test_a_handoff_appears_live_with_its_card_and_customer_markup_stays_inert(
    servers: Servers, store: HandoffStore, agent: WebDriver
) -> None:
    open_inbox(agent, servers, "agent1")
    handoff = new_handoff(store, "web:anon-xss", ATTACKS[:2])
    button = queue_button(agent, handoff["id"])  # no reload: the live feed brought it
    assert agent.execute_script("return window.inboxNotReloaded") is True
    assert "customer asked for a person" in button.text and "web" in button.text and "TR" in button.text
    assert re.search(r"waiting \d+ s", button.text), button.text
    button.click()
    wait_for(agent, lambda d: d.find_element(By.ID, "card").is_displayed() and d.find_element(By.ID, "card-transcript").text)

    assert agent.find_element(By.ID, "card-summary").text.startswith("Asked about “kargom nerede” in Turkish; 1 article did not help")
    articles = agent.find_element(By.ID, "card-articles").text
    assert "Siparişimi nasıl takip ederim? score 0.61 (shown 👎)" in articles and "Teslimat ne kadar sürer? score 0.23" in articles
    turns = agent.find_element(By.ID, "card-turns").text
    assert "intent faq 0.91" in turns and "action_answer_from_kb: kb_query=kargom nerede" in turns
    assert "TR" in agent.find_element(By.ID, "card-facts").text
    transcript = [m.text for m in agent.find_elements(By.CSS_SELECTOR, "#card-transcript .msg-customer .msg-text")]
    assert transcript == ["kargom nerede", *ATTACKS[:2]]

    agent.find_element(By.ID, "claim-button").click()
    wait_for(agent, lambda d: d.find_element(By.ID, "reply-send").is_enabled())
    assert "assigned to agent1" in agent.find_element(By.ID, "conv-state").text
    for text in ATTACKS:  # what action_forward_to_agent stores while the agent owns the conversation
        store.add_message(handoff["id"], "customer", "web:anon-xss", text)
    wait_for(agent, lambda d: customer_texts(d) == ATTACKS)

    inbox = agent.find_element(By.ID, "inbox")
    assert inbox.find_elements(By.CSS_SELECTOR, "img, script, iframe, object, embed") == []
    assert all((a.get_attribute("href") or "").startswith(("http://", "https://")) for a in inbox.find_elements(By.TAG_NAME, "a"))
    assert agent.execute_script("return window.customerScriptRan") is False
    with pytest.raises(NoAlertPresentException):
        agent.switch_to.alert.text  # noqa: B018 - reading it is the check


def test_a_template_with_missing_values_must_be_filled_and_an_undelivered_reply_is_shown(
    servers: Servers, store: HandoffStore, agent: WebDriver
) -> None:
    admin = staff_session(servers, "admin")
    created = admin.post(
        f"{servers.support_url}/inbox/api/templates",
        timeout=10,
        json={
            "name": "Sipariş",
            "language": "tr",
            "text": "Merhaba {first_name}, ben {agent_name}. {order_id} numaralı siparişinize bakıyorum.",
        },
    )
    assert created.status_code == 201, created.text
    handoff = new_handoff(store, "web:anon-template", ["siparişim gelmedi"])
    open_inbox(agent, servers, "agent2")
    open_conversation(agent, handoff["id"])
    agent.find_element(By.ID, "claim-button").click()
    wait_for(agent, lambda d: d.find_element(By.ID, "template-insert").is_enabled())
    wait_for(agent, lambda d: d.find_elements(By.CSS_SELECTOR, f"#template-select option[value='{created.json()['id']}']"))
    Select(agent.find_element(By.ID, "template-select")).select_by_value(str(created.json()["id"]))
    agent.find_element(By.ID, "template-insert").click()
    box = agent.find_element(By.ID, "reply-text")
    wait_for(agent, lambda d: box.get_attribute("value"))
    assert box.get_attribute("value") == "Merhaba {first_name}, ben Can (agent). {order_id} numaralı siparişinize bakıyorum."
    assert agent.find_element(By.ID, "template-missing").text == "Fill in before sending: {first_name}, {order_id}"

    agent.find_element(By.ID, "reply-send").click()
    assert agent.find_element(By.ID, "conv-error").text == "Fill in {first_name}, {order_id} before sending."
    box.clear()
    box.send_keys("Merhaba Ayşe, ben Can. 12345 numaralı siparişinize bakıyorum.")
    agent.find_element(By.ID, "reply-send").click()
    wait_for(agent, lambda d: d.find_element(By.ID, "conv-error").text)
    assert agent.find_element(By.ID, "conv-error").text.startswith("saved, but not delivered to the customer: Rasa at http://127.0.0.1:")
    wait_for(agent, lambda d: d.find_elements(By.CSS_SELECTOR, "#conv-messages .msg-agent .error"))
    [message] = [m for m in store.messages(handoff["id"]) if m["direction"] == "agent"]
    assert (message["status"], message["text"]) == ("failed", "Merhaba Ayşe, ben Can. 12345 numaralı siparişinize bakıyorum.")


def test_claim_transfer_and_close_rules_through_the_api(servers: Servers, store: HandoffStore) -> None:
    first, second = staff_session(servers, "agent1"), staff_session(servers, "agent2")
    handoff = new_handoff(store, "web:anon-transfer", ["merhaba"])
    url = f"{servers.support_url}/inbox/api/handoffs/{handoff['id']}"
    assert first.post(f"{url}/claim", timeout=10).status_code == 200
    taken = second.post(f"{url}/claim", timeout=10)
    assert taken.status_code == 409 and taken.json()["detail"] == f"handoff {handoff['id']} is assigned; cannot claim it"
    refused = second.post(f"{url}/reply", json={"text": "merhaba"}, timeout=10)
    assert refused.status_code == 409 and "claim it before replying" in refused.json()["detail"]
    unknown = first.post(f"{url}/transfer", json={"to_agent": "nobody"}, timeout=10)
    assert unknown.status_code == 400 and unknown.json()["detail"] == "field 'to_agent': 'nobody' is not an agent"
    moved = first.post(f"{url}/transfer", json={"to_agent": "agent2"}, timeout=10)
    assert moved.status_code == 200 and moved.json()["handoff"]["agent"] == "agent2"
    closed = second.post(f"{url}/close", timeout=10)
    assert closed.status_code == 502 and closed.json()["detail"].startswith("closed, but the bot was not told: Rasa at")
    assert store.get(handoff["id"])["status"] == "closed"
    assert handoff["id"] not in [h["id"] for h in first.get(f"{servers.support_url}/inbox/api/queue", timeout=10).json()["handoffs"]]
    assert first.post(f"{servers.support_url}/inbox/api/handoffs/999999/claim", timeout=10).status_code == 404


def test_an_admin_edits_templates_on_the_admin_page(servers: Servers, agent: WebDriver) -> None:
    open_inbox(agent, servers, "admin")
    agent.find_element(By.LINK_TEXT, "Edit reply templates").click()
    wait_for(agent, lambda d: d.find_element(By.ID, "template-form"))
    agent.find_element(By.ID, "template-name").send_keys("Welcome")
    Select(agent.find_element(By.ID, "template-language")).select_by_value("en")
    agent.find_element(By.ID, "template-body").send_keys("Hi {firstname}, <b>{agent_name}</b> here.")
    agent.find_element(By.CSS_SELECTOR, "#template-form button[type='submit']").click()
    wait_for(agent, lambda d: d.find_element(By.ID, "template-error").text)
    assert agent.find_element(By.ID, "template-error").text.startswith("field 'text': unknown variable {firstname} at character 4")
    body = agent.find_element(By.ID, "template-body")
    body.clear()
    body.send_keys("Hi {first_name}, <b>{agent_name}</b> here.")
    agent.find_element(By.CSS_SELECTOR, "#template-form button[type='submit']").click()
    wait_for(agent, lambda d: "Hi {first_name}, <b>{agent_name}</b> here." in texts(d, ".templates-table .body"))  # shown as text
    assert agent.find_elements(By.CSS_SELECTOR, ".templates-table b") == []
    row = next(r for r in agent.find_elements(By.CSS_SELECTOR, ".templates-table tbody tr") if "Welcome" in r.text)
    row.find_element(By.CSS_SELECTOR, ".edit-template").click()
    body = agent.find_element(By.ID, "template-body")
    body.clear()
    body.send_keys("Hello {first_name}!")
    agent.find_element(By.CSS_SELECTOR, "#template-form button[type='submit']").click()
    wait_for(agent, lambda d: "Hello {first_name}!" in texts(d, ".templates-table .body"))
    assert texts(agent, ".templates-table .name").count("Welcome") == 1
