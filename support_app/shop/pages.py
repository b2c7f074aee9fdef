"""The demo shop's pages (Pusula): catalogue, cart, checkout, customer login and logout, and the web chat
token endpoint; the checkout help's beacon (checkout_help.py) is included here.

Every page embeds the chat widget. A logged-in customer's chat is bound to their customer id by
the token from /api/webchat/token; a visitor gets an `anon-…` subject kept in the signed
session cookie, so reloads continue the same conversation.
"""

import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from checkout import catalogue
from checkout.recovery import CheckoutRecovery
from checkout.reminders import SingleScheduler
from connectors.webchat_token import issue_token
from customer_store.store import CustomerStore
from support_app.console.staff.accounts import SESSION_KEY, client_address
from support_app.login_throttle import LoginThrottle
from support_app.security import check_csrf, checked_login, csrf_token, published_password_from_afar
from support_app.settings import Settings
from support_app.shop.accounts import Accounts
from support_app.shop.checkout_help import cart_subject, checkout_data, checkout_router, complete_order, save_cart

LANGUAGES = ("tr", "en")


def shop_router(
    settings: Settings,
    templates: Jinja2Templates,
    customers: CustomerStore,
    accounts: Accounts,
    recovery: CheckoutRecovery,
    scheduler: Callable[[], SingleScheduler],
) -> APIRouter:
    router = APIRouter()
    login_throttle = LoginThrottle("shop")

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

    @router.get("/", response_class=HTMLResponse)
    async def shop(request: Request) -> HTMLResponse:
        lang = language(request)
        products = [
            {"id": p.id, "name": p.name[lang], "description": p.description[lang], "price": p.price_text()}
            for p in catalogue.current().products
        ]
        return render(request, "shop.html", products=products)

    @router.get("/cart", response_class=HTMLResponse)
    async def show_cart(request: Request) -> HTMLResponse:
        return render(request, "cart.html", **cart_lines(request, language(request)))

    @router.post("/cart/add")
    async def add_to_cart(request: Request, product_id: str = Form(...), csrf: str = Form("")) -> RedirectResponse:
        check_csrf(request, csrf)
        if catalogue.product(product_id) is None:
            raise HTTPException(status_code=400, detail=f"unknown product {product_id!r}")
        items = cart(request)
        items[product_id] = min(items.get(product_id, 0) + 1, 99)
        request.session["cart"] = items
        save_cart(customers, request, items)
        return RedirectResponse("/cart", status_code=303)

    @router.post("/cart/remove")
    async def remove_from_cart(request: Request, product_id: str = Form(...), csrf: str = Form("")) -> RedirectResponse:
        check_csrf(request, csrf)
        items = cart(request)
        items.pop(product_id, None)
        request.session["cart"] = items
        save_cart(customers, request, items)
        return RedirectResponse("/cart", status_code=303)

    @router.get("/checkout", response_class=HTMLResponse)
    async def checkout(request: Request) -> HTMLResponse:
        return render(
            request,
            "checkout.html",
            ordered=False,
            checkout=checkout_data(request, cart(request), csrf_token(request)),
            **cart_lines(request, language(request)),
        )

    @router.post("/checkout", response_class=HTMLResponse)
    async def place_order(request: Request, csrf: str = Form("")) -> HTMLResponse:
        check_csrf(request, csrf)
        if not cart(request):
            raise HTTPException(status_code=400, detail="the cart is empty")
        complete_order(customers, recovery, scheduler, request, cart(request))
        request.session["cart"] = {}
        return render(request, "checkout.html", ordered=True, lines=[], total="")

    @router.get("/login", response_class=HTMLResponse)
    async def login_page(request: Request) -> HTMLResponse:
        return render(request, "login.html", error=False)

    @router.post("/login", response_model=None)
    async def login(request: Request, login: str = Form(...), password: str = Form(...), csrf: str = Form("")) -> Response:
        name = checked_login(request, login, password, csrf)
        client = client_address(request)
        if login_throttle.blocked(name, client):
            return render(request, "login.html", status_code=429, error="throttled")
        customer_id = accounts.authenticate(name, password)
        if customer_id is None:
            login_throttle.failed(name, client)
            return render(request, "login.html", status_code=401, error=True)
        if published_password_from_afar(request, password):  # a demo customer's "demo" from another host
            return render(request, "login.html", status_code=403, error="published")
        login_throttle.succeeded(name, client)
        restart_customer_session(request)
        request.session["customer_id"] = customer_id
        return RedirectResponse("/", status_code=303)

    @router.post("/logout")
    async def logout(request: Request, csrf: str = Form("")) -> RedirectResponse:
        check_csrf(request, csrf)
        restart_customer_session(request)
        return RedirectResponse("/", status_code=303)

    @router.get("/api/webchat/token")
    async def webchat_token(request: Request) -> JSONResponse:
        sub = cart_subject(request)
        lang = language(request)
        now = time.time()
        token = issue_token(sub, settings.webchat_jwt_secret, settings.webchat_token_ttl, language=lang, now=now)
        body = {"token": token, "sub": sub, "language": lang, "expires_at": int(now) + settings.webchat_token_ttl}
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    router.include_router(checkout_router(settings, customers, recovery, scheduler))
    return router
