"""Reply templates for admins: the page /inbox/templates and the API /inbox/api/templates (write).

Agents read templates through the inbox API; creating, changing and deleting them is for
admins only (403 for an agent). A template with an unknown or malformed {variable} is refused
with a message naming it, and nothing is saved.
"""

from typing import Any, Dict

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel

from support_app import reply_template_text
from support_app.inbox import staff_write
from support_app.inbox_backend import InboxBackend
from support_app.security import csrf_token, staff_page
from support_app.staff import StaffUser


class TemplateBody(BaseModel):
    name: str
    language: str
    body: str


def templates_admin_router(backend: InboxBackend, templates: Jinja2Templates) -> APIRouter:
    router = APIRouter()
    admin = staff_write("admin")

    def checked(body: TemplateBody) -> tuple[str, str, str]:
        try:
            return reply_template_text.check_template(body.name, body.language, body.body)
        except reply_template_text.TemplateError as error:
            raise HTTPException(status_code=422, detail=str(error)) from None

    @router.get("/inbox/templates", response_class=HTMLResponse)
    async def templates_page(request: Request, user: StaffUser = Depends(staff_page("admin"))) -> HTMLResponse:
        return templates.TemplateResponse(request, "inbox_templates.html", {
            "user": user, "csrf": csrf_token(request), "reply_templates": backend.templates(),
            "variables": reply_template_text.VARIABLES,
        })

    @router.post("/inbox/api/templates", status_code=201)
    async def create(body: TemplateBody, user: StaffUser = Depends(admin)) -> Dict[str, Any]:
        name, language, text = checked(body)
        return {"id": backend.save_template(name, language, text)}

    @router.put("/inbox/api/templates/{template_id}")
    async def update(template_id: int, body: TemplateBody, user: StaffUser = Depends(admin)) -> Dict[str, Any]:
        if backend.template(template_id) is None:
            raise HTTPException(status_code=404, detail=f"no reply template {template_id}")
        name, language, text = checked(body)
        return {"id": backend.save_template(name, language, text, template_id=template_id)}

    @router.delete("/inbox/api/templates/{template_id}")
    async def delete(template_id: int, user: StaffUser = Depends(admin)) -> Dict[str, Any]:
        if not backend.delete_template(template_id):
            raise HTTPException(status_code=404, detail=f"no reply template {template_id}")
        return {"deleted": template_id}

    return router
