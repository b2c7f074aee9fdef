"""WhatsApp through Twilio, as a Rasa input channel (credentials.yml: `connectors.whatsapp.WhatsAppInput:`).

Unlike Rasa's own Twilio channel it checks X-Twilio-Signature (403 otherwise), answers the
webhook at once and handles the message afterwards, handles each MessageSid once (SQLite,
so a restart neither replays nor loses one), keeps delivery statuses from the status
callbacks, and sends through WhatsAppMessenger (24-hour window, templates, opt-outs).
A signed webhook must still name a WhatsApp sender (`whatsapp:+<E.164>`: no other channel's
ids) with bounded fields, and Body/ProfileName are redacted (card numbers, IBANs, TCKNs,
one-time codes) before the inbound log stores them and before the message enters Rasa.

Routes: POST /webhooks/whatsapp/webhook (messages), POST /webhooks/whatsapp/status.
"""

import asyncio
import logging
import re
import zlib
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from cluster.whatsapp_queue import SharedWhatsAppQueue, message_in_tracker
from connectors.rate_limit import SLOW_DOWN, SenderRateLimit, Verdict
from connectors.whatsapp.background_loop import BackgroundLoop
from connectors.whatsapp.choices import OfferedChoices
from connectors.whatsapp.delivery_status import STATUS_RANK
from connectors.whatsapp.inbound_log import InboundLog
from connectors.whatsapp.sender import WhatsAppMessenger
from connectors.whatsapp.text import CONFIRMATIONS, chosen_payload, numbered_options, opt_keyword
from privacy.redaction import redact
from security.secrets_policy import SecretError
from settings.rasa_side import SettingsError, rasa_settings

logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
MAX_MEDIA = 10  # WhatsApp allows at most 10 media items per message
MAX_BODY_CHARS = 4096  # WhatsApp's own limit on a text message
MAX_REQUEST_BYTES = 65_536
# The only sender ids this channel produces: WhatsApp's E.164 addresses, never another channel's.
ADDRESS = re.compile(r"whatsapp:\+[1-9][0-9]{6,14}")
MESSAGE_SID = re.compile(r"[A-Za-z0-9]{1,64}")  # Twilio's are 34: "SM" or "MM" and 32 hex digits
REDACTED_FIELDS = ("Body", "ProfileName")


class WhatsAppOutput(OutputChannel):
    """Bot responses to one WhatsApp address; buttons become numbered options."""

    def __init__(self, messenger: WhatsAppMessenger, choices: OfferedChoices, proactive: bool) -> None:
        self.messenger = messenger
        self.choices = choices
        self.proactive = proactive

    @classmethod
    def name(cls) -> str:
        return "whatsapp"

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.messenger.send(recipient_id, text, proactive=self.proactive)

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any) -> None:
        body, payloads = numbered_options(text, buttons)
        self.choices.offer(recipient_id, payloads)
        await self.send_text_message(recipient_id, body)


class WhatsAppInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "whatsapp"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Settings come from the environment (settings.rasa_side), so no credentials are needed."""
        try:
            settings = rasa_settings()
            messenger = WhatsAppMessenger.configured(settings)
        except (SecretError, SettingsError) as error:
            raise SystemExit(f"WhatsApp channel: {error}") from None
        return cls(
            messenger,
            SenderRateLimit.inbound(settings),
            workers=settings.workers,
            shared_queue=SharedWhatsAppQueue.configured(settings.redis_url, settings.redis_prefix),
        )

    def __init__(
        self, messenger: WhatsAppMessenger, rate_limit: SenderRateLimit, workers: int = 4, shared_queue: SharedWhatsAppQueue | None = None
    ) -> None:
        self.messenger = messenger
        # With DESTEK_REDIS_URL the inbound queue is shared by every replica (cluster/whatsapp_queue.py).
        self.shared_queue = shared_queue
        self.workers = workers
        self.rate_limit = rate_limit
        self.inbound_log = InboundLog(messenger.database)
        self.choices = OfferedChoices(messenger.database)
        self.store = messenger.store
        self.validator = RequestValidator(messenger.settings.auth_token)
        self.processing = BackgroundLoop("whatsapp-processing")
        # Python 3.10 queues bind to a loop on first use: the processing loop.
        self._queues: list[asyncio.Queue[tuple[dict[str, str], Verdict]]] = [asyncio.Queue() for _ in range(workers)]
        self._started = False

    def get_output_channel(self) -> OutputChannel:
        """Used by Rasa for messages nobody asked for (trigger_intent, execute): proactive."""
        return WhatsAppOutput(self.messenger, self.choices, proactive=True)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        whatsapp = Blueprint("whatsapp_webhook", __name__)

        @whatsapp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @whatsapp.route("/webhook", methods=["POST"])
        async def inbound(request: Request) -> HTTPResponse:
            if len(request.body or b"") > MAX_REQUEST_BYTES:
                return response.text(f"request body is larger than {MAX_REQUEST_BYTES} bytes", status=413)
            params = self._signed_params(request)
            if params is None:
                return response.text("invalid or missing X-Twilio-Signature", status=403)
            problem = _inbound_problem(params)
            if problem:
                return response.text(problem, status=400)
            # Stored and handled redacted: neither the webhook log nor the tracker holds a card number.
            params = {**params, **{name: redact(params[name]) for name in REDACTED_FIELDS if name in params}}
            if self.shared_queue is not None:
                if not await self.shared_queue.seen(params["MessageSid"]) and await self.shared_queue.push(
                    params, self._admit(params).value
                ):
                    self.inbound_log.claim(params["MessageSid"], params["From"], params)
            elif self.inbound_log.claim(params["MessageSid"], params["From"], params):
                self._enqueue(params, on_new_message, self._admit(params))
            return response.text(EMPTY_TWIML, content_type="text/xml")

        @whatsapp.route("/status", methods=["POST"])
        async def status(request: Request) -> HTTPResponse:
            if len(request.body or b"") > MAX_REQUEST_BYTES:
                return response.text(f"request body is larger than {MAX_REQUEST_BYTES} bytes", status=413)
            params = self._signed_params(request)
            if params is None:
                return response.text("invalid or missing X-Twilio-Signature", status=403)
            sid, value = params.get("MessageSid"), params.get("MessageStatus", "")
            if not sid:
                return response.text("missing form field MessageSid", status=400)
            if value not in STATUS_RANK:
                return response.text(f"unknown MessageStatus {value!r}", status=400)
            self.messenger.statuses.update(sid, value, error_code=params.get("ErrorCode", ""), address=params.get("To"))
            return response.text("")

        @whatsapp.listener("after_server_start")
        async def replay(app: Any, *_: Any) -> None:
            """Handle webhooks acknowledged before a stop but never processed (with the shared
            queue: work it, including what a stopped replica left)."""
            if self.shared_queue is not None:
                self._work_shared_queue(app, on_new_message)
                return
            for params in self.inbound_log.unhandled():
                self._enqueue(params, on_new_message, Verdict.ALLOW)

        return whatsapp

    def _work_shared_queue(self, app: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        assert self.shared_queue is not None

        async def handle(params: dict[str, str], verdict: str) -> None:
            await self._handle(params, Verdict(verdict), on_new_message)

        async def already_handled(params: dict[str, str]) -> bool:
            tracker = await app.ctx.agent.tracker_store.retrieve(params["From"])
            return tracker is not None and message_in_tracker(tracker.events, params["MessageSid"])

        self.processing.submit(self.shared_queue.run(self.workers, handle, already_handled))

    def _signed_params(self, request: Request) -> dict[str, str] | None:
        """The form fields if X-Twilio-Signature matches PUBLIC_URL + path + the fields, else None."""
        signature = request.headers.get("X-Twilio-Signature", "")
        url = self.messenger.settings.public_url + request.path
        if request.query_string:
            url += "?" + request.query_string
        # Sanic's request.form drops blank fields, but Twilio signs them too (an empty Body of a
        # media message, an empty ProfileName): parse the raw body, keeping blanks.
        params: dict[str, str] = {}
        for name, value in parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True):
            params.setdefault(name, value)
        if not signature or not self.validator.validate(url, params, signature):
            logger.warning("rejected a WhatsApp webhook with a bad signature for %s", url)
            return None
        return params

    def _admit(self, params: dict[str, str]) -> Verdict:
        """The rate limit counts messages as they arrive; opt-out keywords always pass."""
        return Verdict.ALLOW if opt_keyword(params.get("Body", "")) else self.rate_limit.check(params["From"])

    def _enqueue(self, params: dict[str, str], on_new_message: Callable[[UserMessage], Awaitable[Any]], verdict: Verdict) -> None:
        """Queue the message for the workers on the processing loop (see background_loop.py); one
        address always goes to the same worker, so its messages are handled in arrival order."""
        if not self._started:
            self._started = True
            for queue in self._queues:
                self.processing.submit(self._work(queue, on_new_message))
        queue = self._queues[zlib.crc32(params["From"].encode()) % len(self._queues)]
        self.processing.call(queue.put_nowait, (params, verdict))

    async def _work(
        self, queue: "asyncio.Queue[tuple[dict[str, str], Verdict]]", on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        while True:
            params, verdict = await queue.get()
            await self._handle(params, verdict, on_new_message)

    async def _handle(self, params: dict[str, str], verdict: Verdict, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        address, sid, text = params["From"], params["MessageSid"], params.get("Body", "")
        try:
            self.messenger.windows.touch(address, params.get("ProfileName", ""))
            await self.messenger.release_held(address)
            customer_id = self.store.customer_for("phone", address)
            if customer_id:
                self.store.record_conversation(customer_id, "whatsapp", address)
            output = WhatsAppOutput(self.messenger, self.choices, proactive=False)
            keyword = opt_keyword(text)
            if keyword:
                await self._opt(address, customer_id, keyword, text, output)
                return
            if verdict is not Verdict.ALLOW:
                logger.warning("WhatsApp message %s from %s over the inbound rate limit: kept, not answered", sid, address)
                if verdict is Verdict.REFUSE_AND_TELL:
                    customer = self.store.customer(customer_id) if customer_id else None
                    await output.send_text_message(
                        address, SLOW_DOWN.get((customer or {}).get("language") or "", SLOW_DOWN["tr"] + "\n" + SLOW_DOWN["en"])
                    )
                return
            payload = chosen_payload(text, self.choices.take(address))
            await on_new_message(
                UserMessage(
                    payload or text,
                    output,
                    address,
                    input_channel=self.name(),
                    message_id=sid,
                    metadata=self._metadata(params, customer_id),
                )
            )
        except Exception:
            logger.exception("handling WhatsApp message %s failed", sid)
        finally:
            self.inbound_log.mark_handled(sid)

    async def _opt(self, address: str, customer_id: str | None, keyword: tuple, text: str, output: WhatsAppOutput) -> None:
        """STOP / DUR / İPTAL or START / BAŞLA: update the suppression list and confirm; no NLU."""
        opted_out, keyword_language = keyword
        self.store.set_opt_out(address, opted_out, reason=f"whatsapp keyword {text.strip()}")
        customer = self.store.customer(customer_id) if customer_id else None
        language = (customer or {}).get("language") or keyword_language
        await output.send_text_message(address, CONFIRMATIONS[(opted_out, language if language in ("tr", "en") else keyword_language)])

    @staticmethod
    def _metadata(params: dict[str, str], customer_id: str | None) -> dict[str, Any]:
        media = [
            {"url": params[f"MediaUrl{number}"], "content_type": params.get(f"MediaContentType{number}", "")}
            for number in range(MAX_MEDIA)
            if params.get(f"MediaUrl{number}")
        ]
        return {
            "channel": "whatsapp",
            "customer_id": customer_id,
            "profile_name": params.get("ProfileName", ""),
            "media": media,
            "message_sid": params["MessageSid"],
        }


def _inbound_problem(params: dict[str, str]) -> str | None:
    """What is wrong with a signed inbound webhook's fields (one line), or None."""
    missing = [name for name in ("MessageSid", "From") if not params.get(name)]
    if missing:
        return f"missing form field {missing[0]}"
    if not MESSAGE_SID.fullmatch(params["MessageSid"]):
        return "MessageSid must be 1 to 64 letters or digits"
    if not ADDRESS.fullmatch(params["From"]):
        return "From must be a WhatsApp address: whatsapp:+ and 7 to 15 digits"
    if len(params.get("Body", "")) > MAX_BODY_CHARS:
        return f"Body is longer than {MAX_BODY_CHARS} characters"
    return None
