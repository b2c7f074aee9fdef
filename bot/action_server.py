"""Run the action server with the knowledge base loaded before the first request.

`python -m rasa_sdk --actions bot.actions` works too, but then the first question pays for
loading the index and the embedding model, and rasa-sdk alone has no authentication: anyone
who reaches it can run any action with a forged tracker. Here every call but /health needs
`Authorization: Bearer <ACTION_SERVER_TOKEN>` (endpoints.yml sends it), checked in constant
time; a body that is not an action call gets a one-line 400, and errors never echo the request.
"""

import argparse
import hmac
import json
import logging
import sys
import zlib
from typing import Any

from rasa_sdk.endpoint import create_app
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.actions import services
from security.secrets_policy import SecretError, require
from settings.model import SettingsError, get_settings

logger = logging.getLogger(__name__)
MAX_BODY_BYTES = 2_000_000  # a tracker with a long history; Rasa sends the whole tracker


def _action_call(request: Request) -> str | None:
    """Why the body is not an action call, or None when it is one."""
    body = request.body or b""
    if request.headers.get("Content-Encoding") == "deflate":  # rasa's COMPRESS_ACTION_SERVER_REQUEST
        decompressor = zlib.decompressobj()
        try:
            body = decompressor.decompress(body, MAX_BODY_BYTES + 1)
        except zlib.error:
            return "body is not valid deflate data"
    if len(body) > MAX_BODY_BYTES:
        return f"body is larger than {MAX_BODY_BYTES} bytes"
    try:
        call: Any = json.loads(body)
    except ValueError:
        return "body is not JSON"
    if not isinstance(call, dict) or not isinstance(call.get("next_action"), str) or not isinstance(call.get("tracker"), dict):
        return "body must be a JSON object with next_action (string) and tracker (object)"
    return None


def secure(app: Sanic, token: str) -> None:
    """Require the shared secret on every route but /health; 400 for a body that is not an action call."""
    expected = f"Bearer {token}".encode()

    @app.on_request
    async def authenticate(request: Request) -> HTTPResponse | None:
        if request.path == "/health":
            return None
        given = request.headers.get("Authorization")
        if not given:
            return response.json({"error": "missing Authorization: Bearer token"}, status=401)
        if not hmac.compare_digest(given.encode(), expected):
            return response.json({"error": "wrong action server token"}, status=403)
        if request.path == "/webhook":
            reason = _action_call(request)
            if reason:
                return response.json({"error": reason}, status=400)
        return None

    app.error_handler.cached_handlers.pop((Exception, None), None)  # rasa-sdk's, replaced below

    @app.exception(Exception)
    async def failed(request: Request, exception: Exception) -> HTTPResponse:
        """rasa-sdk's own handler echoes the request body (a customer's whole tracker)."""
        status = getattr(exception, "status_code", 500)
        if status >= 500:
            logger.error("%s %s failed", request.method, request.path, exc_info=exception)
            return response.json({"error": "internal error"}, status=500)
        return response.json({"error": type(exception).__name__}, status=status)


def main() -> None:
    parser = argparse.ArgumentParser(description="Destek action server")
    parser.add_argument("--port", type=int, default=None, help="default: ACTION_PORT, else 5055")
    parser.add_argument("--host", default=None, help="default: 127.0.0.1, or 0.0.0.0 when DESTEK_EXPOSE names `actions`")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = get_settings()  # every setting, read and checked once, at start
        token = require("ACTION_SERVER_TOKEN", settings.secrets.action_server_token, settings.secrets.demo_secrets)
    except (SecretError, SettingsError) as error:
        sys.exit(f"action server: {error}")
    host = args.host or settings.processes.host_for("actions")
    port = args.port or settings.processes.action_port

    executor = ActionExecutor()
    executor.register_package("bot.actions")
    app = create_app(executor, cors_origins="")  # called by the Rasa server only, never by a browser
    secure(app, token)

    @app.before_server_start
    async def load_knowledge_base(*_: object) -> None:
        # Its query embedder runs on DESTEK_QUERY_EMBED_THREADS (default 1) BLAS threads, passed to the
        # loader (bot/actions/services.py): one short query is too small to split (docs/turn-cost.md).
        kb = services.knowledge_base()
        services.records()
        logger.info("knowledge base loaded: %s articles, model %s", len(kb.articles), kb.manifest["model"])

    app.run(host=host, port=port, single_process=True, access_log=False, motd=False)


if __name__ == "__main__":
    main()
