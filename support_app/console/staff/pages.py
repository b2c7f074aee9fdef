"""Staff login, logout and the staff home page (links to what the user's role may open)."""

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from support_app.console.staff.accounts import (
    SESSION_KEY,
    StaffAccounts,
    StaffUser,
    client_address,
    current_staff,
    render_staff,
    safe_next,
    staff_page,
)
from support_app.login_throttle import LoginThrottle
from support_app.security import check_csrf, checked_login, published_password_from_afar

# Each staff area: (path, title, roles that may open it; none = every staff user).
PUBLISHED_PASSWORD = (
    "This account still has the published demo password: it works only on this machine."
    " Set a new one (python -m support_app.console.staff.cli add LOGIN --role ROLE) before logging in from elsewhere."
)
STAFF_AREAS = (
    ("/inbox", "Inbox", ("agent",)),
    ("/review", "Conversation review", ("agent",)),
    ("/dashboard", "Dashboard", ()),
    ("/campaigns", "Campaigns", ("marketing",)),
    ("/incidents", "Incidents", ("operations",)),
)


def staff_router() -> APIRouter:
    router = APIRouter()
    throttle = LoginThrottle("staff")

    @router.get("/staff/login", response_class=HTMLResponse)
    async def login_page(request: Request, next: str = "/staff") -> HTMLResponse:
        return render_staff(request, "staff_login.html", current_staff(request), next=safe_next(next), error=None)

    @router.post("/staff/login", response_model=None)
    async def login(
        request: Request, login: str = Form(...), password: str = Form(...), csrf: str = Form(""), next: str = Form("/staff")
    ) -> Response:
        name = checked_login(request, login, password, csrf)
        client = client_address(request)
        accounts: StaffAccounts = request.app.state.staff_accounts
        if throttle.blocked(name, client):
            return render_staff(
                request,
                "staff_login.html",
                None,
                status_code=429,
                next=safe_next(next),
                error="Too many failed attempts; wait 15 minutes and try again.",
            )
        user = accounts.authenticate(name, password)
        if user is None:
            throttle.failed(name, client)
            return render_staff(request, "staff_login.html", None, status_code=401, next=safe_next(next), error="Wrong login or password.")
        if published_password_from_afar(request, password):
            return render_staff(request, "staff_login.html", None, status_code=403, next=safe_next(next), error=PUBLISHED_PASSWORD)
        throttle.succeeded(name, client)
        previous = request.session.pop(SESSION_KEY, None)
        if previous:
            accounts.close_session(str(previous))
        request.session[SESSION_KEY] = accounts.open_session(user.login)
        return RedirectResponse(safe_next(next), status_code=303)

    @router.post("/staff/logout")
    async def logout(request: Request, csrf: str = Form("")) -> RedirectResponse:
        check_csrf(request, csrf)
        session_id = request.session.pop(SESSION_KEY, None)
        if session_id:
            request.app.state.staff_accounts.close_session(str(session_id))
        return RedirectResponse("/staff/login", status_code=303)

    @router.get("/staff", response_class=HTMLResponse)
    async def home(request: Request, user: StaffUser = Depends(staff_page())) -> HTMLResponse:
        areas = [(path, title) for path, title, roles in STAFF_AREAS if user.may(*roles)]
        return render_staff(request, "staff_home.html", user, areas=areas)

    return router
