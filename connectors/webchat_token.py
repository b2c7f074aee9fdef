"""The web chat session token: issued by the support app, verified by the Rasa web chat channel.

An HS256 JWT whose `sub` is the customer id of a logged-in customer or `anon-<random>` for a
visitor. The Rasa sender id is derived from the verified `sub` alone (`web:<sub>`), so a client
cannot choose which conversation it writes into. Python 3.10-compatible (runs in both venvs).
"""

import re
import time
from dataclasses import dataclass

import jwt

ALGORITHM = "HS256"
ISSUER = "destek-support-app"
AUDIENCE = "destek-webchat"
ANONYMOUS_PREFIX = "anon-"
_SUB = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class InvalidToken(ValueError):
    """The token is missing, forged, expired or carries an unusable subject."""


@dataclass(frozen=True)
class WebChatClaims:
    sub: str
    expires_at: int
    language: str | None = None

    @property
    def sender_id(self) -> str:
        return f"web:{self.sub}"

    @property
    def customer_id(self) -> str | None:
        """The customer id for a logged-in customer, None for an anonymous visitor."""
        return None if self.sub.startswith(ANONYMOUS_PREFIX) else self.sub


def issue_token(sub: str, secret: str, ttl_seconds: int, language: str | None = None, now: float | None = None) -> str:
    if not _SUB.match(sub):
        raise ValueError(f"web chat subject {sub!r} must be 1-64 letters, digits, '.', '_' or '-'")
    issued = int(now if now is not None else time.time())
    claims = {"sub": sub, "iat": issued, "exp": issued + ttl_seconds, "iss": ISSUER, "aud": AUDIENCE}
    if language:
        claims["lang"] = language
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(token: object, secret: str) -> WebChatClaims:
    """The token's claims, or InvalidToken naming what is wrong with it."""
    if not isinstance(token, str) or not token:
        raise InvalidToken("missing web chat token")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["sub", "exp", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("web chat token expired") from None
    except jwt.InvalidTokenError as error:
        raise InvalidToken(f"invalid web chat token: {error}") from None
    sub = claims["sub"]
    if not isinstance(sub, str) or not _SUB.match(sub):
        raise InvalidToken("invalid web chat token: unusable subject")
    language = claims.get("lang")
    return WebChatClaims(sub=sub, expires_at=int(claims["exp"]), language=language if isinstance(language, str) else None)
