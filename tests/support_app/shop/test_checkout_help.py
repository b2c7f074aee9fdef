"""Checkout help end to end, in real headless Chromium: the demo shop and widget, the real Rasa
server (web chat channel) and action server, the support database; the campaigns scheduler's
store for cart reminders.

The shopper idles on the checkout page → exactly one offer tied to the cart (the amount left
to free shipping); leaving with the cart → a WhatsApp reminder is scheduled; completing the
order → the reminder is cancelled and the cart counts as recovered.
"""

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from campaigns.store import CampaignStore
from checkout.recovery import CheckoutRecovery, recovered_carts_summary
from customer_store.store import CustomerStore
from tests.helpers.databases import support_database
from tests.helpers.servers import MODEL, Servers, running_servers

pytestmark = pytest.mark.skipif(not MODEL.exists(), reason="no trained model: run `make train index` (make test does)")

IDLE_SECONDS = 2
WAIT = 30
CHECKOUT_QUESTIONS = (
    ("3D Secure kodu gelmedi", "https://yardim.pusula.example/tr/three-d-secure"),
    ("kargo ne zaman gelir", "https://yardim.pusula.example/tr/shipping-fees-times"),
    ("taksit yapabilir miyim", "https://yardim.pusula.example/tr/installments"),
)
CABLE_OFFER_TR = "Ücretsiz kargoya 350,50 TL kaldı."  # 500 TL − 149,50 TL (one Cat6 cable)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    state = tmp_path_factory.mktemp("checkout")
    CustomerStore(support_database(state)).seed_demo_customers()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHECKOUT_IDLE_SECONDS", str(IDLE_SECONDS))
        patch.setenv("CART_REMINDER_DELAY_MINUTES", "60")
        with running_servers(state, fake_twilio=True, support_app=True) as running:
            yield running


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], Any], timeout: float = WAIT) -> Any:
    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)


def login(driver: WebDriver, servers: Servers, name: str) -> None:
    driver.get(f"{servers.support_url}/login")
    driver.find_element(By.ID, "login").send_keys(name)
    driver.find_element(By.ID, "password").send_keys("demo")
    driver.find_element(By.ID, "password").submit()
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "header .who"))


def add_to_cart(driver: WebDriver, servers: Servers, product_id: str) -> None:
    driver.get(servers.support_url + "/")
    driver.find_element(By.CSS_SELECTOR, f"li[data-product-id='{product_id}'] button[type='submit']").click()
    wait_for(driver, lambda d: d.current_url.endswith("/cart"))


def open_checkout(driver: WebDriver, servers: Servers) -> None:
    driver.get(servers.support_url + "/checkout")
    wait_for(
        driver,
        lambda d: d.execute_script(
            "return Boolean(window.DestekWidget && window.DestekWidget.socket && window.DestekWidget.socket.connected)"
        ),
    )


def bot_texts(driver: WebDriver) -> list[str]:
    return [str(item.get_attribute("textContent")) for item in driver.find_elements(By.CSS_SELECTOR, ".destek-bot .destek-text")]


def offers(texts: list[str]) -> list[str]:
    return [text for text in texts if "Ücretsiz kargoya" in text or "shipping is free" in text or "Kargonuz ücretsiz" in text]


def tracker_offers(servers: Servers, sender: str) -> tuple[int, int]:
    """(signals received, offers made) in the Rasa tracker of the conversation."""
    events = servers.tracker(sender)["events"]
    signals = [
        e
        for e in events
        if e["event"] == "user" and (e.get("parse_data") or {}).get("intent", {}).get("name") == "EXTERNAL_checkout_stalled"
    ]
    made = [e for e in events if e["event"] == "bot" and "Ücretsiz kargoya" in (e.get("text") or "")]
    return len(signals), len(made)


def test_idle_on_checkout_gives_exactly_one_offer_about_the_cart(servers: Servers, browser: WebDriver) -> None:
    login(browser, servers, "mehmet")  # no marketing consent: no reminder, only the offer
    add_to_cart(browser, servers, "ethernet-cable")
    open_checkout(browser, servers)
    wait_for(browser, lambda d: offers(bot_texts(d)))
    [offer] = offers(bot_texts(browser))
    assert CABLE_OFFER_TR in offer and "149,50 TL" in offer
    assert browser.find_element(By.ID, "destek-panel").is_displayed()  # shown, nobody was typing in a form
    # Idle again, and the pointer leaving through the top: no second offer.
    browser.execute_script("document.dispatchEvent(new MouseEvent('mouseout', {clientX: 300, clientY: -1, bubbles: true}))")
    time.sleep(IDLE_SECONDS * 2.5)
    assert len(offers(bot_texts(browser))) == 1
    # A reload is the same browser session: the widget does not signal again.
    open_checkout(browser, servers)
    time.sleep(IDLE_SECONDS * 2.5)
    assert tracker_offers(servers, "web:cust-mehmet") == (1, 1)
    # The bot enforces it too: a second signal in the same session gets no second offer.
    assert servers.say("web:cust-mehmet", '/EXTERNAL_checkout_stalled{"checkout_signal": "exit"}') == []
    assert tracker_offers(servers, "web:cust-mehmet") == (2, 1)
    # Checkout questions are answered from the KB, with the article's link.
    browser.find_element(By.CSS_SELECTOR, ".destek-launcher").click()
    for question, url in CHECKOUT_QUESTIONS:
        field = browser.find_element(By.ID, "destek-input")
        field.send_keys(question)
        field.submit()
        wait_for(browser, lambda d, url=url: d.find_elements(By.CSS_SELECTOR, f".destek-bot a[href='{url}']"))


def reminder_campaigns(servers: Servers, customer_id: str) -> list[dict[str, Any]]:
    """The scheduler's rows (campaigns + campaign_recipients) for this customer's cart reminders."""
    store = CampaignStore(servers.database)
    found = []
    for nudge in CheckoutRecovery(servers.database).reminders(customer_id):
        campaign = store.campaign_by_key(nudge["dedup_key"])
        assert campaign is not None
        found.append({**campaign, "recipients": store.recipients(campaign["id"])})
    return found


def test_leaving_schedules_a_reminder_ordering_cancels_it_and_counts_the_recovered_cart(servers: Servers, browser: WebDriver) -> None:
    login(browser, servers, "ayse")  # marketing consent and a WhatsApp number
    add_to_cart(browser, servers, "ethernet-cable")
    open_checkout(browser, servers)
    wait_for(browser, lambda d: offers(bot_texts(d)))  # the offer: a nudge that can recover the cart
    browser.get(servers.support_url + "/")  # leaves the checkout page: pagehide → beacon
    [reminder] = wait_for(browser, lambda _: reminder_campaigns(servers, "cust-ayse"))
    assert reminder["kind"] == "cart_reminder" and reminder["purpose"] == "marketing" and reminder["status"] == "scheduled"
    assert 59 * 60 < reminder["send_at"] - time.time() <= 60 * 60  # CART_REMINDER_DELAY_MINUTES=60
    [recipient] = reminder["recipients"]
    assert recipient["address"] == "whatsapp:+905551110001" and recipient["state"] == "pending"
    assert "Merhaba Ayşe, sepetinizdeki 1 ürün (149,50 TL) sizi bekliyor" in recipient["text"]

    open_checkout(browser, servers)
    browser.find_element(By.CSS_SELECTOR, "#place-order button[type='submit']").click()
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "p.ordered"))
    [cancelled] = reminder_campaigns(servers, "cust-ayse")
    assert cancelled["status"] == "canceled" and cancelled["recipients"][0]["state"] == "canceled"
    summary = recovered_carts_summary(servers.database)
    assert summary == {"recovered_carts": 1, "recovered_kurus": 14950, "by_via": {"prompt": 1}}
    assert CustomerStore(servers.database).cart("cust-ayse")["status"] == "ordered"


def test_no_reminder_without_marketing_consent_and_the_earlier_offer_still_counts(servers: Servers, browser: WebDriver) -> None:
    login(browser, servers, "mehmet")  # no marketing consent; a new browser, but the same Rasa session as the first test
    add_to_cart(browser, servers, "range-extender")
    open_checkout(browser, servers)
    time.sleep(IDLE_SECONDS * 2.5)  # the widget signals again (new browser session); the bot does not repeat its offer
    assert not offers(bot_texts(browser))
    assert tracker_offers(servers, "web:cust-mehmet")[1] == 1
    browser.get(servers.support_url + "/")  # leaves: the beacon arrives, but no consent → no reminder
    time.sleep(3)
    assert reminder_campaigns(servers, "cust-mehmet") == []
    open_checkout(browser, servers)
    browser.find_element(By.CSS_SELECTOR, "#place-order button[type='submit']").click()
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "p.ordered"))
    # Ordered after the offer made earlier in the session (within the recovery window): recovered.
    assert recovered_carts_summary(servers.database) == {
        "recovered_carts": 2,
        "recovered_kurus": 14950 + 89990,
        "by_via": {"prompt": 2},
    }
