"""When an incident is resolved: a "service restored — is everything working?" message to the
customers it affected, through the campaigns scheduler (purpose `service`), which enforces
opt-outs, the WhatsApp 24-hour template rule and sends exactly once per dedup key."""

import time
from collections.abc import Iterable
from typing import Any, Protocol

from incidents.store import SERVICE_NAMES, Incident

RESTORED_TEXT = {
    "tr": "Merhaba{name}, bölgenizdeki {service} kesintisi giderildi. Her şey yolunda mı? Sorun sürüyorsa bu mesaja yanıt vermeniz yeterli.",
    "en": "Hello{name}, the {service} outage in your area has been fixed. Is everything working? If not, just reply to this message.",
}


class SingleScheduler(Protocol):
    def schedule_single(self, kind: str, customer_id: str, send_at: float, message: str, purpose: str, dedup_key: str) -> Any: ...


class CustomerDirectory(Protocol):
    def customer(self, customer_id: str) -> dict[str, Any] | None: ...


def restored_message(incident: Incident, customer: dict[str, Any]) -> str:
    language = "en" if customer.get("language") == "en" else "tr"
    first_name = customer.get("first_name") or ""
    return RESTORED_TEXT[language].format(
        name=f" {first_name}" if first_name else "", service=SERVICE_NAMES[language].get(incident.service, incident.service)
    )


def dedup_key(incident_id: int, customer_id: str) -> str:
    return f"incident-{incident_id}-restored-{customer_id}"


def schedule_restored(
    incident: Incident,
    told: Iterable[str],
    subscribed: Iterable[str],
    customers: CustomerDirectory,
    scheduler: SingleScheduler,
    now: float | None = None,
) -> list[str]:
    """Schedule one follow-up per customer (told ∪ subscribed to service notices); returns their ids."""
    send_at = time.time() if now is None else now
    scheduled = []
    for customer_id in dict.fromkeys([*told, *subscribed]):
        customer = customers.customer(customer_id)
        if customer is None:
            continue
        scheduler.schedule_single(
            "service_restored",
            customer_id,
            send_at,
            restored_message(incident, customer),
            "service",
            dedup_key(incident.id, customer_id),
        )
        scheduled.append(customer_id)
    return scheduled
