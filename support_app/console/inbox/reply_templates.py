"""Reply templates for admins: the page /inbox/templates and the API /inbox/api/templates (write).

Agents read templates through the inbox API; creating, changing and deleting them is for
admins only (403 for an agent). A template with an unknown or malformed {variable} is refused
with a message naming it, and nothing is saved.
"""

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from support_app.console.inbox import template_text as reply_template_text
from support_app.console.inbox.auth import staff_write
from support_app.console.inbox.backend import InboxBackend
from support_app.console.staff.accounts import StaffUser, render_staff, staff_page


class TemplateBody(BaseModel):
    name: str
    language: str
    text: str


def templates_admin_router(backend: InboxBackend) -> APIRouter:
    router = APIRouter()
    admin = staff_write("admin")

    def checked(body: TemplateBody) -> tuple[str, str, str]:
        try:
            return reply_template_text.check_template(body.name, body.language, body.text)
        except reply_template_text.TemplateError as error:
            raise HTTPException(status_code=422, detail=str(error)) from None

    @router.get("/inbox/templates", response_class=HTMLResponse)
    async def templates_page(request: Request, user: StaffUser = Depends(staff_page("admin"))) -> HTMLResponse:
        return render_staff(
            request, "inbox_templates.html", user, reply_templates=backend.templates(), variables=reply_template_text.VARIABLES
        )

    @router.post("/inbox/api/templates", status_code=201)
    async def create(body: TemplateBody, user: StaffUser = Depends(admin)) -> dict[str, Any]:
        name, language, text = checked(body)
        return {"id": backend.save_template(name, language, text, user.login)}

    @router.put("/inbox/api/templates/{template_id}")
    async def update(template_id: int, body: TemplateBody, user: StaffUser = Depends(admin)) -> dict[str, Any]:
        if backend.template(template_id) is None:
            raise HTTPException(status_code=404, detail=f"no reply template {template_id}")
        name, language, text = checked(body)
        return {"id": backend.save_template(name, language, text, user.login, replaces=template_id)}

    @router.delete("/inbox/api/templates/{template_id}")
    async def delete(template_id: int, user: StaffUser = Depends(admin)) -> dict[str, Any]:
        if backend.template(template_id) is None:
            raise HTTPException(status_code=404, detail=f"no reply template {template_id}")
        backend.delete_template(template_id)
        return {"deleted": template_id}

    return router
