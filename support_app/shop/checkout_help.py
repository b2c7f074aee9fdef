"""Checkout help on the shop side: carts kept server-side, the widget's "left the checkout" beacon
(schedules a WhatsApp cart reminder), and order completion (cancels it, counts recovered carts).

The offer of help itself is made by the bot (bot/actions/checkout.py) from the cart stored here.
"""

import secrets
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse

from checkout import catalogue
from checkout.recovery import CheckoutRecovery
from checkout.reminders import SingleScheduler, order_completed, schedule_cart_reminder
from connectors.webchat_token import ANONYMOUS_PREFIX
from customer_store.store import CustomerStore
from support_app.security import check_csrf
from support_app.settings import Settings


def cart_subject(request: Request) -> str:
    """Whose cart this is: the logged-in customer id, else the visitor's `anon-…` web chat subject."""
    customer_id = request.session.get("customer_id")
    if customer_id:
        return str(customer_id)
    if not str(request.session.get("anon_sub", "")).startswith(ANONYMOUS_PREFIX):
        request.session["anon_sub"] = ANONYMOUS_PREFIX + secrets.token_hex(12)
    return str(request.session["anon_sub"])


def cart_record(items: dict[str, int]) -> dict[str, Any]:
    """Session cart (product id → quantity) as stored for the bot: lines with names and prices, and the total."""
    lines: list[dict[str, Any]] = []
    for product_id, quantity in items.items():
        product = catalogue.product(product_id)
        if product is not None:
            lines.append({"product_id": product_id, "name": product.name["tr"], "quantity": quantity, "price_kurus": product.price_kurus})
    return {"items": lines, "total_kurus": sum(line["price_kurus"] * line["quantity"] for line in lines)}


def save_cart(customers: CustomerStore, request: Request, items: dict[str, int]) -> None:
    record = cart_record(items)
    customers.save_cart(cart_subject(request), record["items"], record["total_kurus"])


def checkout_data(request: Request, items: dict[str, int], csrf: str) -> dict[str, Any]:
    """What the widget needs on the checkout page (a JSON data attribute): the cart and the beacon URL."""
    record = cart_record(items)
    return {
        "itemCount": sum(line["quantity"] for line in record["items"]),
        "totalKurus": record["total_kurus"],
        "leaveUrl": "/api/checkout/left",
        "csrf": csrf,
    }


def complete_order(
    customers: CustomerStore, recovery: CheckoutRecovery, scheduler: Callable[[], SingleScheduler], request: Request, items: dict[str, int]
) -> str:
    """Record the order, close the cart, cancel a pending reminder and count a recovered cart."""
    subject = cart_subject(request)
    customer_id = request.session.get("customer_id")
    record = cart_record(items)
    order_id = "W" + secrets.token_hex(5).upper()
    if customer_id:
        customers.record_order(str(customer_id), order_id, record["items"], record["total_kurus"])
    customers.save_cart(subject, record["items"], record["total_kurus"])
    customers.mark_cart_ordered(subject)
    order_completed(recovery, scheduler, subject, customer_id, order_id, record["total_kurus"])
    return order_id


def checkout_router(
    settings: Settings, customers: CustomerStore, recovery: CheckoutRecovery, scheduler: Callable[[], SingleScheduler]
) -> APIRouter:
    router = APIRouter()

    @router.post("/api/checkout/left")
    async def left_checkout(request: Request, csrf: str = Form("")) -> JSONResponse:
        """The widget's beacon on pagehide with items in the cart: a reminder for a logged-in customer
        with a WhatsApp number and marketing consent (the scheduler also enforces consent and quiet hours)."""
        check_csrf(request, csrf)
        customer_id: str | None = request.session.get("customer_id")
        key = None
        if customer_id:
            key = schedule_cart_reminder(
                customers,
                recovery,
                scheduler(),
                str(customer_id),
                settings.cart_reminder_delay_minutes * 60,
                str(request.url_for("checkout")),
            )
        return JSONResponse({"reminder": key})

    return router
