"""customer_store on a real SQLite file."""

import time

import pytest

from customer_store.store import CustomerStore
from storage.database import Database


@pytest.fixture
def store(database: Database) -> CustomerStore:
    store = CustomerStore(database)
    store.seed_demo_customers()
    return store


def test_identities_lead_to_one_customer(store: CustomerStore) -> None:
    assert store.customer_for("web", "ayse") == "cust-ayse"
    assert store.customer_for("phone", "whatsapp:+905551110001") == "cust-ayse"
    assert store.customer_for("phone", "+90 555 111 0001") == "cust-ayse"
    assert store.customer_for("email", "AYSE@example.com") == "cust-ayse"
    assert store.customer_for("phone", "+905559999999") is None
    assert store.customer("cust-ayse")["plan"] == "Fiber 100"


def test_customer_behind_a_sender_id(store: CustomerStore) -> None:
    assert store.customer_for_sender("whatsapp:+905551110002") == "cust-john"
    assert store.customer_for_sender("web:cust-john") == "cust-john"
    assert store.customer_for_sender("web:anon-123") is None
    assert store.customer_for_sender("shell-abc") is None


def test_conversations_across_channels(store: CustomerStore) -> None:
    store.record_conversation("cust-john", "web", "web:cust-john")
    store.record_conversation("cust-john", "whatsapp", "whatsapp:+905551110002")
    store.record_conversation("cust-john", "web", "web:cust-john")
    conversations = store.conversations("cust-john")
    assert [c["sender_id"] for c in conversations] == ["web:cust-john", "whatsapp:+905551110002"]
    assert conversations[0]["last_seen"] >= conversations[0]["first_seen"]


def test_context_is_merged(store: CustomerStore) -> None:
    store.remember_context("cust-ayse", language="tr", last_query="kargom nerede")
    store.remember_context("cust-ayse", last_article_id="order-tracking-tr")
    assert store.context("cust-ayse") == {"language": "tr", "last_query": "kargom nerede", "last_article_id": "order-tracking-tr"}
    assert store.context("cust-john") == {}


def test_opt_out_and_back_in(store: CustomerStore) -> None:
    address = "whatsapp:+905551110003"
    assert not store.is_opted_out(address)
    store.set_opt_out(address, True, reason="DUR")
    assert store.is_opted_out(address)
    store.set_opt_out(address, False, reason="BAŞLA")
    assert not store.is_opted_out(address)


def test_bad_input_is_refused(store: CustomerStore) -> None:
    with pytest.raises(ValueError, match="identity kind 'fax'"):
        store.link_identity("cust-ayse", "fax", "123")
    with pytest.raises(ValueError, match="unknown customer field 'shoe_size'"):
        store.upsert_customer("cust-ayse", shoe_size="42")


def test_consent_is_per_purpose_and_latest_wins(store: CustomerStore) -> None:
    store.upsert_customer("c1", name="Deniz Kaya")
    assert not store.has_consent("c1", "marketing")
    store.set_consent("c1", "marketing", True, source="checkout form")
    assert store.has_consent("c1", "marketing") and not store.has_consent("c1", "service_notices")
    store.set_consent("c1", "marketing", False, source="chat")
    assert not store.has_consent("c1", "marketing")
    with pytest.raises(ValueError, match="consent purpose 'newsletter'"):
        store.set_consent("c1", "newsletter", True, source="form")


def test_profile_has_first_name_and_a_time_zone(store: CustomerStore) -> None:
    store.upsert_customer("c1", name="Deniz Kaya")
    profile = store.customer("c1")
    assert profile is not None
    assert (profile["first_name"], profile["timezone"]) == ("Deniz", "Europe/Istanbul")


def test_orders_newest_first_and_carts(store: CustomerStore) -> None:
    store.upsert_customer("c1", name="Deniz Kaya")
    store.record_order("c1", "o-1", [{"product_id": "p", "quantity": 1}], 1000)
    store.record_order("c1", "o-2", [{"product_id": "q", "quantity": 2}], 2000)
    assert [order["order_id"] for order in store.recent_orders("c1")] == ["o-2", "o-1"]
    assert store.recent_orders("c1")[0]["items"] == [{"product_id": "q", "quantity": 2}]
    assert store.cart("anon-1") is None
    store.save_cart("anon-1", [{"product_id": "p", "quantity": 3}], 3000)
    assert store.cart("anon-1")["status"] == "open"
    store.mark_cart_ordered("anon-1")
    cart = store.cart("anon-1")
    assert (cart["status"], cart["total_kurus"], cart["items"]) == ("ordered", 3000, [{"product_id": "p", "quantity": 3}])


def test_last_activity_is_the_latest_channel(store: CustomerStore) -> None:
    store.upsert_customer("c1", name="Deniz Kaya")
    assert store.last_activity("c1") is None
    store.record_conversation("c1", "web", "web:c1")
    store.record_conversation("c1", "whatsapp", "whatsapp:+905550000000")
    last = store.last_activity("c1")
    assert last is not None and abs(last - time.time()) < 60


def test_demo_seed_adds_consents_and_orders_once(store: CustomerStore) -> None:
    store.seed_demo_customers()
    store.seed_demo_customers()
    assert store.has_consent("cust-ayse", "marketing") and not store.has_consent("cust-mehmet", "marketing")
    assert [order["order_id"] for order in store.recent_orders("cust-ayse")] == ["12345"]
