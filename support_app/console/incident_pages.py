"""Operations' incident page (/incidents) and JSON API (/api/incidents).

Page: staff login with the `operations` role (admins pass too), plain HTML forms with the CSRF
field (no script needed). API: either the same staff login (then POSTs carry X-CSRF-Token), or
`Authorization: Bearer $OPS_API_TOKEN` for monitoring tools (off while OPS_API_TOKEN is unset).
Bad input: 400 with one line naming the field; nothing is changed.
"""

import hmac
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from incidents.followups import SingleScheduler
from incidents.service import resolve_incident
from incidents.store import SERVICES, IncidentError, IncidentStore
from incidents.times import operations_timezone, parse_time
from settings.model import get_settings
from storage.database import Database
from support_app.console.staff.accounts import StaffUser, current_staff, render_staff, staff_page
from support_app.security import check_csrf, check_csrf_header

ROLE = "operations"


def api_caller(request: Request) -> str:
    """Who calls the API: `token` (bearer OPS_API_TOKEN) or the staff login; 401/403 otherwise.
    Staff POSTs must carry the CSRF header (a bearer token cannot be sent by another site's page)."""
    expected = get_settings().proactive.ops_api_token
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        if expected and hmac.compare_digest(header[len("Bearer ") :].encode(), expected.encode()):
            return "token"
        raise HTTPException(status_code=401, detail="wrong API token")
    user = current_staff(request)
    if user is None:
        raise HTTPException(status_code=401, detail="staff login or API token required")
    if not user.may(ROLE):
        raise HTTPException(status_code=403, detail=f"this needs the {ROLE} role")
    if request.method != "GET":
        check_csrf_header(request)
    return user.login


def _local(timestamp: float | None) -> str:
    """The time in the operations time zone; a stored value no clock can show reads "invalid"."""
    if timestamp is None:
        return ""
    try:
        return datetime.fromtimestamp(timestamp, operations_timezone()).strftime("%Y-%m-%d %H:%M")
    except (OverflowError, OSError, ValueError, TypeError):
        return "invalid"


def _field(body: dict[str, Any], name: str) -> Any:
    if name not in body:
        raise IncidentError(f"field '{name}': missing")
    return body[name]


def _time(value: Any, field: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value  # the store checks that it is finite and in range
    if isinstance(value, str):
        return parse_time(value, field)
    raise IncidentError(f"field '{field}': give Unix seconds, an ISO 8601 time or +2h")


def _regions(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split(",")
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise IncidentError("field 'regions': give a list of region names or a comma-separated string")


def incident_router(database_path: Database, scheduler: Callable[[], SingleScheduler]) -> APIRouter:
    router = APIRouter()

    def store() -> IncidentStore:
        return IncidentStore(database_path)

    def page(request: Request, user: StaffUser, status_code: int = 200, error: str | None = None, done: str | None = None) -> HTMLResponse:
        incidents = store().list()
        rows = [
            {
                "incident": incident,
                "started": _local(incident.started_at),
                "eta": _local(incident.eta),
                "resolved": _local(incident.resolved_at),
            }
            for incident in incidents
        ]
        return render_staff(
            request,
            "incidents.html",
            user,
            status_code=status_code,
            rows=rows,
            services=SERVICES,
            error=error,
            done=done,
            timezone=str(operations_timezone()),
        )

    def act(request: Request, user: StaffUser, change: Callable[[], Any], done: str) -> Response:
        try:
            change()
        except IncidentError as error:
            return page(request, user, status_code=400, error=str(error))
        return RedirectResponse(f"/incidents?done={done}", status_code=303)

    @router.get("/incidents", response_class=HTMLResponse)
    async def incidents_page(request: Request, done: str = "", user: StaffUser = Depends(staff_page(ROLE))) -> HTMLResponse:
        return page(
            request,
            user,
            done={"opened": "Incident opened.", "eta": "ETA updated.", "resolved": "Incident resolved; follow-ups scheduled."}.get(done),
        )

    @router.post("/incidents", response_model=None)
    async def open_from_page(
        request: Request,
        service: str = Form(""),
        regions: str = Form(""),
        eta: str = Form(""),
        message_tr: str = Form(""),
        message_en: str = Form(""),
        csrf: str = Form(""),
        user: StaffUser = Depends(staff_page(ROLE)),
    ) -> Response:
        check_csrf(request, csrf)
        return act(
            request,
            user,
            lambda: store().open(service, regions.split(","), parse_time(eta, "eta"), message_tr, message_en, opened_by=user.login),
            "opened",
        )

    @router.post("/incidents/{incident_id}/eta", response_model=None)
    async def eta_from_page(
        request: Request, incident_id: int, eta: str = Form(""), csrf: str = Form(""), user: StaffUser = Depends(staff_page(ROLE))
    ) -> Response:
        check_csrf(request, csrf)
        return act(request, user, lambda: store().update_eta(incident_id, parse_time(eta, "eta")), "eta")

    @router.post("/incidents/{incident_id}/resolve", response_model=None)
    async def resolve_from_page(
        request: Request, incident_id: int, csrf: str = Form(""), user: StaffUser = Depends(staff_page(ROLE))
    ) -> Response:
        check_csrf(request, csrf)

        def resolve() -> None:
            store().get(incident_id)  # an unknown id fails before the scheduler is opened
            resolve_incident(database_path, incident_id, scheduler())

        return act(request, user, resolve, "resolved")

    # JSON API

    def answer(change: Callable[[], dict[str, Any]]) -> JSONResponse:
        try:
            return JSONResponse(change())
        except IncidentError as error:
            return JSONResponse({"error": str(error)}, status_code=400)

    async def json_body(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise HTTPException(status_code=400, detail="the body is not JSON") from None
        if not isinstance(body, dict):
            raise HTTPException(status_code=400, detail="the body must be a JSON object")
        return body

    @router.get("/api/incidents")
    async def list_incidents(status: str | None = None, caller: str = Depends(api_caller)) -> JSONResponse:
        return answer(lambda: {"incidents": [incident.as_json() for incident in store().list(status)]})

    @router.post("/api/incidents")
    async def open_incident(request: Request, caller: str = Depends(api_caller)) -> JSONResponse:
        body = await json_body(request)

        def opened() -> dict[str, Any]:
            service = _field(body, "service")
            incident = store().open(
                service if isinstance(service, str) else repr(service),
                _regions(_field(body, "regions")),
                _time(_field(body, "eta"), "eta"),
                _field(body, "message_tr"),
                _field(body, "message_en"),
                started_at=_time(body["started_at"], "started_at") if "started_at" in body else None,
                opened_by=caller,
            )
            return incident.as_json()

        return answer(opened)

    @router.post("/api/incidents/{incident_id}/eta")
    async def update_eta(request: Request, incident_id: int, caller: str = Depends(api_caller)) -> JSONResponse:
        body = await json_body(request)
        return answer(lambda: store().update_eta(incident_id, _time(_field(body, "eta"), "eta")).as_json())

    @router.post("/api/incidents/{incident_id}/resolve")
    async def resolve(incident_id: int, caller: str = Depends(api_caller)) -> JSONResponse:
        def resolved() -> dict[str, Any]:
            store().get(incident_id)
            incident, scheduled = resolve_incident(database_path, incident_id, scheduler())
            return {**incident.as_json(), "followups_scheduled": len(scheduled)}

        return answer(resolved)

    return router
