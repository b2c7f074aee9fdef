"""POST /review/golden: staff choose a conversation on the review page as golden for `make replay`.

Only a conversation that exists in the tracker store can be marked (sender and session are looked
up), so a form cannot plant arbitrary ids. Staff login and CSRF as the review page's actions.
"""

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse

from analytics.tracker import conversations_of
from replay.golden import GoldenStore
from replay.recorded import conversation_id
from support_app.console.review import configured_tracker
from support_app.console.staff.accounts import StaffUser, safe_next, staff_page
from support_app.security import check_csrf

FLASH_KEY = "review_flash"  # shown by the review page (support_app/review.py)


def golden_router() -> APIRouter:
    router = APIRouter()

    @router.post("/review/golden")
    async def mark_golden(
        request: Request,
        sender_id: str = Form(...),
        session: int = Form(...),
        csrf: str = Form(""),
        back: str = Form("/review"),
        user: StaffUser = Depends(staff_page("agent")),
    ) -> RedirectResponse:
        check_csrf(request, csrf)
        sessions = {c.session for c in conversations_of(configured_tracker(), sender_id)}
        if session not in sessions:
            raise HTTPException(status_code=404, detail=f"field 'session': no conversation {sender_id!r} #{session} in the tracker store")
        identifier = conversation_id(sender_id, session)
        added = GoldenStore(request.app.state.settings.database_path).mark(identifier, user.login)
        request.session[FLASH_KEY] = {
            "kind": "ok",
            "text": f"{identifier} is golden: make replay fails when its answers change." if added else f"{identifier} was golden already.",
        }
        return RedirectResponse(safe_next(back), status_code=303)

    return router
