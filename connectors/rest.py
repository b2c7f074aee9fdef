"""Rasa's REST channel (`POST /webhooks/rest/webhook`, {"sender", "message", "metadata"}), kept
for local tools and tests, but unable to act as anybody else.

Rasa's own RestInput takes the sender id, the input channel and the metadata from the client,
so `{"sender": "web:cust-ayse"}` wrote into Ayşe's web conversation and read her cart. Here
the client's id becomes `rest:<id>` (an id already starting with `rest:` is kept), the input
channel is always `rest`, and metadata cannot claim a channel or a customer: no REST message
reaches a `web:` or `whatsapp:` conversation, nor the profile, cart, context or handoff behind one.
Card numbers, IBANs, TCKNs and one-time codes are redacted before the message enters Rasa.
Bodies, messages and the message rate are bounded; with REST_CHANNEL_TOKEN set, every message
needs `Authorization: Bearer <token>` (or `?token=`).
"""

import hmac
import json
import logging
import re
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from cluster.buckets import SharedBuckets
from connectors.rate_limit import SenderRateLimit, Verdict
from privacy.redaction import redact, redact_value
from security.secrets_policy import SecretError, optional
from settings.rasa_side import SettingsError, rasa_settings

logger = logging.getLogger(__name__)

PREFIX = "rest:"
MAX_BODY_BYTES = 16_384
MAX_MESSAGE_CHARS = 2000
MAX_SENDER_CHARS = 128
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def rest_sender(sender: str) -> str:
    """The REST channel's own id for what the client calls `sender`."""
    return sender if sender.startswith(PREFIX) else PREFIX + sender


class RestChannel(InputChannel):
    """REST input channel whose sender ids live in the `rest:` namespace."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        try:
            settings = rasa_settings()
        except SettingsError as error:
            raise SystemExit(f"REST channel: {error}") from None
        per_minute = settings.rest_per_minute
        shared = SharedBuckets.configured("rest-channel", settings.redis_url, settings.redis_prefix)
        channel_limit = SenderRateLimit(per_minute=per_minute, burst=max(1, int(per_minute / 5)), shared=shared)
        try:
            token = optional("REST_CHANNEL_TOKEN", settings.rest_token, settings.demo_secrets)
        except SecretError as error:
            raise SystemExit(str(error)) from None
        return cls(token, SenderRateLimit.inbound(settings), channel_limit)

    def __init__(self, token: str | None, sender_limit: SenderRateLimit, channel_limit: SenderRateLimit) -> None:
        self.token = token
        self.sender_limit = sender_limit
        self.channel_limit = channel_limit

    def _authorised(self, request: Request) -> bool:
        if self.token is None:
            return True
        header = request.headers.get("Authorization", "")
        given = header[len("Bearer ") :] if header.startswith("Bearer ") else request.args.get("token", "")
        return hmac.compare_digest(given.encode(), self.token.encode())

    @staticmethod
    def _parse(request: Request) -> tuple[str | None, dict[str, Any]]:
        """(the problem with the body, or None; the parsed body)."""
        if len(request.body or b"") > MAX_BODY_BYTES:
            return f"body is larger than {MAX_BODY_BYTES} bytes", {}
        try:
            body = json.loads(request.body or b"")
        except ValueError:
            return "body is not JSON", {}
        if not isinstance(body, dict):
            return "body must be a JSON object", {}
        sender, message, metadata = body.get("sender"), body.get("message"), body.get("metadata")
        if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS or _CONTROL.search(sender):
            return f"sender must be a string of 1 to {MAX_SENDER_CHARS} printable characters", {}
        if not isinstance(message, str) or not message.strip():
            return "message must be a non-empty string", {}
        if len(message) > MAX_MESSAGE_CHARS:
            return f"message is longer than {MAX_MESSAGE_CHARS} characters", {}
        if metadata is not None and not isinstance(metadata, dict):
            return "metadata must be a JSON object", {}
        return None, body

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        rest = Blueprint("rest_webhook", __name__)

        @rest.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @rest.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self._authorised(request):
                return response.text("missing or wrong REST channel token", status=401)
            problem, body = self._parse(request)
            if problem:
                return response.text(problem, status=400)
            sender = rest_sender(body["sender"])
            if self.channel_limit.check("*") is not Verdict.ALLOW or self.sender_limit.check(sender) is not Verdict.ALLOW:
                return response.text("too many messages; wait a moment", status=429)
            metadata = {**redact_value(body.get("metadata") or {}), "channel": "rest", "customer_id": None}
            collector = CollectingOutputChannel()
            try:
                await on_new_message(UserMessage(redact(body["message"]), collector, sender, input_channel=self.name(), metadata=metadata))
            except CancelledError:
                logger.error("REST message of %s timed out", sender)
            except Exception:
                logger.exception("REST message of %s failed", sender)
            return response.json(collector.messages)

        return rest
