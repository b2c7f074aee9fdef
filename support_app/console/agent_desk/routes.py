"""The inbox's copilot and assignment API (staff only), and the assignment worker's lifetime.

- GET  /inbox/api/handoffs/{id}/copilot  agents, admins: KB passages and reply templates
- POST /inbox/api/presence               agents, admins (CSRF): the open inbox's heartbeat;
                                          answers with the team's presence, load and the SLA breaches
- PUT  /inbox/api/agents/{login}/capacity admins (CSRF): {"capacity": 0..50}
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, StrictInt
from starlette.concurrency import run_in_threadpool

from handoff.assignment import Assignment, AssignmentSettings, load_settings, notify_breaches
from handoff.settings import SettingsError
from handoff.store import HandoffStore
from handoff.webhook import HelpdeskWebhook
from kb_index.errors import KbError
from settings.model import get_settings
from storage.database import Database
from support_app.console.agent_desk.copilot import Copilot
from support_app.console.inbox.auth import staff_write
from support_app.console.inbox.pages import agent_logins
from support_app.console.staff.accounts import StaffUser, staff_api

logger = logging.getLogger(__name__)


class CapacityBody(BaseModel):
    capacity: StrictInt


_reported: dict[str, str] = {}


def current_settings() -> AssignmentSettings:
    """The assignment settings; the packaged defaults when a deployment's file is broken (logged
    once per distinct error, not at every tick)."""
    try:
        settings = load_settings()
    except SettingsError as error:
        if _reported.get("settings") != str(error):
            logger.error("assignment settings: %s; using the defaults", error)
            _reported["settings"] = str(error)
        return AssignmentSettings()
    _reported.pop("settings", None)
    return settings


def desk_router(database_path: Database) -> APIRouter:
    store = HandoffStore(database_path)
    assignment = Assignment(database_path)
    settings = get_settings()
    copilot = Copilot(settings.storage.kb_index, settings.kb.embedding_model or None, threads=settings.kb.query_embed_threads)
    router = APIRouter()
    agent = staff_api("agent")

    def suggestions(handoff_id: int) -> dict[str, Any]:
        handoff = store.get(handoff_id)
        if handoff is None:
            raise HTTPException(status_code=404, detail=f"no handoff {handoff_id}")
        try:
            return copilot.suggest(handoff, store.messages(handoff_id), handoff.get("context_card"), store.templates())
        except KbError as error:
            raise HTTPException(status_code=503, detail=f"knowledge base unavailable: {error}") from None

    @router.get("/inbox/api/handoffs/{handoff_id}/copilot")
    async def copilot_suggestions(handoff_id: int, user: StaffUser = Depends(agent)) -> dict[str, Any]:
        return await run_in_threadpool(suggestions, handoff_id)

    def desk_state(request: Request, login: str) -> dict[str, Any]:
        settings = current_settings()
        assignment.heartbeat(login)
        return {
            "auto_assign": settings.auto_assign,
            "sla_minutes": settings.sla_minutes,
            "heartbeat_seconds": min(5.0, max(1.0, settings.presence_timeout_seconds / 3)),
            "agents": assignment.agents(settings, agent_logins(request)),
            "breaches": assignment.breaches(),
            "now": time.time(),
        }

    @router.post("/inbox/api/presence")
    async def presence(request: Request, user: StaffUser = Depends(staff_write("agent"))) -> dict[str, Any]:
        return await run_in_threadpool(desk_state, request, user.login)

    @router.put("/inbox/api/agents/{login}/capacity")
    async def set_capacity(
        request: Request, login: str, body: CapacityBody, user: StaffUser = Depends(staff_write("admin"))
    ) -> dict[str, Any]:
        if login not in agent_logins(request):
            raise HTTPException(status_code=404, detail=f"no agent {login!r}")
        try:
            assignment.set_capacity(login, body.capacity, user.login)
        except ValueError as error:
            raise HTTPException(status_code=400, detail=str(error)) from None
        return {"login": login, "capacity": body.capacity}

    return router


async def _assignment_loop(assignment: Assignment) -> None:
    while True:
        settings = current_settings()
        try:
            result = await run_in_threadpool(assignment.tick, settings)
            if result.breached:
                webhook = _webhook()
                # retries can take seconds: never hold up the next tick
                asyncio.get_running_loop().run_in_executor(None, notify_breaches, result.breached, settings, time.time(), webhook)
        except Exception:  # a failed tick (e.g. the database locked for too long) must not end the worker
            logger.exception("assignment tick failed")
        await asyncio.sleep(settings.tick_seconds)


def _webhook() -> HelpdeskWebhook | None:
    try:
        return HelpdeskWebhook.configured(get_settings().proactive)
    except ValueError as error:
        logger.error("SLA breach not sent to the helpdesk: %s", error)
        return None


@asynccontextmanager
async def assignment_worker(database_path: Database) -> AsyncIterator[None]:
    """Run the assignment, offline release and SLA check every `tick_seconds` while the app runs."""
    task = asyncio.create_task(_assignment_loop(Assignment(database_path)), name="assignment")
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
