"""CSRF protection shared by the shop and the staff pages, and the check both login forms start with.

The token lives in the signed session cookie; forms send it as a hidden `csrf` field and
fetch() calls as the `X-CSRF-Token` header.
"""

import hmac
import secrets

from fastapi import HTTPException, Request

from validation.fields import InputError, check_credentials

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
