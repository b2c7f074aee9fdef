"""Web chat channel: Rasa's socket.io transport, with the conversation bound to a signed token.

Rasa's own `socketio` channel checks its JWT only at connect and lets the client name the
session id it writes into, so whoever knows a session id can write into that conversation
(and on python-socketio 5.10+ its rooms never work: `enter_room` is a coroutine it does not
await). Here every connection must present a token signed by the support app; the sender id
is derived only from the verified token (`web:<sub>`), every connection of that sender joins
the room of that name (reconnects and other tabs get the replies), and a message arriving
after the token expired closes the connection so the widget fetches a fresh token.

Client events: `user_uttered` {"message", "metadata": {"page"}?}, `session_request`,
`refresh_token` {"token"} (ack: {"ok"} or {"error"}). Server events: `session_confirm`
{"session_id"}, `bot_uttered` (Rasa's socket.io message format), `bot_typing` {"typing"},
`chat_error` {"error"}.

Card numbers, IBANs, TCKNs and one-time codes are redacted before a message enters Rasa, so
the tracker store never holds them (the customer's own screen still shows what they typed).
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer
from socketio.exceptions import ConnectionRefusedError

from cluster.socketio_manager import socketio_manager
from connectors.rate_limit import SenderRateLimit, Verdict
from connectors.webchat_token import InvalidToken, WebChatClaims, verify_token
from customer_store.store import CustomerStore
from privacy.redaction import redact
from security.secrets_policy import SecretError, require
from settings.rasa_side import SettingsError, rasa_settings
from storage.database import Database

logger = logging.getLogger(__name__)

BOT_EVENT = "bot_uttered"
USER_EVENT = "user_uttered"
MAX_MESSAGE_CHARS = 2000
MAX_PAGE_CHARS = 200


class WebChatInput(InputChannel):
    """Socket.io input channel whose sender id comes from a verified support-app token."""

    @classmethod
    def name(cls) -> str:
        return "webchat"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        try:
            settings = rasa_settings()
            jwt_secret = require("WEBCHAT_JWT_SECRET", settings.webchat_jwt_secret, settings.demo_secrets)
        except (SecretError, SettingsError) as error:
            raise SystemExit(f"web chat channel: {error}") from None
        return cls(
            jwt_secret=jwt_secret,
            allowed_origins=settings.allowed_origins(),  # pages that may open the socket (`*`: any)
            customer_db=settings.database(),
            socketio_path=credentials.get("socketio_path") or "/socket.io",
            rate_limit=SenderRateLimit.inbound(settings),
        )

    def __init__(
        self,
        jwt_secret: str,
        allowed_origins: list[str],
        customer_db: Database,
        rate_limit: SenderRateLimit,
        socketio_path: str = "/socket.io",
    ) -> None:
        self.jwt_secret = jwt_secret
        self.allowed_origins = allowed_origins
        self.customer_db = customer_db
        self.socketio_path = socketio_path
        self.sio: AsyncServer | None = None
        self._store: CustomerStore | None = None
        self.rate_limit = rate_limit

    def get_output_channel(self) -> OutputChannel | None:
        """Used for messages the server starts (e.g. an agent's reply): they go to the sender's room."""
        return SocketIOOutput(self.sio, BOT_EVENT) if self.sio is not None else None

    def _customer_store(self) -> CustomerStore:
        if self._store is None:
            self._store = CustomerStore(self.customer_db)
        return self._store

    async def _record_conversation(self, claims: WebChatClaims) -> None:
        if claims.customer_id is None:
            return
        try:
            await asyncio.to_thread(self._customer_store().record_conversation, claims.customer_id, "web", claims.sender_id)
        except Exception:  # the message matters more than the bookkeeping
            logger.exception("could not record the web conversation of %s", claims.customer_id)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        origins: Any = "*" if "*" in self.allowed_origins else self.allowed_origins
        # With DESTEK_REDIS_URL an emit to a room reaches sockets on every replica (an agent's reply
        # handled by one replica, a browser connected to another).
        sio = AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=origins,
            client_manager=socketio_manager(rasa_settings().redis_url, rasa_settings().redis_prefix),
        )
        self.sio = sio
        webchat = SocketBlueprint(sio, self.socketio_path, "webchat_webhook", __name__)

        @webchat.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        async def claims_of(sid: str) -> WebChatClaims:
            session = await sio.get_session(sid)
            return session["claims"]

        @sio.on("connect")
        async def connect(sid: str, environ: dict, auth: dict | None) -> None:
            token = auth.get("token") if isinstance(auth, dict) else None
            try:
                claims = verify_token(token, self.jwt_secret)
            except InvalidToken as error:
                logger.info("web chat connection refused: %s", error)
                raise ConnectionRefusedError(str(error)) from error
            await sio.save_session(sid, {"claims": claims})
            await sio.enter_room(sid, claims.sender_id)

        @sio.on("session_request")
        async def session_request(sid: str, _: Any = None) -> None:
            claims = await claims_of(sid)
            await sio.emit("session_confirm", {"session_id": claims.sender_id}, to=sid)

        @sio.on("refresh_token")
        async def refresh_token(sid: str, data: Any = None) -> dict[str, Any]:
            current = await claims_of(sid)
            try:
                fresh = verify_token(data.get("token") if isinstance(data, dict) else None, self.jwt_secret)
            except InvalidToken as error:
                return {"error": str(error)}
            if fresh.sub != current.sub:
                return {"error": "the new token is for another conversation"}
            await sio.save_session(sid, {"claims": fresh})
            return {"ok": True, "expires_at": fresh.expires_at}

        @sio.on(USER_EVENT)
        async def handle_message(sid: str, data: Any = None) -> None:
            claims = await claims_of(sid)
            if claims.expires_at <= time.time():
                await sio.emit("chat_error", {"error": "web chat token expired"}, to=sid)
                await sio.disconnect(sid)
                return
            text = data.get("message") if isinstance(data, dict) else None
            if not isinstance(text, str) or not text.strip():
                await sio.emit("chat_error", {"error": "message must be a non-empty string"}, to=sid)
                return
            if len(text) > MAX_MESSAGE_CHARS:
                await sio.emit("chat_error", {"error": f"message is longer than {MAX_MESSAGE_CHARS} characters"}, to=sid)
                return
            if self.rate_limit.check(claims.sender_id) is not Verdict.ALLOW:
                await sio.emit("chat_error", {"error": "too many messages; wait a moment", "code": "rate_limited"}, to=sid)
                return
            metadata: dict[str, Any] = {"channel": "web", "customer_id": claims.customer_id}
            client_metadata = data.get("metadata")
            page = client_metadata.get("page") if isinstance(client_metadata, dict) else None
            if isinstance(page, str):
                metadata["page"] = redact(page[:MAX_PAGE_CHARS])
            await self._record_conversation(claims)
            await sio.emit("bot_typing", {"typing": True}, room=claims.sender_id)
            try:
                await on_new_message(
                    UserMessage(
                        redact(text), SocketIOOutput(sio, BOT_EVENT), claims.sender_id, input_channel=self.name(), metadata=metadata
                    )
                )
            finally:
                await sio.emit("bot_typing", {"typing": False}, room=claims.sender_id)

        return webchat
