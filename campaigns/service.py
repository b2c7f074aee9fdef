"""What the staff page and the CLI do with campaigns, in one place: create from form-like
fields (segment or CSV), preview, test send."""

import re
import time
from datetime import datetime
from typing import Any

from campaigns.audience import AudienceError, Segment, parse_csv, segment_recipients, stored_csv_audience
from campaigns.delivery import WhatsAppDelivery
from campaigns.messages import LANGUAGES, check_texts, render
from campaigns.store import CampaignSpec, CampaignStore
from campaigns.timing import zone
from customer_store.store import CustomerStore
from settings.model import get_settings
from storage.database import Database

SAMPLE_NAME = "Ayşe Yılmaz"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def default_rate() -> float:
    """CAMPAIGNS_DEFAULT_RATE: sends per second of a campaign that names none."""
    return get_settings().proactive.campaign_rate


def parse_when(text: str, timezone: str, now: float | None = None) -> float:
    """ "now", or an ISO date-time ("2026-12-01 09:30"; without an offset it is in `timezone`)."""
    text = (text or "now").strip()
    if text.lower() == "now":
        return time.time() if now is None else now
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"field send_at: {text!r} is not 'now' or a date-time like 2026-12-01 09:30") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(timezone))
    return moment.timestamp()


def create_campaign(
    db: Database, fields: dict[str, Any], csv_data: bytes | None = None, csv_name: str = "upload.csv", created_by: str = ""
) -> int:
    """fields: name, kind, purpose, channel, message_tr, message_en, send_at, recurrence, timezone,
    rate, quiet_hours (bool or None), template_sid, and segment fields (region, plan, language,
    consent, active_within_days) when there is no CSV. Raises ValueError / AudienceError; on
    error nothing is stored."""
    customers = CustomerStore(db)
    channel = str(fields.get("channel") or "whatsapp")
    timezone = str(fields.get("timezone") or "Europe/Istanbul")
    recurrence = str(fields.get("recurrence") or "").strip()
    messages = check_texts({lang: str(fields.get(f"message_{lang}") or "") for lang in LANGUAGES})
    try:
        rate = float(fields.get("rate") or default_rate())
    except ValueError:
        raise ValueError(f"field rate: {fields.get('rate')!r} is not a number") from None
    if csv_data is not None:
        recipients = parse_csv(csv_data, customers, channel)
        audience = stored_csv_audience(csv_name, recipients, keep_list=bool(recurrence))
    else:
        segment = Segment.parse(
            {
                key: fields.get(key)
                for key in ("region", "plan", "language", "consent", "active_within_days")
                if fields.get(key) not in (None, "")
            }
        )
        recipients = segment_recipients(segment, customers, channel)
        audience = {"type": "segment", "filters": segment.describe()}
        if not recipients and not recurrence:
            raise AudienceError(["field segment: no customer matches it"])
    spec = CampaignSpec(
        name=str(fields.get("name") or ""),
        kind=str(fields.get("kind") or "announcement"),
        purpose=str(fields.get("purpose") or "marketing"),
        channel=channel,
        messages=messages,
        audience=audience,
        send_at=parse_when(str(fields.get("send_at") or "now"), timezone),
        recurrence=recurrence,
        timezone=timezone,
        quiet_hours=fields.get("quiet_hours"),
        rate=rate,
        template_sid=str(fields.get("template_sid") or ""),
        created_by=created_by,
    )
    return CampaignStore(db).create(spec, recipients)


def preview(campaign: dict[str, Any], name: str = SAMPLE_NAME) -> list[dict[str, str]]:
    """Per language: the free text (inside the 24-hour window) and what the template carries."""
    shown = []
    for lang in campaign["messages"]:
        text = render(campaign["messages"], lang, name)
        shown.append({"language": lang, "text": text, "template_sid": campaign.get("template_sid") or "(default campaign template)"})
    return shown


async def test_send(db: Database, campaign: dict[str, Any], phone: str, language: str | None = None) -> dict[str, Any]:
    """Send the campaign's text once to a staff phone, now, outside the send log and the stats."""
    phone = re.sub(r"[\s\-()]", "", phone).removeprefix("whatsapp:")
    if not E164.match(phone):
        raise ValueError(f"field phone: {phone!r} is not an E.164 number")
    text = render(campaign["messages"], language, SAMPLE_NAME)
    delivery = WhatsAppDelivery.configured(db, get_settings())
    try:
        result = await delivery.send(
            {"id": 0, "address": f"whatsapp:{phone}", "text": "[TEST] " + text, "template_sid": campaign.get("template_sid")}
        )
    finally:
        await delivery.close()
    if not result.get("sid"):
        raise RuntimeError(f"test send failed: {result.get('error', 'unknown error')}")
    return result
