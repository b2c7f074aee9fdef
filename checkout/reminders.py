"""WhatsApp cart reminders through the campaigns scheduler (which enforces quiet hours, consent,
opt-outs, the 24-hour template rule, and sends exactly once per dedup key)."""

import time
from collections.abc import Callable
from typing import Any, Protocol

from checkout.catalogue import total_text
from checkout.recovery import CheckoutRecovery
from customer_store.store import CustomerStore

REMINDER_TEXT = {
    "tr": "Merhaba{name}, sepetinizdeki {count} ürün ({total}) sizi bekliyor. Siparişinizi tamamlamak için: {url} "
    "Sorunuz olursa bu mesaja yazabilirsiniz.",
    "en": "Hello{name}, the {count} item(s) in your cart ({total}) are waiting for you. Complete your order here: {url} "
    "Questions? Just reply to this message.",
}


class SingleScheduler(Protocol):
    def schedule_single(self, kind: str, customer_id: str, send_at: float, message: str, purpose: str, dedup_key: str) -> Any: ...

    def cancel_single(self, dedup_key: str) -> Any: ...


def reminder_text(profile: dict, cart: dict, checkout_url: str) -> str:
    language = "en" if profile.get("language") == "en" else "tr"
    first_name = profile.get("first_name")
    count = sum(int(item.get("quantity") or 0) for item in cart["items"])
    return REMINDER_TEXT[language].format(
        name=f" {first_name}" if first_name else "",
        count=count,
        total=total_text(int(cart["total_kurus"])),
        url=checkout_url,
    )


def schedule_cart_reminder(
    customers: CustomerStore,
    recovery: CheckoutRecovery,
    scheduler: SingleScheduler,
    customer_id: str,
    delay_seconds: float,
    checkout_url: str,
    now: float | None = None,
) -> str | None:
    """Schedule a reminder for the customer's open cart; returns its dedup key, or None when the
    customer does not qualify (empty cart, no WhatsApp number, no marketing consent).

    The key names the cart version, so leaving the page twice with the same cart schedules one
    reminder, and a changed cart replaces the pending reminder of the old one."""
    cart = customers.cart(customer_id)
    profile = customers.customer(customer_id)
    if not cart or cart["status"] != "open" or not cart["items"] or profile is None or not profile.get("phone"):
        return None
    if not customers.has_consent(customer_id, "marketing"):
        return None
    key = f"cart-reminder-{customer_id}-{int(cart['updated_at'] * 1000)}"
    pending = recovery.pending_reminder(customer_id)
    if pending is not None and pending["dedup_key"] == key:
        return key
    if pending is not None:
        cancel_reminder(recovery, scheduler, pending)
    send_at = (time.time() if now is None else now) + delay_seconds
    scheduler.schedule_single("cart_reminder", customer_id, send_at, reminder_text(profile, cart, checkout_url), "marketing", key)
    recovery.record_reminder(customer_id, customer_id, key, send_at)
    return key


def cancel_reminder(recovery: CheckoutRecovery, scheduler: SingleScheduler, pending: dict) -> bool:
    """Cancel a pending reminder; False when it had already gone out (it then counts for recovery)."""
    if scheduler.cancel_single(pending["dedup_key"]):
        recovery.mark_cancelled(pending["id"])
        return True
    return False


def order_completed(
    recovery: CheckoutRecovery,
    scheduler: Callable[[], SingleScheduler],
    subject: str,
    customer_id: str | None,
    order_id: str,
    total_kurus: int,
) -> str | None:
    """Cancel the pending reminder (if it has not gone out) and count the cart when a nudge recovered it.
    `scheduler` is opened only when there is a reminder to cancel."""
    pending = recovery.pending_reminder(subject)
    if pending is not None:
        cancel_reminder(recovery, scheduler(), pending)
    return recovery.order_placed(subject, customer_id, order_id, total_kurus)
