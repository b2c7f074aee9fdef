"""The agent inbox: /inbox (page) and /inbox/api/* (JSON for inbox.js).

Agents and admins see the open handoffs, open one's context card, and claim, reply, transfer
and close. The live queue and new messages come from inbox_stream.py (Server-Sent Events).
State-changing calls need the X-CSRF-Token header; pages redirect to the staff login, APIs
answer 401 without a login.
"""

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from customer_store.store import CustomerStore
from storage.database import Database
from support_app.console.inbox import template_text as reply_template_text
from support_app.console.inbox.auth import staff_write
from support_app.console.inbox.backend import HandoffError, InboxBackend
from support_app.console.inbox.reply_templates import templates_admin_router
from support_app.console.inbox.stream import stream_router
from support_app.console.staff.accounts import StaffUser, render_staff, staff_api, staff_page

MAX_REPLY = 4000


class ReplyBody(BaseModel):
    text: str


class TransferBody(BaseModel):
    to_agent: str


def template_values(customers: CustomerStore, handoff: dict[str, Any], user: StaffUser) -> dict[str, str]:
    """What a reply template's {variables} are filled with for this handoff and agent."""
    values = {"agent_name": user.display_name}
    customer = customers.customer(handoff["customer_id"]) if handoff.get("customer_id") else None
    if customer:
        values.update(first_name=customer.get("first_name") or "", full_name=customer.get("name") or "", email=customer.get("email") or "")
        orders = customers.recent_orders(customer["id"], limit=1)
        if orders:
            values["order_id"] = str(orders[0]["order_id"])
    return values


def agent_logins(request: Request) -> list[str]:
    """Who a conversation can be transferred to: agents and admins."""
    return [user.login for user in request.app.state.staff_accounts.users() if user.may("agent")]


def inbox_router(database_path: Database) -> APIRouter:
    """The inbox page and API, its live feed and the reply template admin, on one database."""
    backend = InboxBackend(database_path)
    router = APIRouter()
    router.include_router(stream_router(backend))
    router.include_router(templates_admin_router(backend))
    agent = staff_api("agent")
    agent_write = staff_write("agent")

    def existing(handoff_id: int) -> dict[str, Any]:
        handoff = backend.handoff(handoff_id)
        if handoff is None:
            raise HTTPException(status_code=404, detail=f"no handoff {handoff_id}")
        return handoff

    async def act(action: Any, *args: Any) -> dict[str, Any]:
        try:
            result = await action(*args)
        except HandoffError as error:
            raise HTTPException(status_code=409, detail=str(error)) from None
        if result and result.get("status") == "failed":
            raise HTTPException(status_code=502, detail=f"saved, but not delivered to the customer: {result.get('error')}")
        if result and result.get("notified") is False:
            raise HTTPException(status_code=502, detail=f"closed, but the bot was not told: {result.get('error')}")
        return {"ok": True, "handoff": backend.handoff(args[0])}

    @router.get("/inbox", response_class=HTMLResponse)
    async def inbox_page(request: Request, user: StaffUser = Depends(staff_page("agent"))) -> HTMLResponse:
        return render_staff(request, "inbox.html", user)

    @router.get("/inbox/api/queue")
    async def queue(request: Request, user: StaffUser = Depends(agent)) -> dict[str, Any]:
        return {"handoffs": backend.queue(), "me": user.login, "agents": agent_logins(request)}

    @router.get("/inbox/api/handoffs/{handoff_id}")
    async def handoff_detail(handoff_id: int, user: StaffUser = Depends(agent)) -> dict[str, Any]:
        handoff = existing(handoff_id)
        return {"handoff": handoff, "card": backend.card(handoff_id), "messages": backend.messages(handoff_id)}

    @router.post("/inbox/api/handoffs/{handoff_id}/claim")
    async def claim(handoff_id: int, user: StaffUser = Depends(agent_write)) -> dict[str, Any]:
        existing(handoff_id)
        return await act(backend.claim, handoff_id, user.login)

    @router.post("/inbox/api/handoffs/{handoff_id}/reply")
    async def reply(handoff_id: int, body: ReplyBody, user: StaffUser = Depends(agent_write)) -> dict[str, Any]:
        existing(handoff_id)
        text = body.text.strip()
        if not text:
            raise HTTPException(status_code=400, detail="field 'text': the reply is empty")
        if len(text) > MAX_REPLY:
            raise HTTPException(status_code=400, detail=f"field 'text': at most {MAX_REPLY} characters, not {len(text)}")
        missing = reply_template_text.unfilled(text)
        if missing:
            names = ", ".join("{" + name + "}" for name in missing)
            raise HTTPException(status_code=400, detail=f"field 'text': fill in {names} before sending")
        return await act(backend.reply, handoff_id, user.login, text)

    @router.post("/inbox/api/handoffs/{handoff_id}/transfer")
    async def transfer(request: Request, handoff_id: int, body: TransferBody, user: StaffUser = Depends(agent_write)) -> dict[str, Any]:
        existing(handoff_id)
        if body.to_agent not in agent_logins(request):
            raise HTTPException(status_code=400, detail=f"field 'to_agent': {body.to_agent!r} is not an agent")
        return await act(backend.transfer, handoff_id, user.login, body.to_agent)

    @router.post("/inbox/api/handoffs/{handoff_id}/close")
    async def close(handoff_id: int, user: StaffUser = Depends(agent_write)) -> dict[str, Any]:
        existing(handoff_id)
        return await act(backend.close, handoff_id, user.login)

    @router.get("/inbox/api/templates")
    async def reply_templates(user: StaffUser = Depends(agent)) -> dict[str, list[dict[str, Any]]]:
        return {
            "templates": backend.templates(),
            "variables": [{"name": k, "meaning": v} for k, v in reply_template_text.VARIABLES.items()],
        }

    @router.get("/inbox/api/handoffs/{handoff_id}/templates/{template_id}")
    async def filled_template(request: Request, handoff_id: int, template_id: int, user: StaffUser = Depends(agent)) -> dict[str, Any]:
        """The template with this handoff's values put in; `missing` lists what the agent must fill."""
        handoff = existing(handoff_id)
        template = backend.template(template_id)
        if template is None:
            raise HTTPException(status_code=404, detail=f"no reply template {template_id}")
        try:
            text, missing = reply_template_text.fill(template["text"], template_values(request.app.state.customers, handoff, user))
        except reply_template_text.TemplateError as error:
            raise HTTPException(status_code=422, detail=f"template {template['name']!r}: {error}") from None
        return {"text": text, "missing": missing}

    return router
