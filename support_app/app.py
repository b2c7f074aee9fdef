"""The support app's assembly (create_app): the demo shop's router (shop/), the staff console's routers
(console/), and what they share: the session cookie, the security headers, the input guard, the
templates and static files, the error pages, and the demo data seeded at start.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from campaigns.single import CampaignsScheduler
from checkout.recovery import CheckoutRecovery
from customer_store.store import CustomerStore
from settings.model import get_settings
from support_app.console.agent_desk.routes import assignment_worker, desk_router
from support_app.console.campaign_pages import campaign_router
from support_app.console.dashboard import dashboard_router
from support_app.console.inbox.pages import inbox_router
from support_app.console.incident_pages import incident_router
from support_app.console.learning_pages import learning_router
from support_app.console.replay_pages import golden_router
from support_app.console.review import review_router
from support_app.console.staff.accounts import SESSION_LIFETIME, StaffAccounts, StaffLoginRequired
from support_app.console.staff.pages import STAFF_AREAS, staff_router
from support_app.http_headers import SecurityHeaders, security_headers
from support_app.input_guard import InputGuard, one_line_response, validation_error_line
from support_app.settings import Settings
from support_app.shop.accounts import Accounts
from support_app.shop.pages import shop_router

HERE = Path(__file__).resolve().parent


def content_security_policy(webchat_server_url: str) -> str:
    """Scripts, styles and images only from this app; sockets only to the chat server."""
    socket_url = "ws" + webchat_server_url[len("http") :] if webchat_server_url.startswith("http") else webchat_server_url
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {webchat_server_url} {socket_url}; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.of(get_settings())
    customers = CustomerStore(settings.database_path)
    accounts = Accounts(settings.database_path)
    staff_accounts = StaffAccounts(settings.database_path)
    recovery = CheckoutRecovery(settings.database_path)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["staff_areas"] = STAFF_AREAS
    templates.env.globals["brand"] = settings.brand_name
    templates.env.globals["demo_data"] = settings.demo_data
    csp = content_security_policy(settings.webchat_server_url)

    def campaigns_scheduler() -> CampaignsScheduler:
        return CampaignsScheduler(settings.database_path)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if settings.demo_data:  # DESTEK_DEMO_DATA: off for a real company (docs/configuration.md)
            customers.seed_demo_customers()
            accounts.seed_demo()
            if settings.staff_demo_password:
                staff_accounts.seed_demo(settings.staff_demo_password)
        async with assignment_worker(settings.database_path):
            yield

    app = FastAPI(title="Destek support app", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    # One cookie carries the shop and the staff session: it lives as long as a staff session
    # (12 h, renewed whenever the session changes), not 30 days.
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret,
        session_cookie="destek_session",
        max_age=SESSION_LIFETIME,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    app.add_middleware(InputGuard)
    app.add_middleware(SecurityHeaders, headers=security_headers(csp))
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.state.settings = settings
    app.state.templates = templates
    app.state.customers = customers
    app.state.staff_accounts = staff_accounts

    @app.exception_handler(RequestValidationError)
    async def one_line_400(request: Request, error: RequestValidationError) -> Response:
        return one_line_response(request.url.path, 400, validation_error_line(error))

    @app.exception_handler(StaffLoginRequired)
    async def to_staff_login(_: Request, error: StaffLoginRequired) -> RedirectResponse:
        return RedirectResponse("/staff/login?" + urlencode({"next": error.next_path}), status_code=303)

    app.include_router(staff_router())
    app.include_router(campaign_router())
    app.include_router(inbox_router(settings.database_path))
    app.include_router(desk_router(settings.database_path))
    app.include_router(dashboard_router())
    app.include_router(review_router())
    app.include_router(learning_router())
    app.include_router(golden_router())

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(shop_router(settings, templates, customers, accounts, recovery, campaigns_scheduler))
    app.include_router(incident_router(settings.database_path, campaigns_scheduler))
    return app
