"""The inbox's live feed: Server-Sent Events at /inbox/api/stream.

Handoffs are created and customer messages stored by other processes (Rasa's action server), so
the stream looks at the database every POLL_SECONDS (with DESTEK_REDIS_URL: when a writer
publishes a change, cluster/inbox_feed.py) and sends what changed: `queue` (the open
handoffs, when the list changes), `handoff` (the selected one's state) and `messages` (new
messages of the selected handoff; the event id is the last message id, so a reconnecting
EventSource continues where it stopped). A stream ends after STREAM_SECONDS and the browser
reconnects at once; that keeps a server shutdown from waiting on open streams for long.
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from cluster.inbox_feed import SAFETY_SECONDS, inbox_feed
from support_app.console.inbox.backend import InboxBackend
from support_app.console.staff.accounts import StaffUser, staff_api

POLL_SECONDS = 0.2
STREAM_SECONDS = 25.0
RETRY_MS = 300


def event(name: str, data: Any, event_id: int | None = None) -> str:
    lines = [f"event: {name}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append("data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


def snapshot(backend: InboxBackend, handoff_id: int | None, after: int) -> dict[str, Any]:
    """Everything one poll needs, read in a worker thread (SQLite calls block)."""
    current: dict[str, Any] = {"queue": backend.queue()}
    if handoff_id is not None:
        current["handoff"] = backend.handoff(handoff_id)
        current["messages"] = backend.messages(handoff_id, after_id=after)
    return current


async def changes(request: Request, backend: InboxBackend, handoff_id: int | None, after: int) -> AsyncIterator[str]:
    yield f"retry: {RETRY_MS}\n\n"
    sent_queue: list[dict[str, Any]] | None = None
    sent_handoff: Any = object()
    deadline = time.monotonic() + STREAM_SECONDS
    feed = inbox_feed()  # with DESTEK_REDIS_URL: read when a writer says something changed, not every poll
    while time.monotonic() < deadline and not await request.is_disconnected():
        current = await run_in_threadpool(snapshot, backend, handoff_id, after)
        if current["queue"] != sent_queue:
            sent_queue = current["queue"]
            yield event("queue", {"handoffs": sent_queue, "now": time.time()})
        if handoff_id is not None:
            if current["handoff"] != sent_handoff:
                sent_handoff = current["handoff"]
                yield event("handoff", {"handoff": sent_handoff, "now": time.time()})
            if current["messages"]:
                after = int(current["messages"][-1]["id"])
                yield event("messages", {"handoff_id": handoff_id, "messages": current["messages"]}, event_id=after)
        if feed is not None:
            await feed.wait(min(SAFETY_SECONDS, max(0.0, deadline - time.monotonic())))
        else:
            await asyncio.sleep(POLL_SECONDS)


def stream_router(backend: InboxBackend) -> APIRouter:
    router = APIRouter()

    @router.get("/inbox/api/stream")
    async def stream(
        request: Request, handoff: int | None = None, after: int = 0, user: StaffUser = Depends(staff_api("agent"))
    ) -> StreamingResponse:
        resumed = request.headers.get("Last-Event-ID", "")
        if resumed.isdigit():
            after = max(after, int(resumed))
        return StreamingResponse(
            changes(request, backend, handoff, after),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    return router
