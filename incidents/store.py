"""Incidents and the customers who contacted us about them (tables `incidents`, `incident_contacts`).

Opened through storage.database like every table in the support database (SQLite or PostgreSQL).
Regions are compared folded (case, Turkish letters and diacritics ignored), so an operator's
"İstanbul-Kadıköy" matches a profile's "Istanbul-Kadikoy".
"""

import builtins
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from language.fold import fold
from storage import schema
from storage.database import Row, Store
from validation.fields import InputError, check_text, check_timestamp

SERVICES = ("internet", "tv", "mobile")
SERVICE_NAMES = {  # as customers read them
    "tr": {"internet": "internet", "tv": "TV", "mobile": "mobil hat"},
    "en": {"internet": "internet", "tv": "TV", "mobile": "mobile"},
}
MAX_MESSAGE_CHARS = 500
MAX_REGIONS = 100
MAX_REGION_CHARS = 100


class IncidentError(ValueError):
    """Bad input or an impossible change; the message is one line naming the field."""


@dataclass(frozen=True)
class Incident:
    id: int
    service: str
    regions: list[str]
    started_at: float
    eta: float
    message_tr: str
    message_en: str
    status: str
    opened_by: str
    resolved_at: float | None
    contact_count: int = 0

    def message(self, language: str | None) -> str:
        return self.message_en if language == "en" else self.message_tr

    def affects(self, region: str | None) -> bool:
        return bool(region) and fold(region or "") in {fold(name) for name in self.regions}

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "service": self.service,
            "regions": self.regions,
            "started_at": _shown_time(self.started_at),
            "eta": _shown_time(self.eta),
            "message_tr": self.message_tr,
            "message_en": self.message_en,
            "status": self.status,
            "opened_by": self.opened_by,
            "resolved_at": _shown_time(self.resolved_at),
            "contact_count": self.contact_count,
        }


def clean_regions(regions: Sequence[str]) -> list[str]:
    try:
        cleaned = [check_text(region, "regions", MAX_REGION_CHARS) for region in regions if region and region.strip()]
    except InputError as error:
        raise IncidentError(str(error)) from None
    if not cleaned:
        raise IncidentError("field 'regions': give at least one affected region")
    if len(cleaned) > MAX_REGIONS:
        raise IncidentError(f"field 'regions': at most {MAX_REGIONS} regions")
    return list(dict.fromkeys(cleaned))


def _clean_message(field: str, text: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise IncidentError(f"field '{field}': the customer message is empty")
    try:
        return check_text(text, field, MAX_MESSAGE_CHARS, multiline=True)
    except InputError as error:
        raise IncidentError(str(error)) from None


def _checked_time(field: str, value: Any) -> float:
    """Unix seconds every page and message can show (finite, 2000–2100)."""
    try:
        return check_timestamp(value, field)
    except InputError as error:
        raise IncidentError(str(error)) from None


def _shown_time(value: Any) -> float | None:
    """A stored time as the API shows it: None for one that is not a finite number."""
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


class IncidentStore(Store):
    TABLES = (schema.incidents, schema.incident_contacts)

    def open(
        self,
        service: str,
        regions: Sequence[str],
        eta: float,
        message_tr: str,
        message_en: str,
        started_at: float | None = None,
        opened_by: str = "",
    ) -> Incident:
        """Record a new open incident; every field is checked before anything is written."""
        if service not in SERVICES:
            raise IncidentError(f"field 'service': {service!r} is not one of {', '.join(SERVICES)}")
        cleaned_regions = clean_regions(regions)
        now = time.time()
        started = now if started_at is None else _checked_time("started_at", started_at)
        eta = _checked_time("eta", eta)
        if eta <= started:
            raise IncidentError("field 'eta': the expected end must be after the start")
        texts = (_clean_message("message_tr", message_tr), _clean_message("message_en", message_en))
        with self._transaction() as connection:
            inserted = connection.insert_id(
                "INSERT INTO incidents (service, regions, started_at, eta, message_tr, message_en, opened_by, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (service, json.dumps(cleaned_regions, ensure_ascii=False), started, float(eta), *texts, opened_by, now, now),
            )
            incident_id = int(inserted or 0)
        return self.get(incident_id)

    def get(self, incident_id: int) -> Incident:
        with self._transaction() as connection:
            row = connection.execute(_SELECT + " WHERE i.id = ? GROUP BY i.id", (incident_id,)).fetchone()
        if row is None:
            raise IncidentError(f"no incident with id {incident_id}")
        return _incident(row)

    def list(self, status: str | None = None) -> list[Incident]:
        """Newest first; `status` is 'open', 'resolved' or None for all."""
        if status not in (None, "open", "resolved"):
            raise IncidentError(f"field 'status': {status!r} is not one of open, resolved")
        where = " WHERE i.status = ?" if status else ""
        with self._transaction() as connection:
            rows = connection.execute(_SELECT + where + " GROUP BY i.id ORDER BY i.id DESC", (status,) if status else ()).fetchall()
        return [_incident(row) for row in rows]

    def update_eta(self, incident_id: int, eta: float) -> Incident:
        incident = self._open_one(incident_id)
        eta = _checked_time("eta", eta)
        if eta <= incident.started_at:
            raise IncidentError("field 'eta': the expected end must be after the start")
        with self._transaction() as connection:
            connection.execute("UPDATE incidents SET eta = ?, updated_at = ? WHERE id = ?", (float(eta), time.time(), incident_id))
        return self.get(incident_id)

    def resolve(self, incident_id: int) -> Incident:
        self._open_one(incident_id)
        now = time.time()
        with self._transaction() as connection:
            connection.execute(
                "UPDATE incidents SET status = 'resolved', resolved_at = ?, updated_at = ? WHERE id = ? AND status = 'open'",
                (now, now, incident_id),
            )
        return self.get(incident_id)

    def _open_one(self, incident_id: int) -> Incident:
        incident = self.get(incident_id)
        if incident.status != "open":
            raise IncidentError(f"incident {incident_id} is already resolved")
        return incident

    def open_incident_for(self, region: str | None, service: str | None = None) -> Incident | None:
        """The most recent open incident covering the region (and service, when given)."""
        if not region:
            return None
        for incident in self.list("open"):
            if incident.affects(region) and (service is None or incident.service == service):
                return incident
        return None

    def record_contact(self, incident_id: int, customer_id: str, sender_id: str) -> bool:
        """Count the customer once per incident; True when this is their first contact about it."""
        now = time.time()
        with self._transaction() as connection:
            cursor = connection.execute(
                "INSERT INTO incident_contacts (incident_id, customer_id, sender_id, first_at, last_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (incident_id, customer_id) DO NOTHING",
                (incident_id, customer_id, sender_id, now, now),
            )
            if cursor.rowcount:
                return True
            connection.execute(
                "UPDATE incident_contacts SET last_at = ?, sender_id = ? WHERE incident_id = ? AND customer_id = ?",
                (now, sender_id, incident_id, customer_id),
            )
        return False

    def contacts(self, incident_id: int) -> builtins.list[dict[str, Any]]:
        with self._transaction() as connection:
            rows = connection.execute(
                "SELECT customer_id, sender_id, first_at, last_at FROM incident_contacts WHERE incident_id = ? ORDER BY first_at",
                (incident_id,),
            ).fetchall()
        return [dict(row) for row in rows]


_SELECT = "SELECT i.*, COUNT(c.customer_id) AS contact_count FROM incidents i LEFT JOIN incident_contacts c ON c.incident_id = i.id"


def _incident(row: Row) -> Incident:
    return Incident(
        id=row["id"],
        service=row["service"],
        regions=json.loads(row["regions"]),
        started_at=row["started_at"],
        eta=row["eta"],
        message_tr=row["message_tr"],
        message_en=row["message_en"],
        status=row["status"],
        opened_by=row["opened_by"],
        resolved_at=row["resolved_at"],
        contact_count=row["contact_count"],
    )
