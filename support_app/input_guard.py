"""ASGI middleware that refuses, before any route runs, what no field of the support app may
hold: control characters in the query string, form fields, upload file names and JSON strings
(and keys), non-finite JSON numbers (`NaN`, `1e309`), and bodies over MAX_BODY_BYTES.
"""

import json
import math
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from fastapi.exceptions import RequestValidationError
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from validation.fields import CONTROL_OR_NEWLINE, control_character

MAX_BODY_BYTES = 21 * 1024 * 1024  # the campaign CSV upload (20 MB) and its form fields

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def request_problem(query: list[tuple[str, str]], fields: list[tuple[str, Any]]) -> str | None:
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


def _value_problem(value: Any) -> str | None:
    if isinstance(value, str):
        problem = control_character(value)
        return f"{problem} is not allowed" if problem else None
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} is not a finite number"
    return None


def _printable(name: str) -> str:
    return CONTROL_OR_NEWLINE.sub("?", name)[:60]


def json_fields(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
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
            await _refuse(scope, receive, send, 413, f"the request body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB")
            return
        problem = await _problem(scope, body)
        if problem:
            await _refuse(scope, receive, send, 400, problem)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as the server would

        await self.app(scope, replay, send)


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
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


async def _problem(scope: Scope, body: bytes) -> str | None:
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    content_type = dict(scope.get("headers") or []).get(b"content-type", b"").decode("latin-1").lower()
    fields: list[tuple[str, Any]] = []
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


async def _multipart_fields(scope: Scope, body: bytes) -> list[tuple[str, Any]]:
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


def one_line_response(path: str, status: int, line: str) -> Response:
    """JSON {"detail": line} for API paths (as FastAPI's errors), else one plain-text line."""
    if "/api/" in path or path.startswith("/api"):
        return JSONResponse({"detail": line}, status_code=status)
    return PlainTextResponse(line + "\n", status_code=status)


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, line: str) -> None:
    await one_line_response(str(scope.get("path", "")), status, line)(scope, receive, send)


def validation_error_line(error: RequestValidationError) -> str:
    """FastAPI's validation errors as one line naming the first bad field: "field 'text': Field required"."""
    first = error.errors()[0] if error.errors() else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "form", "header", "cookie")]
    name = ".".join(location) or "body"
    return f"field '{name}': {first.get('msg', 'invalid')}"
