"""Twilio settings (from settings/) and an async message sender built on the `twilio`
library. Without TWILIO_ACCOUNT_SID it talks to the local fake of Twilio's API (fake_twilio)."""

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from settings.rasa_side import DEMO_TEMPLATE_SID

FAKE_ACCOUNT_SID = "AC" + "0" * 32
FAKE_API_BASE = "http://127.0.0.1:5099"
__all__ = ["DEMO_TEMPLATE_SID", "TwilioSender", "TwilioSettings"]


class TwilioValues(Protocol):
    """The WhatsApp settings: settings.model.WhatsApp (Python 3.11) or settings.rasa_side.RasaSettings (Rasa)."""

    @property
    def account_sid(self) -> str: ...
    @property
    def whatsapp_from(self) -> str: ...
    @property
    def public_url(self) -> str: ...
    @property
    def api_base(self) -> str: ...
    @property
    def template_sid(self) -> str: ...
    @property
    def timeout(self) -> float: ...
    @property
    def send_rate(self) -> float: ...


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str
    auth_token: str
    whatsapp_from: str
    public_url: str
    api_base: str | None  # None: Twilio itself
    template_sid: str
    timeout: float
    send_rate: float  # messages per second

    @classmethod
    def of(cls, values: TwilioValues, auth_token: str) -> "TwilioSettings":
        """From the settings; `auth_token` is TWILIO_AUTH_TOKEN, already checked (security.secrets_policy.require).
        Without TWILIO_ACCOUNT_SID: the local fake of Twilio, unless TWILIO_API_BASE says where."""
        api_base = values.api_base or (None if values.account_sid else FAKE_API_BASE)
        return cls(
            account_sid=values.account_sid or FAKE_ACCOUNT_SID,
            auth_token=auth_token,
            whatsapp_from=values.whatsapp_from,
            public_url=(values.public_url or "http://localhost:5005").rstrip("/"),
            api_base=api_base.rstrip("/") if api_base else None,
            template_sid=values.template_sid,
            timeout=values.timeout,
            send_rate=values.send_rate,
        )

    @property
    def status_callback(self) -> str:
        return f"{self.public_url}/webhooks/whatsapp/status"


class _TimedHttpClient(AsyncTwilioHttpClient):
    """twilio's aiohttp client, with the client-wide timeout applied to every request."""

    async def request(self, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        return await super().request(*args, timeout=timeout or self.timeout, **kwargs)


class TwilioSender:
    """Creates messages at no more than `send_rate` per second (Twilio queues, then fails, above
    its limit). An aiohttp session belongs to one event loop, so each loop that sends (the
    server's and the WhatsApp processing loop) gets its own client, made on first use."""

    def __init__(self, settings: TwilioSettings) -> None:
        self.settings = settings
        self._clients: dict[asyncio.AbstractEventLoop, Client] = {}
        self._pace = threading.Lock()
        self._next_slot = 0.0

    def _twilio(self) -> Client:
        loop = asyncio.get_running_loop()
        if loop not in self._clients:
            http_log = logging.getLogger(f"{__name__}.http")  # twilio logs every request's headers at INFO
            if http_log.level == logging.NOTSET:
                http_log.setLevel(logging.WARNING)
            client = Client(
                self.settings.account_sid,
                self.settings.auth_token,
                http_client=_TimedHttpClient(timeout=self.settings.timeout, logger=http_log),
            )
            if self.settings.api_base:
                client.api.base_url = self.settings.api_base
            self._clients[loop] = client
        return self._clients[loop]

    async def _wait_for_slot(self) -> None:
        with self._pace:
            now = time.monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + 1.0 / self.settings.send_rate
        if slot > now:
            await asyncio.sleep(slot - now)

    async def create(
        self,
        to: str,
        body: str | None = None,
        media_url: list[str] | None = None,
        content_sid: str | None = None,
        content_variables: str | None = None,
        status_callback: str | None = None,
    ) -> dict[str, str]:
        """Create one message; returns {"sid", "status"}. Raises TwilioRestException on an API error.

        status_callback: None for the WhatsApp channel's status URL, "" for no callbacks."""
        await self._wait_for_slot()
        callback = self.settings.status_callback if status_callback is None else status_callback
        fields: dict[str, Any] = {"to": to, "from_": self.settings.whatsapp_from}
        if callback:
            fields["status_callback"] = callback
        if body is not None:
            fields["body"] = body
        if media_url:
            fields["media_url"] = media_url
        if content_sid:
            fields["content_sid"] = content_sid
            fields["content_variables"] = content_variables or "{}"
        message = await self._twilio().messages.create_async(**fields)
        return {"sid": str(message.sid), "status": str(message.status)}

    async def recent_to(self, to: str, limit: int = 50) -> list[dict[str, Any]]:
        """Messages to `to`, newest first (Messages list filtered by To): finds what a crash left unrecorded."""
        found = []
        async for message in await self._twilio().messages.stream_async(to=to, limit=limit, page_size=min(limit, 50)):
            found.append(
                {
                    "sid": str(message.sid),
                    "from": message.from_,
                    "to": message.to,
                    "body": message.body or "",
                    "status": str(message.status),
                    "direction": str(message.direction),
                    "date_created": message.date_created,
                }
            )
        return found

    async def close(self) -> None:
        """Close the running loop's client."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.http_client.close()
