"""Staff logins for the inbox, review, dashboard, campaign and incident pages.

Accounts live in `staff_accounts` (scrypt hashes, as the shop's); a login creates a row in
`staff_sessions` whose random id is kept in the signed session cookie, so logging out (or an
admin removing the account) ends the session server-side, not only in the browser.

Roles: `admin` may do everything; `agent` (inbox, review), `marketing` (campaigns),
`operations` (incidents). Every staff user may see the dashboard.
"""

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse

from storage import schema
from storage.database import Store
from support_app.security import csrf_token
from support_app.shop.accounts import hash_password, password_matches

ROLES = ("admin", "agent", "marketing", "operations")
SESSION_LIFETIME = 12 * 3600
SESSION_KEY = "staff_session"
DEMO_STAFF = (
    ("admin", "Admin", "admin"),
    ("agent1", "Elif (agent)", "agent"),
    ("agent2", "Can (agent)", "agent"),
    ("marketing", "Marketing", "marketing"),
    ("ops", "Operations", "operations"),
)


@dataclass(frozen=True)
class StaffUser:
    login: str
    display_name: str
    role: str

    def may(self, *roles: str) -> bool:
        """Admins may do everything; with no roles named, any staff user may."""
        return self.role == "admin" or not roles or self.role in roles


def _hash_session_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class StaffAccounts(Store):
    TABLES = (schema.staff_accounts, schema.staff_sessions)

    def set_account(self, login: str, display_name: str, role: str, password: str) -> None:
        """Create or replace an account (a new password ends the account's open sessions)."""
        login = login.strip().lower()
        if role not in ROLES:
            raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
        if not login or not login.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise ValueError(f"login {login!r} must be letters, digits, '.', '-' or '_'")
        if len(password) < 8:
            raise ValueError("password must have at least 8 characters")
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO staff_accounts (login, display_name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (login) DO UPDATE SET display_name = excluded.display_name, role = excluded.role, "
                "password_hash = excluded.password_hash",
                (login, display_name, role, hash_password(password), time.time()),
            )
            connection.execute("DELETE FROM staff_sessions WHERE login = ?", (login,))

    def remove_account(self, login: str) -> None:
        with self._transaction() as connection:
            connection.execute("DELETE FROM staff_sessions WHERE login = ?", (login,))
            connection.execute("DELETE FROM staff_accounts WHERE login = ?", (login,))

    def user(self, login: str) -> StaffUser | None:
        with self._transaction() as connection:
            row = connection.execute("SELECT login, display_name, role FROM staff_accounts WHERE login = ?", (login,)).fetchone()
        return StaffUser(row["login"], row["display_name"], row["role"]) if row else None

    def users(self, role: str | None = None) -> list[StaffUser]:
        """All accounts (or those with one role), by login: e.g. the agents to transfer a conversation to."""
        query = "SELECT login, display_name, role FROM staff_accounts" + (" WHERE role = ?" if role else "") + " ORDER BY login"
        with self._transaction() as connection:
            rows = connection.execute(query, (role,) if role else ()).fetchall()
        return [StaffUser(row["login"], row["display_name"], row["role"]) for row in rows]

    def authenticate(self, login: str, password: str) -> StaffUser | None:
        with self._transaction() as connection:
            row = connection.execute("SELECT password_hash FROM staff_accounts WHERE login = ?", (login.strip().lower(),)).fetchone()
        if not password_matches(password, row["password_hash"] if row else None):
            return None
        return self.user(login.strip().lower())

    def open_session(self, login: str) -> str:
        session_id = secrets.token_urlsafe(32)
        now = time.time()
        with self._transaction() as connection:
            connection.execute("DELETE FROM staff_sessions WHERE expires_at < ?", (now,))
            connection.execute(
                "INSERT INTO staff_sessions (id_hash, login, created_at, expires_at) VALUES (?, ?, ?, ?)",
                (_hash_session_id(session_id), login, now, now + SESSION_LIFETIME),
            )
        return session_id

    def session_user(self, session_id: str) -> StaffUser | None:
        with self._transaction() as connection:
            row = connection.execute(
                "SELECT a.login, a.display_name, a.role FROM staff_sessions s JOIN staff_accounts a ON a.login = s.login "
                "WHERE s.id_hash = ? AND s.expires_at > ?",
                (_hash_session_id(session_id), time.time()),
            ).fetchone()
        return StaffUser(row["login"], row["display_name"], row["role"]) if row else None

    def close_session(self, session_id: str) -> None:
        with self._transaction() as connection:
            connection.execute("DELETE FROM staff_sessions WHERE id_hash = ?", (_hash_session_id(session_id),))

    def seed_demo(self, password: str) -> None:
        """The demo team (see DEMO_STAFF), only into an empty table: real accounts are never touched."""
        with self._transaction() as connection:
            if connection.execute("SELECT COUNT(*) FROM staff_accounts").fetchone()[0]:
                return
        for login, display_name, role in DEMO_STAFF:
            self.set_account(login, display_name, role, password)


def client_address(request: Request) -> str:
    """The caller's address as uvicorn reports it, for per-client login limits."""
    return request.client.host if request.client else "unknown"


def current_staff(request: Request) -> StaffUser | None:
    session_id = request.session.get(SESSION_KEY)
    if not session_id:
        return None
    accounts: StaffAccounts = request.app.state.staff_accounts
    user = accounts.session_user(str(session_id))
    if user is None:
        request.session.pop(SESSION_KEY, None)
    return user


class StaffLoginRequired(Exception):
    """Raised by page dependencies; the app turns it into a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


def staff_page(*roles: str) -> Callable[[Request], StaffUser]:
    """A page dependency: the user, or a redirect to /staff/login (403 when the role does not fit)."""

    def dependency(request: Request) -> StaffUser:
        user = current_staff(request)
        if user is None:
            raise StaffLoginRequired(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        if not user.may(*roles):
            raise HTTPException(status_code=403, detail=f"this page needs the {' or '.join(roles)} role")
        return user

    return dependency


def staff_api(*roles: str) -> Callable[[Request], StaffUser]:
    """An API dependency: the user, or 401 (no login) / 403 (wrong role) as JSON."""

    def dependency(request: Request) -> StaffUser:
        user = current_staff(request)
        if user is None:
            raise HTTPException(status_code=401, detail="staff login required")
        if not user.may(*roles):
            raise HTTPException(status_code=403, detail=f"this needs the {' or '.join(roles)} role")
        return user

    return dependency


def safe_next(path: str | None) -> str:
    """Only a local path may follow the login (no open redirect)."""
    if path and path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return "/staff"


def render_staff(request: Request, template: str, user: StaffUser | None, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a template that extends staff_base.html (it needs the user and the CSRF token)."""
    return request.app.state.templates.TemplateResponse(
        request, template, {"user": user, "csrf": csrf_token(request), **context}, status_code=status_code
    )
