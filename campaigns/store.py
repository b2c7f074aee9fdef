"""Campaigns and their send log in the support database (DESTEK_DB).

Tables (owned here): `campaigns`, `campaign_recipients` (the send log: one row per campaign and
recipient address, UNIQUE), `campaign_web_notices` (texts waiting for a web customer's next
visit) and `scheduler_lease`. The scheduler's side of the send log is in `campaigns.sendlog`.

States of a send-log row: pending → sending (committed before the provider is called) → sent,
or skipped (reason), failed (the provider refused it), canceled.
"""

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from campaigns.messages import check_texts, render
from campaigns.timing import QuietHours, check_recurrence, next_occurrence, valid_timezone
from storage import schema
from storage.database import Connection, Database, Row, Store
from validation.fields import check_text, check_timestamp

KINDS = ("outage_notice", "announcement", "cart_reminder", "service_restored")
PURPOSES = ("service", "marketing")
CHANNELS = ("whatsapp", "web")
ACTIVE = ("scheduled", "running")


@dataclass(frozen=True)
class Recipient:
    """Who gets a message: a WhatsApp address (`whatsapp:+90…`) or a web customer (`web:<customer id>`)."""

    address: str
    customer_id: str | None = None
    name: str = ""
    language: str = ""
    timezone: str = ""
    skip_reason: str = ""  # known at selection time (e.g. no_address): stored as skipped


@dataclass(frozen=True)
class CampaignSpec:
    """What staff (page, CLI) or another package asks for; checked by `CampaignStore.create`."""

    name: str
    kind: str
    purpose: str
    channel: str
    messages: dict[str, str]
    audience: dict[str, Any]  # {"type": "segment", "filters": {...}} | {"type": "csv", ...} | {"type": "single", ...}
    send_at: float
    recurrence: str = ""
    timezone: str = "Europe/Istanbul"
    quiet_hours: bool | None = None  # None: on for marketing (always), off for service notices
    rate: float = 10.0
    template_sid: str = ""
    created_by: str = ""
    dedup_key: str | None = None


class CampaignStore(Store):
    TABLES = (schema.campaigns, schema.campaign_recipients, schema.campaign_web_notices, schema.scheduler_lease)

    def __init__(self, database: Database, quiet: QuietHours | None = None) -> None:
        super().__init__(database)
        self.quiet = quiet or QuietHours.configured()

    # creating campaigns

    def create(self, spec: CampaignSpec, recipients: Iterable[Recipient] = ()) -> int:
        """Store a campaign and (unless it recurs) its recipients, all in one transaction.

        Raises ValueError naming the field. With a dedup_key that exists, returns that campaign."""
        spec = _checked(spec)
        now = time.time()
        status = "recurring" if spec.recurrence else "scheduled"
        next_run = next_occurrence(spec.recurrence, spec.send_at - 1, spec.timezone) if spec.recurrence else None
        with self._transaction(write=True) as connection:
            if spec.dedup_key:
                row = connection.execute("SELECT id FROM campaigns WHERE dedup_key = ?", (spec.dedup_key,)).fetchone()
                if row:
                    return int(row["id"])
            inserted = connection.insert_id(
                "INSERT INTO campaigns (name, kind, purpose, channel, messages, audience, send_at, recurrence, timezone, "
                "quiet_hours, rate, template_sid, status, next_run_at, dedup_key, created_by, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    spec.name,
                    spec.kind,
                    spec.purpose,
                    spec.channel,
                    json.dumps(spec.messages, ensure_ascii=False),
                    json.dumps(spec.audience, ensure_ascii=False),
                    spec.send_at,
                    spec.recurrence,
                    spec.timezone,
                    int(bool(spec.quiet_hours)),
                    spec.rate,
                    spec.template_sid,
                    status,
                    next_run,
                    spec.dedup_key,
                    spec.created_by,
                    now,
                    now,
                ),
            )
            if inserted is None:  # the same dedup_key, stored meanwhile by another process (the UNIQUE constraint)
                return int(connection.execute("SELECT id FROM campaigns WHERE dedup_key = ?", (spec.dedup_key,)).scalar())
            campaign_id = inserted
            if not spec.recurrence:
                self._insert_recipients(connection, campaign_id, spec, spec.send_at, recipients)
        return campaign_id

    def create_occurrence(self, parent_id: int, occurrence_at: float, recipients: Iterable[Recipient]) -> int | None:
        """One run of a recurring campaign (at most one per occurrence time); moves the parent's next run on."""
        parent = self.campaign(parent_id)
        if parent is None or parent["status"] != "recurring":
            return None
        spec = _spec_of(parent)
        now = time.time()
        with self._transaction(write=True) as connection:
            child_id = connection.insert_id(
                "INSERT INTO campaigns (name, kind, purpose, channel, messages, audience, send_at, recurrence, timezone, "
                "quiet_hours, rate, template_sid, status, parent_id, occurrence_at, created_by, created_at, updated_at) "
                "SELECT name, kind, purpose, channel, messages, audience, ?, '', timezone, quiet_hours, rate, template_sid, "
                "'scheduled', id, ?, created_by, ?, ? FROM campaigns WHERE id = ? ON CONFLICT DO NOTHING",
                (occurrence_at, occurrence_at, now, now, parent_id),
            )
            if child_id is not None:
                self._insert_recipients(connection, child_id, spec, occurrence_at, recipients)
            connection.execute(
                "UPDATE campaigns SET next_run_at = ?, updated_at = ? WHERE id = ?",
                (next_occurrence(parent["recurrence"], occurrence_at, parent["timezone"]), now, parent_id),
            )
        return child_id

    def _insert_recipients(
        self, connection: Connection, campaign_id: int, spec: CampaignSpec, send_at: float, recipients: Iterable[Recipient]
    ) -> None:
        rows = []
        for recipient in recipients:
            due = self.quiet.defer(send_at, recipient.timezone) if spec.quiet_hours else send_at
            text = render(spec.messages, recipient.language, recipient.name)
            rows.append(
                (
                    campaign_id,
                    recipient.address,
                    recipient.customer_id,
                    recipient.name,
                    recipient.language,
                    recipient.timezone,
                    text,
                    due,
                    int(due > send_at),
                    "skipped" if recipient.skip_reason else "pending",
                    recipient.skip_reason,
                )
            )
        connection.executemany(
            "INSERT INTO campaign_recipients (campaign_id, address, customer_id, name, language, timezone, text, due_at, "
            "deferred, state, skip_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            rows,
        )

    # reading

    def campaign(self, campaign_id: int) -> dict[str, Any] | None:
        with self._transaction() as connection:
            row = connection.execute("SELECT * FROM campaigns WHERE id = ?", (campaign_id,)).fetchone()
        return _campaign_dict(row) if row else None

    def campaign_by_key(self, dedup_key: str) -> dict[str, Any] | None:
        with self._transaction() as connection:
            row = connection.execute("SELECT * FROM campaigns WHERE dedup_key = ?", (dedup_key,)).fetchone()
        return _campaign_dict(row) if row else None

    def campaigns(self, include_singles: bool = False, limit: int = 200) -> list[dict[str, Any]]:
        """Newest first; one-off messages (dedup_key set) only when asked for."""
        where = "" if include_singles else "WHERE dedup_key IS NULL"
        with self._transaction() as connection:
            rows = connection.execute(f"SELECT * FROM campaigns {where} ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [_campaign_dict(row) for row in rows]

    def due_recurring(self, now: float) -> list[dict[str, Any]]:
        with self._transaction() as connection:
            rows = connection.execute(
                "SELECT * FROM campaigns WHERE status = 'recurring' AND next_run_at <= ? ORDER BY next_run_at", (now,)
            ).fetchall()
        return [_campaign_dict(row) for row in rows]

    def recipients(self, campaign_id: int, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        with self._transaction() as connection:
            rows = connection.execute(
                "SELECT * FROM campaign_recipients WHERE campaign_id = ? ORDER BY id LIMIT ? OFFSET ?", (campaign_id, limit, offset)
            ).fetchall()
        return [dict(row) for row in rows]

    def stats(self, campaign_id: int) -> dict[str, Any]:
        """targeted, pending, sent, skipped (per reason), deferred, delivered, read, failed, replies, opt_outs."""
        ids = [campaign_id, *self._children(campaign_id)]
        marks = ",".join("?" * len(ids))
        with self._transaction() as connection:
            row = connection.execute(
                "SELECT count(*) AS targeted, "
                "sum(CASE WHEN state IN ('pending', 'sending') THEN 1 ELSE 0 END) AS pending, "
                "sum(CASE WHEN state = 'sent' THEN 1 ELSE 0 END) AS sent, "
                "sum(CASE WHEN state = 'skipped' THEN 1 ELSE 0 END) AS skipped, "
                "sum(CASE WHEN state = 'skipped' AND skip_reason = 'no_consent' THEN 1 ELSE 0 END) AS skipped_no_consent, "
                "sum(CASE WHEN state = 'skipped' AND skip_reason = 'opted_out' THEN 1 ELSE 0 END) AS skipped_opted_out, "
                "sum(CASE WHEN state = 'skipped' AND skip_reason = 'no_address' THEN 1 ELSE 0 END) AS skipped_no_address, "
                "sum(deferred) AS quiet_hours_deferred, "
                "sum(CASE WHEN delivery IN ('delivered', 'read') THEN 1 ELSE 0 END) AS delivered, "
                "sum(CASE WHEN delivery = 'read' THEN 1 ELSE 0 END) AS read, "
                "sum(CASE WHEN state = 'failed' OR delivery IN ('failed', 'undelivered') THEN 1 ELSE 0 END) AS failed, "
                "sum(CASE WHEN state = 'canceled' THEN 1 ELSE 0 END) AS canceled, "
                "sum(replied) AS replies, sum(opted_out_after) AS opt_outs "
                f"FROM campaign_recipients WHERE campaign_id IN ({marks})",
                ids,
            ).fetchone()
        return {key: int(value or 0) for key, value in row.items()}

    def _children(self, campaign_id: int) -> list[int]:
        with self._transaction() as connection:
            rows = connection.execute("SELECT id FROM campaigns WHERE parent_id = ?", (campaign_id,)).fetchall()
        return [int(row["id"]) for row in rows]

    # staff controls

    def pause(self, campaign_id: int) -> str:
        return self._move(campaign_id, {"scheduled": "paused", "running": "paused", "recurring": "paused"}, "pause")

    def resume(self, campaign_id: int) -> str:
        campaign = self._require(campaign_id)
        target = "recurring" if campaign["recurrence"] else "scheduled"
        return self._move(campaign_id, {"paused": target}, "resume")

    def cancel(self, campaign_id: int) -> str:
        """No further sends; what is already sent stays sent."""
        status = self._move(campaign_id, dict.fromkeys(("scheduled", "running", "paused", "recurring"), "canceled"), "cancel")
        with self._transaction() as connection:
            ids = [campaign_id, *self._children(campaign_id)]
            marks = ",".join("?" * len(ids))
            connection.execute(
                f"UPDATE campaigns SET status = 'canceled', updated_at = ? WHERE id IN ({marks}) "
                "AND status IN ('scheduled', 'running', 'paused')",
                [time.time(), *ids],
            )
            connection.execute(
                f"UPDATE campaign_recipients SET state = 'canceled' WHERE campaign_id IN ({marks}) AND state = 'pending'", ids
            )
        return status

    def _require(self, campaign_id: int) -> dict[str, Any]:
        campaign = self.campaign(campaign_id)
        if campaign is None:
            raise LookupError(f"campaign {campaign_id} does not exist")
        return campaign

    def _move(self, campaign_id: int, moves: dict[str, str], verb: str) -> str:
        campaign = self._require(campaign_id)
        target = moves.get(campaign["status"])
        if target is None:
            raise ValueError(f"campaign {campaign_id} is {campaign['status']}: cannot {verb} it")
        with self._transaction() as connection:
            connection.execute(
                "UPDATE campaigns SET status = ?, updated_at = ? WHERE id = ? AND status = ?",
                (target, time.time(), campaign_id, campaign["status"]),
            )
        return target

    # web notices (shown at the customer's next visit)

    def pending_web_notices(self, customer_id: str) -> list[dict[str, Any]]:
        with self._transaction() as connection:
            rows = connection.execute(
                "SELECT n.recipient_id, n.text FROM campaign_web_notices n JOIN campaign_recipients r ON r.id = n.recipient_id "
                "JOIN campaigns c ON c.id = r.campaign_id "
                "WHERE n.customer_id = ? AND n.shown_at IS NULL AND c.status != 'canceled' ORDER BY n.created_at",
                (customer_id,),
            ).fetchall()
        return [dict(row) for row in rows]

    def mark_web_notices_shown(self, recipient_ids: list[int]) -> None:
        """Shown in the chat: counts as delivered and read."""
        if not recipient_ids:
            return
        marks = ",".join("?" * len(recipient_ids))
        with self._transaction() as connection:
            connection.execute(
                f"UPDATE campaign_web_notices SET shown_at = ? WHERE recipient_id IN ({marks})", [time.time(), *recipient_ids]
            )
            connection.execute(f"UPDATE campaign_recipients SET delivery = 'read' WHERE id IN ({marks})", recipient_ids)


MAX_NAME_CHARS = 200
MAX_TEMPLATE_SID_CHARS = 64


def _checked(spec: CampaignSpec) -> CampaignSpec:
    """Every field checked (InputError and ValueError name the field); nothing is stored on error."""
    if not spec.name.strip():
        raise ValueError("field name: a campaign name is required")
    check_text(spec.name, "name", MAX_NAME_CHARS)
    check_text(spec.template_sid, "template_sid", MAX_TEMPLATE_SID_CHARS)
    check_timestamp(spec.send_at, "send_at")
    if spec.kind not in KINDS:
        raise ValueError(f"field kind: {spec.kind!r} is not one of {', '.join(KINDS)}")
    if spec.purpose not in PURPOSES:
        raise ValueError(f"field purpose: {spec.purpose!r} is not one of {', '.join(PURPOSES)}")
    if spec.channel not in CHANNELS:
        raise ValueError(f"field channel: {spec.channel!r} is not one of {', '.join(CHANNELS)}")
    if not valid_timezone(spec.timezone):
        raise ValueError(f"field timezone: {spec.timezone!r} is not an IANA time zone")
    if not 0 < spec.rate <= 10_000:
        raise ValueError(f"field rate: {spec.rate} is not between 0 and 10000 messages per second")
    messages = check_texts(spec.messages)
    recurrence = check_recurrence(spec.recurrence) if spec.recurrence else ""
    if spec.purpose == "marketing" and spec.quiet_hours is False:
        raise ValueError("field quiet_hours: marketing messages always respect quiet hours")
    quiet = spec.purpose == "marketing" if spec.quiet_hours is None else spec.quiet_hours
    return replace(spec, name=spec.name.strip(), messages=messages, recurrence=recurrence, quiet_hours=quiet)


def _campaign_dict(row: Row) -> dict[str, Any]:
    campaign = dict(row)
    campaign["messages"] = json.loads(campaign["messages"])
    campaign["audience"] = json.loads(campaign["audience"])
    campaign["quiet_hours"] = bool(campaign["quiet_hours"])
    return campaign


def _spec_of(campaign: dict[str, Any]) -> CampaignSpec:
    fields = {name: campaign[name] for name in CampaignSpec.__dataclass_fields__ if name in campaign}
    return CampaignSpec(**fields)
