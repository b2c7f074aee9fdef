"""The support app's assembly (create_app: the staff console's routers, shared middleware) and the demo shop
(Pusula): cart, checkout, demo login, and the web chat token endpoint.

Every page embeds the chat widget. A logged-in customer's chat is bound to their customer id by
the token from /api/webchat/token; a visitor gets an `anon-…` subject kept in the signed
session cookie, so reloads continue the same conversation.
"""

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from campaigns.single import CampaignsScheduler
from checkout import catalogue
from checkout.recovery import CheckoutRecovery
from connectors.webchat_token import issue_token
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
from support_app.console.staff.accounts import SESSION_KEY, SESSION_LIFETIME, StaffAccounts, StaffLoginRequired, client_address
from support_app.console.staff.pages import STAFF_AREAS, staff_router
from support_app.http_headers import SecurityHeaders, security_headers
from support_app.input_guard import InputGuard, one_line_response, validation_error_line
from support_app.login_throttle import LoginThrottle
from support_app.security import check_csrf, csrf_token
from support_app.settings import Settings
from support_app.shop.accounts import Accounts
from support_app.shop.checkout_help import cart_subject, checkout_data, checkout_router, complete_order, save_cart
from validation.fields import InputError, check_credentials

HERE = Path(__file__).resolve().parent
LANGUAGES = ("tr", "en")


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
    login_throttle = LoginThrottle("shop")

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

    def language(request: Request) -> str:
        requested = request.query_params.get("lang")
        if requested in LANGUAGES:
            request.session["lang"] = requested
        if request.session.get("lang") in LANGUAGES:
            return str(request.session["lang"])
        customer = customers.customer(request.session["customer_id"]) if request.session.get("customer_id") else None
        return customer["language"] if customer and customer.get("language") in LANGUAGES else "tr"

    def restart_customer_session(request: Request) -> None:
        """A new shop session for a new identity (no stale cart or anonymous chat); a staff login stays."""
        staff_session = request.session.get(SESSION_KEY)
        request.session.clear()
        if staff_session:
            request.session[SESSION_KEY] = staff_session

    def cart(request: Request) -> dict[str, int]:
        return dict(request.session.get("cart") or {})

    def cart_lines(request: Request, lang: str) -> dict[str, Any]:
        lines = []
        total = 0
        for product_id, quantity in cart(request).items():
            product = catalogue.product(product_id)
            if product is None:
                continue
            total += product.price_kurus * quantity
            lines.append(
                {
                    "product": product,
                    "name": product.name[lang],
                    "quantity": quantity,
                    "subtotal": catalogue.total_text(product.price_kurus * quantity),
                }
            )
        return {"lines": lines, "total": catalogue.total_text(total)}

    def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        lang = language(request)
        customer_id = request.session.get("customer_id")
        customer = customers.customer(customer_id) if customer_id else None
        widget_config = {
            "serverUrl": settings.webchat_server_url,
            "tokenUrl": "/api/webchat/token",
            "language": lang,
            "checkoutIdleSeconds": settings.checkout_idle_seconds,
            "brand": settings.brand_name,
        }
        return templates.TemplateResponse(
            request,
            template,
            {
                "lang": lang,
                "t": catalogue.TEXTS[lang],
                "customer": customer,
                "csrf": csrf_token(request),
                "cart_count": sum(cart(request).values()),
                "widget_config": widget_config,
                **context,
            },
            status_code=status_code,
        )

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", response_class=HTMLResponse)
    async def shop(request: Request) -> HTMLResponse:
        lang = language(request)
        products = [
            {"id": p.id, "name": p.name[lang], "description": p.description[lang], "price": p.price_text()}
            for p in catalogue.current().products
        ]
        return render(request, "shop.html", products=products)

    @app.get("/cart", response_class=HTMLResponse)
    async def show_cart(request: Request) -> HTMLResponse:
        return render(request, "cart.html", **cart_lines(request, language(request)))

    @app.post("/cart/add")
    async def add_to_cart(request: Request, product_id: str = Form(...), csrf: str = Form("")) -> RedirectResponse:
        check_csrf(request, csrf)
        if catalogue.product(product_id) is None:
            raise HTTPException(status_code=400, detail=f"unknown product {product_id!r}")
        items = cart(request)
        items[product_id] = min(items.get(product_id, 0) + 1, 99)
        request.session["cart"] = items
        save_cart(customers, request, items)
        return RedirectResponse("/cart", status_code=303)

    @app.post("/cart/remove")
    async def remove_from_cart(request: Request, product_id: str = Form(...), csrf: str = Form("")) -> RedirectResponse:
        check_csrf(request, csrf)
        items = cart(request)
        items.pop(product_id, None)
        request.session["cart"] = items
        save_cart(customers, request, items)
        return RedirectResponse("/cart", status_code=303)

    @app.get("/checkout", response_class=HTMLResponse)
    async def checkout(request: Request) -> HTMLResponse:
        return render(
            request,
            "checkout.html",
            ordered=False,
            checkout=checkout_data(request, cart(request), csrf_token(request)),
            **cart_lines(request, language(request)),
        )

    @app.post("/checkout", response_class=HTMLResponse)
    async def place_order(request: Request, csrf: str = Form("")) -> HTMLResponse:
        check_csrf(request, csrf)
        if not cart(request):
            raise HTTPException(status_code=400, detail="the cart is empty")
        complete_order(customers, recovery, lambda: CampaignsScheduler(settings.database_path), request, cart(request))
        request.session["cart"] = {}
        return render(request, "checkout.html", ordered=True, lines=[], total="")

    @app.get("/login", response_class=HTMLResponse)
    async def login_page(request: Request) -> HTMLResponse:
        return render(request, "login.html", error=False)

    @app.post("/login", response_model=None)
    async def login(request: Request, login: str = Form(...), password: str = Form(...), csrf: str = Form("")) -> Response:
        check_csrf(request, csrf)
        try:
            name = check_credentials(login, password)
        except InputError as error:
            raise HTTPException(status_code=400, detail=str(error)) from None
        client = client_address(request)
        if login_throttle.blocked(name, client):
            return render(request, "login.html", status_code=429, error="throttled")
        customer_id = accounts.authenticate(name, password)
        if customer_id is None:
            login_throttle.failed(name, client)
            return render(request, "login.html", status_code=401, error=True)
        login_throttle.succeeded(name, client)
        restart_customer_session(request)
        request.session["customer_id"] = customer_id
        return RedirectResponse("/", status_code=303)

    @app.post("/logout")
    async def logout(request: Request, csrf: str = Form("")) -> RedirectResponse:
        check_csrf(request, csrf)
        restart_customer_session(request)
        return RedirectResponse("/", status_code=303)

    @app.get("/api/webchat/token")
    async def webchat_token(request: Request) -> JSONResponse:
        sub = cart_subject(request)
        lang = language(request)
        now = time.time()
        token = issue_token(sub, settings.webchat_jwt_secret, settings.webchat_token_ttl, language=lang, now=now)
        body = {"token": token, "sub": sub, "language": lang, "expires_at": int(now) + settings.webchat_token_ttl}
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    app.include_router(incident_router(settings.database_path, lambda: CampaignsScheduler(settings.database_path)))
    app.include_router(checkout_router(settings, customers, recovery, lambda: CampaignsScheduler(settings.database_path)))
    return app
