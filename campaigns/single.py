"""One-off proactive messages for other packages: cart reminders, "service restored" follow-ups.

    from campaigns import schedule_single, cancel_single
    schedule_single("cart_reminder", "cust-ayse", time.time() + 3600, "Sepetinizde 2 ürün var…",
                    purpose="marketing", dedup_key="cart:cust-ayse:1732350000")
    cancel_single("cart:cust-ayse:1732350000")   # e.g. the customer ordered in the meantime

The scheduler process sends it (quiet hours, consent, opt-outs, 24-hour window all applied).
"""

from campaigns.store import CampaignSpec, CampaignStore, Recipient
from customer_store.store import CustomerStore
from settings.model import get_settings
from storage.database import Database


def recipient_for(customer: dict, channel: str) -> Recipient:
    """The customer's WhatsApp address or their web chat identity."""
    address = f"whatsapp:{customer['phone']}" if channel == "whatsapp" else f"web:{customer['id']}"
    return Recipient(
        address=address,
        customer_id=customer["id"],
        name=customer.get("name") or "",
        language=customer.get("language") or "",
        timezone=customer.get("timezone") or "",
    )


def schedule_single(
    kind: str,
    customer_id: str,
    send_at: float,
    message: str,
    purpose: str,
    dedup_key: str,
    channel: str | None = None,
    db: Database | None = None,
) -> int:
    """Schedule one message to one customer; returns the campaign id.

    kind: outage_notice | announcement | cart_reminder | service_restored; purpose: service | marketing.
    channel: whatsapp | web; default WhatsApp when the customer has a phone number, else web.
    Idempotent: the same dedup_key again returns the first campaign's id and schedules nothing.
    Raises ValueError (unknown customer, bad field) and changes nothing then."""
    path = db or get_settings().storage.url()
    if not dedup_key:
        raise ValueError("field dedup_key: required (it makes a retried call harmless)")
    customer = CustomerStore(path).customer(customer_id)
    if customer is None:
        raise ValueError(f"field customer_id: no customer {customer_id!r}")
    channel = channel or ("whatsapp" if customer.get("phone") else "web")
    if channel == "whatsapp" and not customer.get("phone"):
        raise ValueError(f"field channel: customer {customer_id!r} has no phone number for WhatsApp")
    language = str(customer["language"]) if customer.get("language") in ("tr", "en") else "tr"
    spec = CampaignSpec(
        name=f"{kind} for {customer_id}",
        kind=kind,
        purpose=purpose,
        channel=channel,
        messages={language: message.replace("{", "{{").replace("}", "}}")},
        audience={"type": "single", "customer_id": customer_id},
        send_at=send_at,
        timezone=customer.get("timezone") or "Europe/Istanbul",
        dedup_key=dedup_key,
        created_by="system",
    )
    return CampaignStore(path).create(spec, [recipient_for(customer, channel)])


def cancel_single(dedup_key: str, db: Database | None = None) -> bool:
    """Cancel a one-off message that has not gone out yet; False when there was nothing to cancel."""
    store = CampaignStore(db or get_settings().storage.url())
    campaign = store.campaign_by_key(dedup_key)
    if campaign is None or campaign["status"] not in ("scheduled", "running", "paused"):
        return False
    store.cancel(campaign["id"])
    return store.stats(campaign["id"])["canceled"] > 0


class CampaignsScheduler:
    """schedule_single / cancel_single bound to one support database, for the packages that schedule
    one-off messages (incident follow-ups, checkout's cart reminders). `cancel_single` is True when it
    stopped an unsent message."""

    def __init__(self, database_path: Database) -> None:
        self.database_path = database_path

    def schedule_single(self, kind: str, customer_id: str, send_at: float, message: str, purpose: str, dedup_key: str) -> int:
        return schedule_single(kind, customer_id, send_at, message, purpose, dedup_key, db=self.database_path)

    def cancel_single(self, dedup_key: str) -> bool:
        return cancel_single(dedup_key, db=self.database_path)
