"""customer_store on a real SQLite file."""

from pathlib import Path

import pytest

from customer_store.store import CustomerStore


@pytest.fixture
def store(tmp_path: Path) -> CustomerStore:
    store = CustomerStore(tmp_path / "destek.sqlite3")
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
