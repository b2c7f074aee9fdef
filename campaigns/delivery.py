"""One campaign message to one WhatsApp address, and finding out after a crash whether Twilio
already has it.

Inside the customer's 24-hour window the text goes as free text; outside it as the approved
campaign template (ContentSid) with the text as its variable {{1}}. Sends go through the
channel's TwilioSender (the real `twilio` library, paced at TWILIO_SEND_RATE) and are recorded
in the channel's delivery statuses, so the WhatsApp channel's status callbacks land on them."""

import asyncio
import json
import logging
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioRestException

from connectors.whatsapp.delivery_status import DeliveryStatuses
from connectors.whatsapp.twilio_client import TwilioSender, TwilioSettings
from connectors.whatsapp.window import ServiceWindows
from security.secrets_policy import require
from settings.model import Settings
from settings.rasa_side import DEMO_CAMPAIGN_TEMPLATE_SID
from storage.database import Database

logger = logging.getLogger(__name__)

CLOCK_SKEW = 5.0  # seconds: our clock against Twilio's date_created (whole seconds)


class WhatsAppDelivery:
    def __init__(
        self,
        settings: TwilioSettings,
        database: Database,
        status_callback: str | None = None,
        default_template_sid: str = DEMO_CAMPAIGN_TEMPLATE_SID,
    ) -> None:
        self.settings = settings
        self.windows = ServiceWindows(database)
        self.statuses = DeliveryStatuses(database)
        self.sender = TwilioSender(settings)
        self.status_callback = status_callback
        self.default_template_sid = default_template_sid

    @classmethod
    def configured(cls, database: Database, settings: Settings) -> "WhatsAppDelivery":
        """CAMPAIGNS_STATUS_CALLBACK: unset → the WhatsApp channel's status URL; "off" → none. SecretError when
        TWILIO_AUTH_TOKEN is unset or published."""
        auth_token = require("TWILIO_AUTH_TOKEN", settings.secrets.twilio_auth_token, settings.secrets.demo_secrets)
        twilio = TwilioSettings.of(settings.whatsapp, auth_token)
        return cls(twilio, database, settings.proactive.status_callback_url(), settings.proactive.campaign_template_sid)

    def _fields(self, row: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if self.windows.is_open(row["address"]):
            return "text", {"body": row["text"]}
        variables = json.dumps({"1": row["text"]}, ensure_ascii=False)
        return "template", {"content_sid": row.get("template_sid") or self.default_template_sid, "content_variables": variables}

    async def send(self, row: dict[str, Any]) -> dict[str, Any]:
        """{"id", "sid", "kind", "status"} when Twilio took it; {"id", "failed", "error"} when it
        refused it for good; {"id", "error"} when the outcome is unknown (timeout, 5xx, 429)."""
        kind, fields = self._fields(row)
        try:
            message = await self.sender.create(row["address"], status_callback=self.status_callback, **fields)
        except TwilioRestException as error:
            definite = 400 <= int(error.status or 0) < 500 and error.status != 429
            logger.warning("campaign send to %s: %s %s", row["address"], error.code, error.msg)
            return {"id": row["id"], "failed": definite, "error": f"{error.code}: {error.msg}"}
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
            logger.warning("campaign send to %s in doubt: %r", row["address"], error)
            return {"id": row["id"], "error": repr(error)}
        self.statuses.record_sent(message["sid"], row["address"], f"campaign-{kind}", message["status"] or "queued")
        return {"id": row["id"], "sid": message["sid"], "kind": kind, "status": message["status"] or "queued"}

    async def candidates(self, row: dict[str, Any]) -> list[tuple[str, str]]:
        """(sid, kind) of messages Twilio holds that may be this row's, newest first: to the same
        address, from our number, created at or after the row was claimed, with the row's text as
        the body (free text) or inside it (template). The caller drops sids other rows own."""
        claimed = float(row["claimed_at"]) - CLOCK_SKEW
        found = []
        for message in await self.sender.recent_to(row["address"], limit=50):
            created = message["date_created"].timestamp() if message["date_created"] else 0.0
            if created < claimed:
                break  # newest first: nothing older can be ours
            if message["from"] != self.settings.whatsapp_from:
                continue
            if message["body"] == row["text"]:
                found.append((message["sid"], "text"))
            elif row["text"] in message["body"]:
                found.append((message["sid"], "template"))
        return found

    def delivery_of(self, sid: str) -> str | None:
        """The furthest status the WhatsApp channel stored from Twilio's callbacks."""
        outbound = self.statuses.get(sid)
        return str(outbound["status"]) if outbound else None

    def replied_since(self, address: str, since: float) -> bool:
        window = self.windows.get(address)
        return bool(window and window["last_inbound"] > since)

    async def close(self) -> None:
        await self.sender.close()
