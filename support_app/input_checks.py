"""Checks for what comes into the support app from outside: text, numbers and times.

Every check raises InputError (a ValueError) with one line naming the field, so a caller can
answer 400 with it and store nothing. `InputGuard` applies the checks every request needs
before any route sees it (control characters in the query string, form fields, upload file
names and JSON strings; non-finite JSON numbers); the field-specific ones (lengths, ranges)
are called where each field is read.
"""

import json
import math
import re
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Iterator, List, MutableMapping, Optional, Tuple
from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.requests import Request

# C0 controls (NUL, ESC, …), DEL and C1 controls; tab, line feed and carriage return are
# allowed in multi-line text only.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Times the pages can show in any time zone: anything outside is a typo or an attack.
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc).timestamp()
LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc).timestamp()
MAX_BODY_BYTES = 21 * 1024 * 1024  # the campaign CSV upload (20 MB) and its form fields

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class InputError(ValueError):
    """Bad input; the message is one line naming the field."""


def control_character(text: str, multiline: bool = True) -> Optional[str]:
    """A description of the first control character in `text` (e.g. "NUL at character 5"), or None."""
    match = (_CONTROL if multiline else _CONTROL_OR_NEWLINE).search(text)
    if match is None:
        return None
    code = ord(match.group(0))
    name = "NUL" if code == 0 else f"control character U+{code:04X}"
    return f"{name} at character {match.start() + 1}"


def check_text(value: Any, field: str, max_chars: int, *, multiline: bool = False, required: bool = False) -> str:
    """`value` stripped, if it is text without control characters and at most `max_chars` long."""
    if not isinstance(value, str):
        raise InputError(f"field '{field}': give text")
    problem = control_character(value, multiline)
    if problem:
        raise InputError(f"field '{field}': {problem} is not allowed")
    text = value.strip()
    if required and not text:
        raise InputError(f"field '{field}': empty")
    if len(text) > max_chars:
        raise InputError(f"field '{field}': at most {max_chars} characters, not {len(text)}")
    return text


def finite_number(value: Any, field: str) -> float:
    """A real, finite number (not a bool, NaN or ±∞)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"field '{field}': give a number")
    try:
        number = float(value)
    except OverflowError:  # an int too big for a float
        raise InputError(f"field '{field}': {value} is out of range") from None
    if not math.isfinite(number):
        raise InputError(f"field '{field}': {value} is not a finite number")
    return number


def check_timestamp(value: Any, field: str) -> float:
    """Unix seconds between 2000-01-01 and 2100-01-01 (UTC)."""
    number = finite_number(value, field)
    if not EARLIEST <= number < LATEST:
        raise InputError(f"field '{field}': {value} is not a time between 2000-01-01 and 2100-01-01")
    return number


def request_problem(query: List[Tuple[str, str]], fields: List[Tuple[str, Any]]) -> Optional[str]:
    """The first problem in a request's query parameters and body fields, as one line."""
    for name, value in query:
        problem = control_character(name, multiline=False) or control_character(value, multiline=False)
        if problem:
            return f"field '{_printable(name)}': {problem} is not allowed"
    for name, value in fields:
        if isinstance(value, UploadFile):
            problem = control_character(value.filename or "", multiline=False)
            if problem:
                return f"field '{_printable(name)}': {problem} in the file name is not allowed"
            continue
        problem = _value_problem(value)
        if problem:
            return f"field '{_printable(name)}': {problem}"
    return None


def _value_problem(value: Any) -> Optional[str]:
    if isinstance(value, str):
        problem = control_character(value)
        return f"{problem} is not allowed" if problem else None
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} is not a finite number"
    return None


def _printable(name: str) -> str:
    return _CONTROL_OR_NEWLINE.sub("?", name)[:60]


def json_fields(value: Any, path: str = "") -> Iterator[Tuple[str, Any]]:
    """Every leaf of a JSON value with its path (`eta`, `regions[0]`, `a.b`); keys are leaves too."""
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            yield inner, str(key)
            yield from json_fields(item, inner)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_fields(item, f"{path}[{index}]")
    else:
        yield path or "body", value


class InputGuard:
    """ASGI middleware: a request with a control character in a field or file name, a non-finite
    JSON number, or a body over MAX_BODY_BYTES is answered 400/413 with one line naming the
    field, before any route runs. The body is read once and handed on unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body, too_big = await _read_body(receive)
        if too_big:
            await _refuse(scope, send, 413, f"the request body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB")
            return
        problem = await _problem(scope, body)
        if problem:
            await _refuse(scope, send, 400, problem)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as the server would

        await self.app(scope, replay, send)


async def _read_body(receive: Receive) -> Tuple[bytes, bool]:
    chunks: List[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), False


async def _problem(scope: Scope, body: bytes) -> Optional[str]:
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    content_type = dict(scope.get("headers") or []).get(b"content-type", b"").decode("latin-1").lower()
    fields: List[Tuple[str, Any]] = []
    if content_type.startswith("application/x-www-form-urlencoded"):
        fields = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    elif content_type.startswith("multipart/form-data"):
        fields = await _multipart_fields(scope, body)
    elif "json" in content_type and body:
        try:
            fields = list(json_fields(json.loads(body)))
        except (ValueError, RecursionError):
            return None  # the route answers "the body is not JSON" in its own words
    return request_problem(query, fields)


async def _multipart_fields(scope: Scope, body: bytes) -> List[Tuple[str, Any]]:
    async def once() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    request = Request(scope, once)
    try:
        form = await request.form()
    except Exception:  # a malformed multipart body: the route's own parsing reports it
        return []
    try:
        return list(form.multi_items())
    finally:
        await form.close()


async def _refuse(scope: Scope, send: Send, status: int, line: str) -> None:
    """JSON {"detail": line} for API paths (as FastAPI's errors), else one plain-text line."""
    path = str(scope.get("path", ""))
    if "/api/" in path or path.startswith("/api"):
        body, kind = json.dumps({"detail": line}, ensure_ascii=False).encode(), b"application/json"
    else:
        body, kind = (line + "\n").encode(), b"text/plain; charset=utf-8"
    headers: List[Tuple[bytes, bytes]] = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

