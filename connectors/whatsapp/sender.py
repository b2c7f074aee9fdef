"""Sending to a WhatsApp address the way WhatsApp allows it: free text inside the customer's
24-hour window; outside it an approved template (ContentSid) that invites the customer to
write, while the text waits and goes out when they do. Proactive sends respect opt-outs.

This is the one entry point for anything that writes to WhatsApp customers: bot replies,
agent replies and campaigns."""

import asyncio
import json
import logging

import aiohttp
from twilio.base.exceptions import TwilioRestException

from connectors.whatsapp.delivery_status import DeliveryStatuses
from connectors.whatsapp.text import split_message
from connectors.whatsapp.twilio_client import TwilioSender, TwilioSettings
from connectors.whatsapp.window import HeldTexts, ServiceWindows
from customer_store.store import CustomerStore
from security.secrets_policy import require
from settings.rasa_side import RasaSettings
from storage.database import Database

logger = logging.getLogger(__name__)


class WhatsAppMessenger:
    def __init__(self, settings: TwilioSettings, database: Database, store: CustomerStore) -> None:
        self.settings = settings
        self.database = database
        self.windows = ServiceWindows(database)
        self.held = HeldTexts(database)
        self.statuses = DeliveryStatuses(database)
        self.store = store
        self.sender = TwilioSender(settings)

    @classmethod
    def configured(cls, settings: RasaSettings) -> "WhatsAppMessenger":
        """SecretError when TWILIO_AUTH_TOKEN is unset or published."""
        auth_token = require("TWILIO_AUTH_TOKEN", settings.twilio_auth_token, settings.demo_secrets)
        return cls(TwilioSettings.of(settings, auth_token), settings.database(), CustomerStore(settings.database()))

    async def send(self, address: str, text: str, proactive: bool = False) -> list[str]:
        """Send `text` (split to Twilio's limit); returns the MessageSids created.

        proactive: not an answer to the customer's own message, so an opt-out suppresses it."""
        if proactive and self.store.is_opted_out(address):
            logger.info("not sending to %s: opted out", address)
            return []
        if not self.windows.is_open(address):
            return await self._send_template(address, text)
        sids = []
        for piece in split_message(text):
            sid = await self._create(address, "text", body=piece)
            if sid:
                sids.append(sid)
        return sids

    async def release_held(self, address: str) -> list[str]:
        """Send what waited for the window to reopen (call when the customer writes)."""
        sids: list[str] = []
        for text in self.held.release(address):
            sids.extend(await self.send(address, text))
        return sids

    async def _send_template(self, address: str, text: str) -> list[str]:
        if self.held.hold(address, text) > 0:
            return []  # a template inviting the customer back is already on its way
        window = self.windows.get(address)
        name = (window or {}).get("profile_name") or ""
        variables = json.dumps({"1": name}, ensure_ascii=False)
        sid = await self._create(address, "template", content_sid=self.settings.template_sid, content_variables=variables)
        return [sid] if sid else []

    async def _create(self, address: str, kind: str, **fields: object) -> str | None:
        try:
            message = await self.sender.create(address, **fields)  # type: ignore[arg-type]
        except (TwilioRestException, aiohttp.ClientError, asyncio.TimeoutError) as error:
            logger.error("WhatsApp send to %s failed: %s", address, error)
            return None
        self.statuses.record_sent(message["sid"], address, kind, message["status"] or "queued")
        return message["sid"]
