"""The fake: Twilio's create-message endpoint (with basic-auth check and Twilio's errors for
what Destek could get wrong), signed status callbacks, an inbox of everything "sent", and
signed inbound WhatsApp webhooks towards Destek, plus a page to play the customer."""

import asyncio
import base64
import json
import logging
import re
import secrets
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import Any, Dict, List, Set

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

logger = logging.getLogger("fake_twilio")

STATIC = Path(__file__).parent / "static"
MAX_BODY = 1600
CALLBACK_STATUSES = ("queued", "sent", "delivered", "read")
# Approved templates the fake knows, as Twilio's Content API would render them.
TEMPLATES = {
    "HX" + "0" * 31 + "1": "Hello {{1}}, we have a reply to your message. Please write to us to read it. / "
                           "Merhaba {{1}}, mesajınıza bir yanıtımız var. Okumak için bize yazın.",
}
_ADDRESS = re.compile(r"^whatsapp:\+[1-9]\d{6,14}$")


@dataclass
class FakeTwilio:
    auth_token: str
    destek_url: str
    public_url: str
    whatsapp_number: str
    status_delay: float = 0.2
    messages: List[Dict[str, Any]] = field(default_factory=list)
    tasks: Set["asyncio.Task[None]"] = field(default_factory=set)

    @property
    def validator(self) -> RequestValidator:
        return RequestValidator(self.auth_token)

    def sign(self, url: str, params: Dict[str, str]) -> str:
        return str(self.validator.compute_signature(url, params))

    def spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


def twilio_error(status: int, code: int, message: str) -> web.Response:
    body = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}
    return web.json_response(body, status=status)


def authorised(request: web.Request, account_sid: str, auth_token: str) -> bool:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return False
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return False
    return secrets.compare_digest(user, account_sid) and secrets.compare_digest(password, auth_token)


def whatsapp_address(value: str) -> str:
    value = value.strip().replace(" ", "")
    return value if value.startswith("whatsapp:") else f"whatsapp:{value}"


def render_template(content_sid: str, variables: Dict[str, Any]) -> str:
    text = TEMPLATES.get(content_sid, f"[template {content_sid}] " + " ".join(f"{{{{{k}}}}}" for k in sorted(variables)))
    for key, value in variables.items():
        text = text.replace(f"{{{{{key}}}}}", str(value))
    return text


async def create_message(request: web.Request) -> web.Response:
    fake: FakeTwilio = request.app["fake"]
    account_sid = request.match_info["account_sid"]
    if not authorised(request, account_sid, fake.auth_token):
        return twilio_error(401, 20003, "Authentication Error - invalid username")
    form = await request.post()
    to, sender = str(form.get("To", "")), str(form.get("From", ""))
    body, content_sid = str(form.get("Body", "")), str(form.get("ContentSid", ""))
    media = [str(url) for url in form.getall("MediaUrl", [])]
    if not to:
        return twilio_error(400, 21604, "A 'To' phone number is required.")
    if not _ADDRESS.match(to):
        return twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to}")
    if not sender:
        return twilio_error(400, 21603, "A 'From' phone number is required.")
    if not body and not content_sid and not media:
        return twilio_error(400, 21619, "A text message body or media urls must be specified.")
    if len(body) > MAX_BODY:
        return twilio_error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
    variables: Dict[str, Any] = {}
    if content_sid:
        try:
            variables = json.loads(str(form.get("ContentVariables", "") or "{}"))
        except json.JSONDecodeError:
            return twilio_error(400, 21656, "The ContentVariables Parameter is invalid.")
        if not isinstance(variables, dict):
            return twilio_error(400, 21656, "The ContentVariables Parameter is invalid.")
    sid = "SM" + secrets.token_hex(16)
    now = formatdate(usegmt=True)
    message = {
        "sid": sid, "account_sid": account_sid, "from": sender, "to": to, "direction": "outbound-api",
        "body": render_template(content_sid, variables) if content_sid else body,
        "free_text": body, "content_sid": content_sid or None, "content_variables": variables if content_sid else None,
        "media_url": media, "num_media": str(len(media)), "num_segments": "1", "status": "queued",
        "status_callback": str(form.get("StatusCallback", "")) or None,
        "date_created": now, "date_updated": now, "date_sent": None, "error_code": None, "error_message": None,
        "price": None, "price_unit": "USD", "api_version": "2010-04-01", "messaging_service_sid": None,
        "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
    }
    fake.messages.append(message)
    if message["status_callback"]:
        fake.spawn(send_status_callbacks(fake, message))
    reply = {key: value for key, value in message.items() if key not in ("free_text", "content_variables", "status_callback")}
    return web.json_response(reply, status=201)


async def send_status_callbacks(fake: FakeTwilio, message: Dict[str, Any]) -> None:
    """queued → sent → delivered → read, each POSTed to StatusCallback and signed like Twilio's."""
    url = message["status_callback"]
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for status in CALLBACK_STATUSES:
            await asyncio.sleep(fake.status_delay)
            message["status"] = status
            params = {"MessageSid": message["sid"], "SmsSid": message["sid"], "MessageStatus": status, "SmsStatus": status,
                      "AccountSid": message["account_sid"], "From": message["from"], "To": message["to"], "ApiVersion": "2010-04-01"}
            try:
                async with session.post(url, data=params, headers={"X-Twilio-Signature": fake.sign(url, params)}) as response:
                    if response.status >= 300:
                        logger.warning("status callback %s for %s: HTTP %s", status, message["sid"], response.status)
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                logger.warning("status callback %s for %s failed: %s", status, message["sid"], error)


async def inbound(request: web.Request) -> web.Response:
    """Send a signed WhatsApp webhook to Destek as Twilio would: {from, body, media?, profile_name?, sid?}."""
    fake: FakeTwilio = request.app["fake"]
    try:
        payload = await request.json()
    except json.JSONDecodeError as error:
        return web.json_response({"error": f"body is not JSON: {error}"}, status=400)
    if not isinstance(payload, dict):
        return web.json_response({"error": "body must be a JSON object"}, status=400)
    sender = whatsapp_address(str(payload.get("from", "")))
    if not _ADDRESS.match(sender):
        return web.json_response({"error": f"field 'from': {payload.get('from')!r} is not a phone number like +905551110001"}, status=400)
    body = payload.get("body", "")
    media = payload.get("media") or []
    if not isinstance(body, str) or not isinstance(media, list):
        return web.json_response({"error": "field 'body' must be text and 'media' a list"}, status=400)
    if not body and not media:
        return web.json_response({"error": "field 'body': empty message"}, status=400)
    sid = str(payload.get("sid") or "SM" + secrets.token_hex(16))
    params = {
        "MessageSid": sid, "SmsMessageSid": sid, "SmsSid": sid, "AccountSid": str(payload.get("account_sid", "AC" + "0" * 32)),
        "From": sender, "To": fake.whatsapp_number, "Body": body, "NumMedia": str(len(media)), "NumSegments": "1",
        "ProfileName": str(payload.get("profile_name", "")), "WaId": sender.removeprefix("whatsapp:+"),
        "SmsStatus": "received", "ApiVersion": "2010-04-01",
    }
    for number, item in enumerate(media):
        url, kind = (item.get("url", ""), item.get("content_type", "")) if isinstance(item, dict) else (str(item), "")
        params[f"MediaUrl{number}"] = url
        params[f"MediaContentType{number}"] = kind or "application/octet-stream"
    # Recorded before it is posted: Destek may reply before the webhook's answer arrives here.
    record = {"sid": sid, "from": sender, "to": fake.whatsapp_number, "direction": "inbound", "body": body,
              "media_url": [params[f"MediaUrl{n}"] for n in range(len(media))], "status": "received",
              "date_created": formatdate(usegmt=True), "destek_status": None}
    fake.messages.append(record)
    path = "/webhooks/whatsapp/webhook"
    headers = {"X-Twilio-Signature": fake.sign(fake.public_url + path, params)}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
            async with session.post(fake.destek_url + path, data=params, headers=headers) as response:
                record["destek_status"] = response.status
    except (aiohttp.ClientError, asyncio.TimeoutError) as error:
        record["status"] = "failed"
        return web.json_response({"error": f"Destek at {fake.destek_url} is not reachable: {error}"}, status=502)
    return web.json_response({"sid": sid, "destek_status": record["destek_status"]})


async def list_messages(request: web.Request) -> web.Response:
    """The inbox: ?to=, ?address= (either side), ?direction= filter it; oldest first."""
    fake: FakeTwilio = request.app["fake"]
    wanted = {key: request.query[key] for key in ("to", "direction") if key in request.query}
    address = request.query.get("address")
    found = [
        {key: value for key, value in message.items() if key != "status_callback"}
        for message in fake.messages
        if all(message.get(key) == value for key, value in wanted.items())
        and (address is None or address in (message.get("to"), message.get("from")))
    ]
    return web.json_response({"messages": found})


async def page(_: web.Request) -> web.Response:
    return web.FileResponse(STATIC / "index.html", headers={"Content-Security-Policy": "default-src 'self'; style-src 'self'"})


def create_app(fake: FakeTwilio) -> web.Application:
    app = web.Application()
    app["fake"] = fake
    app.router.add_post("/2010-04-01/Accounts/{account_sid}/Messages.json", create_message)
    app.router.add_post("/_fake/inbound", inbound)
    app.router.add_get("/_fake/messages", list_messages)
    app.router.add_get("/", page)
    app.router.add_static("/static", STATIC)
    return app
