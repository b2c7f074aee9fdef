"""Checkout help in-process: who gets a cart reminder, replacing and cancelling it, and what
counts as a recovered cart (real SQLite; the scheduler is a recorder here, the real one runs in
tests/test_checkout_help.py)."""

from typing import Any

import pytest

from checkout.offer import offer_text
from checkout.recovery import CheckoutRecovery, recovered_carts_summary
from checkout.reminders import order_completed, schedule_cart_reminder
from customer_store.store import CustomerStore
from storage.database import Database

CABLE = [{"product_id": "ethernet-cable", "name": "Cat6", "quantity": 1, "price_kurus": 14950}]


class RecordingScheduler:
    def __init__(self, already_sent: bool = False) -> None:
        self.scheduled: list[dict[str, Any]] = []
        self.cancelled: list[str] = []
        self.already_sent = already_sent

    def schedule_single(self, kind: str, customer_id: str, send_at: float, message: str, purpose: str, dedup_key: str) -> int:
        self.scheduled.append({"kind": kind, "customer_id": customer_id, "message": message, "purpose": purpose, "key": dedup_key})
        return len(self.scheduled)

    def cancel_single(self, dedup_key: str) -> bool:
        self.cancelled.append(dedup_key)
        return not self.already_sent


@pytest.fixture()
def db(database: Database) -> Database:
    """The support database on SQLite and on PostgreSQL (tests/helpers/databases.py)."""
    CustomerStore(database).seed_demo_customers()
    return database


def test_reminder_needs_a_cart_a_phone_and_marketing_consent(db: Database) -> None:
    customers, recovery, scheduler = CustomerStore(db), CheckoutRecovery(db), RecordingScheduler()
    assert schedule_cart_reminder(customers, recovery, scheduler, "cust-ayse", 3600, "http://shop/checkout") is None  # no cart
    customers.save_cart("cust-mehmet", CABLE, 14950)
    assert schedule_cart_reminder(customers, recovery, scheduler, "cust-mehmet", 3600, "http://shop/checkout") is None  # no consent
    customers.upsert_customer("cust-nophone", name="No Phone", language="en")
    customers.set_consent("cust-nophone", "marketing", True, source="test")
    customers.save_cart("cust-nophone", CABLE, 14950)
    assert schedule_cart_reminder(customers, recovery, scheduler, "cust-nophone", 3600, "http://shop/checkout") is None
    assert scheduler.scheduled == []


def test_leaving_twice_schedules_once_and_a_changed_cart_replaces_the_reminder(db: Database) -> None:
    customers, recovery, scheduler = CustomerStore(db), CheckoutRecovery(db), RecordingScheduler()
    customers.save_cart("cust-john", CABLE, 14950)
    first = schedule_cart_reminder(customers, recovery, scheduler, "cust-john", 3600, "http://shop/checkout")
    assert schedule_cart_reminder(customers, recovery, scheduler, "cust-john", 3600, "http://shop/checkout") == first
    assert len(scheduler.scheduled) == 1
    assert scheduler.scheduled[0]["purpose"] == "marketing" and scheduler.scheduled[0]["kind"] == "cart_reminder"
    assert scheduler.scheduled[0]["message"].startswith("Hello John, the 1 item(s) in your cart (149,50 TL) are waiting")
    customers.save_cart("cust-john", CABLE * 2, 29900)
    second = schedule_cart_reminder(customers, recovery, scheduler, "cust-john", 3600, "http://shop/checkout")
    assert second != first and scheduler.cancelled == [first] and len(scheduler.scheduled) == 2


def test_recovered_only_after_a_nudge_that_reached_the_customer(db: Database) -> None:
    recovery = CheckoutRecovery(db)
    assert order_completed(recovery, RecordingScheduler, "anon-1", None, "W1", 14950) is None  # no nudge
    customers = CustomerStore(db)
    customers.save_cart("cust-john", CABLE, 14950)
    scheduler = RecordingScheduler()
    schedule_cart_reminder(customers, recovery, scheduler, "cust-john", 3600, "http://shop/checkout")
    assert order_completed(recovery, lambda: scheduler, "cust-john", "cust-john", "W2", 14950) is None  # cancelled before it went out
    customers.save_cart("cust-john", CABLE, 14950)
    sent = RecordingScheduler(already_sent=True)
    schedule_cart_reminder(customers, recovery, sent, "cust-john", 3600, "http://shop/checkout")
    recovery.record_prompt("cust-john", "cust-john")
    assert order_completed(recovery, lambda: sent, "cust-john", "cust-john", "W3", 14950) == "prompt+reminder"
    assert order_completed(recovery, lambda: sent, "cust-john", "cust-john", "W4", 14950) is None  # each nudge counts once
    assert recovered_carts_summary(db) == {"recovered_carts": 1, "recovered_kurus": 14950, "by_via": {"prompt+reminder": 1}}


def test_offer_text_ties_to_the_cart() -> None:
    small = offer_text({"total_kurus": 14950, "items": CABLE}, "tr")
    assert "Ücretsiz kargoya 350,50 TL kaldı." in small and "1.000,00 TL ve üzeri siparişlerde 12 taksite" in small
    large = offer_text({"total_kurus": 249900, "items": [{"quantity": 1}]}, "en")
    assert "Your shipping is free." in large and "up to 12 installments" in large and "coupon" in large
