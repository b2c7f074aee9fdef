"""One customer across channels: identities (web login, phone, e-mail), their conversations,
the context the bot remembers between channels, and the opt-out list.

Python 3.10-compatible, on the database layer's Core API common to SQLAlchemy 1.4 and 2.0: the Rasa
server (channels), the action server and the support app all open the same database (storage.database).
"""

import json
import time
from typing import Any

from privacy.redaction import redact_value
from storage import schema
from storage.database import Store

IDENTITY_KINDS = ("web", "phone", "email")

CONSENT_PURPOSES = ("marketing", "service_notices")
DEFAULT_TIMEZONE = "Europe/Istanbul"

_PROFILE_FIELDS = ("name", "email", "phone", "language", "region", "plan", "timezone")

DEMO_CUSTOMERS = (
    {
        "id": "cust-ayse",
        "name": "Ayşe Yılmaz",
        "login": "ayse",
        "email": "ayse@example.com",
        "phone": "+905551110001",
        "language": "tr",
        "region": "Istanbul-Kadikoy",
        "plan": "Fiber 100",
        "timezone": "Europe/Istanbul",
    },
    {
        "id": "cust-john",
        "name": "John Smith",
        "login": "john",
        "email": "john@example.com",
        "phone": "+905551110002",
        "language": "en",
        "region": "Izmir-Alsancak",
        "plan": "Fiber 500",
        "timezone": "Europe/Istanbul",
    },
    {
        "id": "cust-mehmet",
        "name": "Mehmet Demir",
        "login": "mehmet",
        "email": "mehmet@example.com",
        "phone": "+905551110003",
        "language": "tr",
        "region": "Ankara-Cankaya",
        "plan": "Fiber 50",
        "timezone": "Europe/Istanbul",
    },
)
# Demo consents (purpose → granted) and past orders, so segments, reminders and the agent's
# context card have something to show.
DEMO_CONSENTS = {
    "cust-ayse": {"marketing": True, "service_notices": True},
    "cust-john": {"marketing": True, "service_notices": False},
    "cust-mehmet": {"marketing": False, "service_notices": True},
}
DEMO_ORDERS: tuple[dict[str, Any], ...] = (
    {
        "order_id": "12345",
        "customer_id": "cust-ayse",
        "total_kurus": 249900,
        "status": "delivered",
        "items": [{"product_id": "fiber-modem", "name": "Fiber Modem AX3000", "quantity": 1, "price_kurus": 249900}],
    },
    {
        "order_id": "12377",
        "customer_id": "cust-john",
        "total_kurus": 89990,
        "status": "shipped",
        "items": [{"product_id": "range-extender", "name": "Range Extender", "quantity": 1, "price_kurus": 89990}],
    },
)


class CustomerStore(Store):
    TABLES = (
        schema.customers,
        schema.customer_identities,
        schema.customer_conversations,
        schema.customer_context,
        schema.opt_outs,
        schema.consents,
        schema.orders,
        schema.carts,
    )

    # customers and identities

    def upsert_customer(self, customer_id: str, **profile: str | None) -> None:
        """Create the customer or update the given profile fields (None leaves a field as it is)."""
        unknown = set(profile) - set(_PROFILE_FIELDS)
        if unknown:
            raise ValueError(f"unknown customer field {sorted(unknown)[0]!r}")
        values = {name: value for name, value in profile.items() if value is not None}
        with self._transaction() as connection:
            connection.execute("INSERT INTO customers (id, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING", (customer_id, time.time()))
            for name, value in values.items():
                connection.execute(f"UPDATE customers SET {name} = ? WHERE id = ?", (value, customer_id))

    def link_identity(self, customer_id: str, kind: str, value: str) -> None:
        """Bind a web login, phone number (E.164) or e-mail to the customer."""
        if kind not in IDENTITY_KINDS:
            raise ValueError(f"identity kind {kind!r} is not one of {', '.join(IDENTITY_KINDS)}")
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO customer_identities (kind, value, customer_id) VALUES (?, ?, ?) "
                "ON CONFLICT (kind, value) DO UPDATE SET customer_id = excluded.customer_id",
                (kind, _normalised(kind, value), customer_id),
            )

    def customer_for(self, kind: str, value: str) -> str | None:
        with self._transaction() as connection:
            row = connection.execute(
                "SELECT customer_id FROM customer_identities WHERE kind = ? AND value = ?", (kind, _normalised(kind, value))
            ).fetchone()
        return row["customer_id"] if row else None

    def customer_for_sender(self, sender_id: str) -> str | None:
        """The customer behind a Rasa sender id: `whatsapp:+90…` by phone, `web:<customer id>` when known."""
        channel, _, address = sender_id.partition(":")
        if channel == "whatsapp" and address:
            return self.customer_for("phone", address)
        if channel == "web" and address and self.customer(address) is not None:
            return address
        return None

    def customer(self, customer_id: str) -> dict[str, Any] | None:
        """The profile, with `first_name` (for templates) and a time zone (the default when unknown)."""
        with self._transaction() as connection:
            row = connection.execute("SELECT * FROM customers WHERE id = ?", (customer_id,)).fetchone()
        if row is None:
            return None
        profile = dict(row)
        profile["first_name"] = (profile.get("name") or "").split(" ")[0] or None
        profile["timezone"] = profile.get("timezone") or DEFAULT_TIMEZONE
        return profile

    def last_activity(self, customer_id: str) -> float | None:
        """When the customer last wrote on any channel (Unix seconds), or None."""
        with self._transaction() as connection:
            row = connection.execute(
                "SELECT MAX(last_seen) AS last_seen FROM customer_conversations WHERE customer_id = ?", (customer_id,)
            ).fetchone()
        return float(row["last_seen"]) if row and row["last_seen"] is not None else None

    # conversations and remembered context

    def record_conversation(self, customer_id: str, channel: str, sender_id: str) -> None:
        now = time.time()
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO customer_conversations (customer_id, channel, sender_id, first_seen, last_seen) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (customer_id, sender_id) DO UPDATE SET last_seen = excluded.last_seen",
                (customer_id, channel, sender_id, now, now),
            )

    def conversations(self, customer_id: str) -> list[dict[str, Any]]:
        """Every conversation of the customer on any channel, most recent first."""
        with self._transaction() as connection:
            rows = connection.execute(
                "SELECT channel, sender_id, first_seen, last_seen FROM customer_conversations WHERE customer_id = ? ORDER BY last_seen DESC",
                (customer_id,),
            ).fetchall()
        return [dict(row) for row in rows]

    def remember_context(self, customer_id: str, **values: Any) -> None:
        """Merge values (JSON-serialisable, redacted) into what the bot remembers about the customer."""
        with self._transaction(write=True) as connection:
            row = connection.execute(
                "SELECT data FROM customer_context WHERE customer_id = ?" + connection.for_update(), (customer_id,)
            ).fetchone()
            data = {**(json.loads(row["data"]) if row else {}), **redact_value(values)}
            connection.execute(
                "INSERT INTO customer_context (customer_id, data, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (customer_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
                (customer_id, json.dumps(data, ensure_ascii=False), time.time()),
            )

    def context(self, customer_id: str) -> dict[str, Any]:
        with self._transaction() as connection:
            row = connection.execute("SELECT data FROM customer_context WHERE customer_id = ?", (customer_id,)).fetchone()
        return json.loads(row["data"]) if row else {}

    # opt-outs (the suppression list always wins over any send)

    def set_opt_out(self, address: str, opted_out: bool, reason: str = "") -> None:
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO opt_outs (address, opted_out, reason, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (address) DO UPDATE SET opted_out = excluded.opted_out, reason = excluded.reason, updated_at = excluded.updated_at",
                (address, int(opted_out), reason, time.time()),
            )

    def is_opted_out(self, address: str) -> bool:
        with self._transaction() as connection:
            row = connection.execute("SELECT opted_out FROM opt_outs WHERE address = ?", (address,)).fetchone()
        return bool(row and row["opted_out"])

    # consents (marketing needs one; service messages do not; an opt-out always wins)

    def set_consent(self, customer_id: str, purpose: str, granted: bool, source: str) -> None:
        """Record the customer's latest yes/no for a purpose and where it came from (form, chat, import…)."""
        if purpose not in CONSENT_PURPOSES:
            raise ValueError(f"consent purpose {purpose!r} is not one of {', '.join(CONSENT_PURPOSES)}")
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO consents (customer_id, purpose, granted, source, recorded_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (customer_id, purpose) DO UPDATE SET granted = excluded.granted, source = excluded.source, "
                "recorded_at = excluded.recorded_at",
                (customer_id, purpose, int(granted), source, time.time()),
            )

    def has_consent(self, customer_id: str, purpose: str) -> bool:
        with self._transaction() as connection:
            row = connection.execute(
                "SELECT granted FROM consents WHERE customer_id = ? AND purpose = ?", (customer_id, purpose)
            ).fetchone()
        return bool(row and row["granted"])

    def customers_with_consent(self, purpose: str) -> list[dict[str, Any]]:
        """Profiles of every customer whose latest answer for the purpose is yes."""
        with self._transaction() as connection:
            rows = connection.execute(
                "SELECT c.* FROM customers c JOIN consents k ON k.customer_id = c.id WHERE k.purpose = ? AND k.granted = 1 ORDER BY c.id",
                (purpose,),
            ).fetchall()
        return [dict(row) for row in rows]

    # orders and carts (the demo shop writes them; the agent's card and cart reminders read them)

    def record_order(self, customer_id: str, order_id: str, items: list[dict[str, Any]], total_kurus: int, status: str = "placed") -> None:
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO orders (order_id, customer_id, items, total_kurus, status, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (order_id, customer_id, json.dumps(items, ensure_ascii=False), total_kurus, status, time.time()),
            )

    def recent_orders(self, customer_id: str, limit: int = 5) -> list[dict[str, Any]]:
        with self._transaction() as connection:
            rows = connection.execute(
                "SELECT * FROM orders WHERE customer_id = ? ORDER BY created_at DESC LIMIT ?", (customer_id, limit)
            ).fetchall()
        return [{**dict(row), "items": json.loads(row["items"])} for row in rows]

    def save_cart(self, subject: str, items: list[dict[str, Any]], total_kurus: int) -> None:
        """The cart of a customer id or an anonymous web chat subject; an empty cart is stored as such."""
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO carts (subject, items, total_kurus, status, updated_at) VALUES (?, ?, ?, 'open', ?) "
                "ON CONFLICT (subject) DO UPDATE SET items = excluded.items, total_kurus = excluded.total_kurus, "
                "status = 'open', updated_at = excluded.updated_at",
                (subject, json.dumps(items, ensure_ascii=False), total_kurus, time.time()),
            )

    def cart(self, subject: str) -> dict[str, Any] | None:
        with self._transaction() as connection:
            row = connection.execute("SELECT * FROM carts WHERE subject = ?", (subject,)).fetchone()
        return {**dict(row), "items": json.loads(row["items"])} if row else None

    def mark_cart_ordered(self, subject: str) -> None:
        with self._transaction() as connection:
            connection.execute("UPDATE carts SET status = 'ordered', updated_at = ? WHERE subject = ?", (time.time(), subject))

    def seed_demo_customers(self) -> None:
        """The demo shop's customers (password "demo" in the shop), idempotent."""
        for demo in DEMO_CUSTOMERS:
            profile = {name: demo[name] for name in _PROFILE_FIELDS}
            self.upsert_customer(demo["id"], **profile)
            self.link_identity(demo["id"], "web", demo["login"])
            self.link_identity(demo["id"], "phone", demo["phone"])
            self.link_identity(demo["id"], "email", demo["email"])
        with self._transaction() as connection:
            known_consents = {row[0] for row in connection.execute("SELECT DISTINCT customer_id FROM consents")}
            known_orders = {row[0] for row in connection.execute("SELECT order_id FROM orders")}
        for customer_id, purposes in DEMO_CONSENTS.items():
            if customer_id not in known_consents:
                for purpose, granted in purposes.items():
                    self.set_consent(customer_id, purpose, granted, source="demo")
        for order in DEMO_ORDERS:
            if order["order_id"] not in known_orders:
                self.record_order(order["customer_id"], order["order_id"], order["items"], order["total_kurus"], order["status"])


def _normalised(kind: str, value: str) -> str:
    value = value.strip()
    if kind == "phone":
        value = value.removeprefix("whatsapp:").replace(" ", "")
    elif kind == "email":
        value = value.lower()
    return value
