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
from datetime import datetime, timezone
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

logger = logging.getLogger("fake_twilio")

STATIC = Path(__file__).parent / "static"
MAX_BODY = 1600
CALLBACK_STATUSES = ("queued", "sent", "delivered", "read")
# How far a message to an address gets (set through /_fake/outcomes): the default reads it.
OUTCOMES = {
    "read": CALLBACK_STATUSES,
    "delivered": ("queued", "sent", "delivered"),
    "failed": ("queued", "sent", "failed"),
    "undelivered": ("queued", "sent", "undelivered"),
}
ERROR_CODES = {"failed": "63016", "undelivered": "30008"}
# Approved templates the fake knows, as Twilio's Content API would render them.
TEMPLATES = {
    "HX" + "0" * 31 + "1": "Hello {{1}}, we have a reply to your message. Please write to us to read it. / "
    "Merhaba {{1}}, mesajınıza bir yanıtımız var. Okumak için bize yazın.",
    "HX" + "0" * 31 + "2": "{{1}}\n\nDestek: DUR yazın / reply STOP to unsubscribe.",
}
_ADDRESS = re.compile(r"^whatsapp:\+[1-9]\d{6,14}$")


@dataclass
class FakeTwilio:
    auth_token: str
    destek_url: str
    public_url: str
    whatsapp_number: str
    status_delay: float = 0.2
    messages: list[dict[str, Any]] = field(default_factory=list)
    by_to: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)
    tasks: set["asyncio.Task[None]"] = field(default_factory=set)
    session: aiohttp.ClientSession | None = None

    def keep(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        self.by_to.setdefault(str(message.get("to")), []).append(message)

    def http(self) -> aiohttp.ClientSession:
        """One session for every status callback (a session per message costs more than the post)."""
        if self.session is None or self.session.closed:
            self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        return self.session

    @property
    def validator(self) -> RequestValidator:
        return RequestValidator(self.auth_token)

    def sign(self, url: str, params: dict[str, str]) -> str:
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


def render_template(content_sid: str, variables: dict[str, Any]) -> str:
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
    variables: dict[str, Any] = {}
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
        "sid": sid,
        "account_sid": account_sid,
        "from": sender,
        "to": to,
        "direction": "outbound-api",
        "body": render_template(content_sid, variables) if content_sid else body,
        "free_text": body,
        "content_sid": content_sid or None,
        "content_variables": variables if content_sid else None,
        "media_url": media,
        "num_media": str(len(media)),
        "num_segments": "1",
        "status": "queued",
        "status_callback": str(form.get("StatusCallback", "")) or None,
        "date_created": now,
        "date_updated": now,
        "date_sent": None,
        "error_code": None,
        "error_message": None,
        "price": None,
        "price_unit": "USD",
        "api_version": "2010-04-01",
        "messaging_service_sid": None,
        "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
    }
    fake.keep(message)
    fake.spawn(progress(fake, message))
    return web.json_response(public(message), status=201)


def public(message: dict[str, Any]) -> dict[str, Any]:
    """A message as Twilio's API shows it (without what only the fake's inbox keeps)."""
    return {
        key: value for key, value in message.items() if key not in ("free_text", "content_variables", "status_callback", "destek_status")
    }


async def progress(fake: FakeTwilio, message: dict[str, Any]) -> None:
    """queued → sent → delivered → read (or the outcome set for the address), each POSTed to
    the StatusCallback, if any, and signed like Twilio's."""
    url = message["status_callback"]
    for status in OUTCOMES[fake.outcomes.get(message["to"], "read")]:
        await asyncio.sleep(fake.status_delay)
        message["status"] = status
        if status == "sent":
            message["date_sent"] = formatdate(usegmt=True)
        params = {
            "MessageSid": message["sid"],
            "SmsSid": message["sid"],
            "MessageStatus": status,
            "SmsStatus": status,
            "AccountSid": message["account_sid"],
            "From": message["from"],
            "To": message["to"],
            "ApiVersion": "2010-04-01",
        }
        if status in ERROR_CODES:
            message["error_code"] = params["ErrorCode"] = ERROR_CODES[status]
        if not url:
            continue
        try:
            async with fake.http().post(url, data=params, headers={"X-Twilio-Signature": fake.sign(url, params)}) as response:
                if response.status >= 300:
                    logger.warning("status callback %s for %s: HTTP %s", status, message["sid"], response.status)
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            logger.warning("status callback %s for %s failed: %s", status, message["sid"], error)


def _date_filter(value: str) -> datetime:
    """Twilio's DateSent filters take YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)."""
    if len(value) == 10:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


async def read_messages(request: web.Request) -> web.Response:
    """Twilio's Messages list: To, From, DateSent / DateSent< / DateSent> (on or before / after),
    PageSize (default 50, max 1000) and Page; newest first, in Twilio's page envelope."""
    fake: FakeTwilio = request.app["fake"]
    account_sid = request.match_info["account_sid"]
    if not authorised(request, account_sid, fake.auth_token):
        return twilio_error(401, 20003, "Authentication Error - invalid username")
    query = request.query
    try:
        page_size = min(int(query.get("PageSize", "50")), 1000)
        page = int(query.get("Page", "0"))
        dates = {key: _date_filter(query[key]) for key in ("DateSent", "DateSent<", "DateSent>") if key in query}
    except ValueError as error:
        return twilio_error(400, 20001, f"Invalid parameter: {error}")
    if page_size < 1 or page < 0:
        return twilio_error(400, 20001, "Invalid PageSize or Page")
    pool = fake.by_to.get(query["To"], []) if "To" in query else fake.messages

    def matches(message: dict[str, Any]) -> bool:
        if message.get("account_sid", account_sid) != account_sid or message.get("direction") == "inbound":
            return False
        if "From" in query and message.get("from") != query["From"]:
            return False
        if dates:
            if not message.get("date_sent"):
                return False
            sent = parsedate_to_datetime(message["date_sent"])
            if "DateSent" in dates and sent.date() != dates["DateSent"].date():
                return False
            if "DateSent<" in dates and sent > dates["DateSent<"]:
                return False
            if "DateSent>" in dates and sent < dates["DateSent>"]:
                return False
        return True

    found = [message for message in reversed(pool) if matches(message)]
    chunk = found[page * page_size : (page + 1) * page_size]
    base = f"/2010-04-01/Accounts/{account_sid}/Messages.json"
    params = {key: value for key, value in query.items() if key not in ("Page", "PageSize", "PageToken")}

    def uri(number: int) -> str:
        return f"{base}?{urlencode({**params, 'PageSize': page_size, 'Page': number})}"

    more = (page + 1) * page_size < len(found)
    return web.json_response(
        {
            "messages": [public(message) for message in chunk],
            "page": page,
            "page_size": page_size,
            "start": page * page_size,
            "end": page * page_size + max(len(chunk) - 1, 0),
            "uri": uri(page),
            "first_page_uri": uri(0),
            "next_page_uri": uri(page + 1) if more else None,
            "previous_page_uri": uri(page - 1) if page > 0 else None,
        }
    )


async def set_outcome(request: web.Request) -> web.Response:
    """Test control: {"address": "whatsapp:+90…", "outcome": "read|delivered|failed|undelivered"}."""
    fake: FakeTwilio = request.app["fake"]
    payload = await request.json()
    outcome = str(payload.get("outcome", ""))
    if outcome not in OUTCOMES:
        return web.json_response({"error": f"field 'outcome': {outcome!r} is not one of {', '.join(OUTCOMES)}"}, status=400)
    fake.outcomes[whatsapp_address(str(payload.get("address", "")))] = outcome
    return web.json_response({"ok": True})


async def count_messages(request: web.Request) -> web.Response:
    """Test helper for big runs: {"outbound": n, "by_to": {address: count}} of outbound messages."""
    fake: FakeTwilio = request.app["fake"]
    by_to = {to: sum(1 for m in messages if m.get("direction") == "outbound-api") for to, messages in fake.by_to.items()}
    return web.json_response({"outbound": sum(by_to.values()), "by_to": {k: v for k, v in by_to.items() if v}})


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
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "AccountSid": str(payload.get("account_sid", "AC" + "0" * 32)),
        "From": sender,
        "To": fake.whatsapp_number,
        "Body": body,
        "NumMedia": str(len(media)),
        "NumSegments": "1",
        "ProfileName": str(payload.get("profile_name", "")),
        "WaId": sender.removeprefix("whatsapp:+"),
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    for number, item in enumerate(media):
        url, kind = (item.get("url", ""), item.get("content_type", "")) if isinstance(item, dict) else (str(item), "")
        params[f"MediaUrl{number}"] = url
        params[f"MediaContentType{number}"] = kind or "application/octet-stream"
    # Recorded before it is posted: Destek may reply before the webhook's answer arrives here.
    record: dict[str, Any] = {
        "sid": sid,
        "from": sender,
        "to": fake.whatsapp_number,
        "direction": "inbound",
        "body": body,
        "media_url": [params[f"MediaUrl{n}"] for n in range(len(media))],
        "status": "received",
        "date_created": formatdate(usegmt=True),
        "destek_status": None,
    }
    fake.keep(record)
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


async def page(_: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Content-Security-Policy": "default-src 'self'; style-src 'self'"})


async def _close_session(app: web.Application) -> None:
    fake: FakeTwilio = app["fake"]
    if fake.session is not None:
        await fake.session.close()


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def _host_is_safe(host: str) -> bool:
    """A loopback name or an IP literal: a DNS name pointing here may be a rebinding attack."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 or host.startswith("[") else host
    if name.lower() in LOOPBACK_NAMES or name.endswith("]"):
        return True
    return bool(re.fullmatch(r"\d{1,3}(?:\.\d{1,3}){3}", name))


@web.middleware
async def from_the_page_only(request: web.Request, handler: Any) -> web.StreamResponse:
    """The play-a-customer page and its /_fake/ controls have no login (loopback is the guard), so
    another web site open in the developer's browser must not drive them: a cross-site POST must
    be JSON (a preflight the fake never grants), and a Host that is a DNS name other than localhost
    (DNS rebinding, which also reads the transcripts) is refused. Twilio's API has its own auth."""
    if request.path == "/" or request.path.startswith(("/_fake/", "/static/")):
        if not _host_is_safe(request.host):
            return web.json_response({"error": f"Host {request.host!r}: open the fake at http://127.0.0.1"}, status=403)
        if request.method == "POST" and request.content_type != "application/json":
            return web.json_response({"error": "Content-Type must be application/json"}, status=415)
    response: web.StreamResponse = await handler(request)
    return response


def create_app(fake: FakeTwilio) -> web.Application:
    app = web.Application(middlewares=[from_the_page_only])
    app["fake"] = fake
    app.router.add_post("/2010-04-01/Accounts/{account_sid}/Messages.json", create_message)
    app.router.add_get("/2010-04-01/Accounts/{account_sid}/Messages.json", read_messages)
    app.router.add_post("/_fake/outcomes", set_outcome)
    app.router.add_get("/_fake/counts", count_messages)
    app.router.add_post("/_fake/inbound", inbound)
    app.router.add_get("/_fake/messages", list_messages)
    app.router.add_get("/", page)
    app.on_cleanup.append(_close_session)
    app.router.add_static("/static", STATIC)
    return app
