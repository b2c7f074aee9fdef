"""CSRF protection shared by the shop and the staff pages, and who may log in with a published
password.

The CSRF token lives in the signed session cookie; forms send it as a hidden `csrf` field and
fetch() calls as the `X-CSRF-Token` header.
"""

import hmac
import ipaddress
import secrets

from fastapi import HTTPException, Request

from security.secrets_policy import published_values
from settings.model import get_settings
from validation.fields import InputError, check_credentials

# Headers a reverse proxy adds: with one of them a loopback peer is not the caller.
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")

CSRF_HEADER = "X-CSRF-Token"


def csrf_token(request: Request) -> str:
    if "csrf" not in request.session:
        request.session["csrf"] = secrets.token_urlsafe(24)
    return str(request.session["csrf"])


def check_csrf(request: Request, token: str) -> None:
    """Raise 400 unless `token` is this session's CSRF token."""
    if not token or not hmac.compare_digest(token.encode(), csrf_token(request).encode()):
        raise HTTPException(status_code=400, detail="missing or wrong CSRF token; reload the page and try again")


def check_csrf_header(request: Request) -> None:
    """For JSON APIs called with fetch(): the token comes in the X-CSRF-Token header."""
    check_csrf(request, request.headers.get(CSRF_HEADER, ""))


def checked_login(request: Request, login: str, password: str, csrf: str) -> str:
    """The login name of a login form once its CSRF token and the credentials' shape are checked; 400 otherwise."""
    check_csrf(request, csrf)
    try:
        return check_credentials(login, password)
    except InputError as error:
        raise HTTPException(status_code=400, detail=str(error)) from None


def from_this_machine(request: Request) -> bool:
    """A direct request from this machine: a loopback peer and no proxy headers (a local reverse
    proxy would make every outside request look local)."""
    if any(header in request.headers for header in PROXY_HEADERS):
        return False
    try:
        return request.client is not None and ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


def published_password_from_afar(request: Request, password: str) -> bool:
    """True when a right password must still be refused: it is published (the demo accounts'
    `demo-staff` and `demo`, any value of .env.example) and the request does not come from this
    machine. Whoever reaches an exposed or proxied app could otherwise log in as the demo admin or
    as a demo customer; DESTEK_DEMO_SECRETS=1 lets it through for a throwaway public demo."""
    return not get_settings().secrets.demo_secrets and password in published_values() and not from_this_machine(request)
