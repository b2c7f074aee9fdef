"""The gap report's "answered by agents" section: data for the page, and the accept / reject actions.

POST /review/learned/accept and /review/learned/reject (staff login, CSRF token as the review
page's actions). A form names only the kept answers (ids): the text written to the KB is
recomputed from the stored, redacted answers, so a form cannot put words into an article that no
customer or agent wrote, except the title and body of a new article, which staff may edit.
"""

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse

from kb_index.articles import load_articles
from kb_index.build import POINTER
from kb_index.errors import KbError
from kb_index.search import KnowledgeBase
from learning.kb_writer import Draft, KbWriteError, add_article, add_questions
from learning.mining import ALTERNATE, ARTICLE, Suggestion, mine, suggest
from learning.store import ACCEPTED, OPEN, REJECTED, AgentAnswerStore
from settings.model import get_settings
from support_app.console.staff.accounts import StaffUser, staff_page
from support_app.security import check_csrf

FLASH_KEY = "review_flash"  # the review page's flash (support_app/review.py shows it)
BACK = "/review/gaps#learned"
MAX_IDS = 200


@dataclass(frozen=True)
class LearningSettings:
    kb_source: Path
    kb_index: Path

    @classmethod
    def configured(cls) -> "LearningSettings":
        """DESTEK_KB_SOURCE and DESTEK_KB_INDEX."""
        storage = get_settings().storage
        return cls(storage.kb_source, storage.kb_index)


def _knowledge_base(index: Path) -> KnowledgeBase:
    """The live index, opened again only after a rebuild (opening loads the embedder: seconds)."""
    return _open(index.resolve(), index_built_at(index))


@lru_cache(maxsize=2)
def _open(index: Path, built_at: float) -> KnowledgeBase:
    return KnowledgeBase.open(index)


def index_built_at(index: Path) -> float:
    """When the live index was built (its pointer file's time); 0 without an index."""
    pointer = index / POINTER
    return pointer.stat().st_mtime if pointer.is_file() else 0.0


def learned_section(database: Path, language: str = "", settings: LearningSettings | None = None) -> dict[str, Any]:
    """What the gap report shows: suggestions (or why there are none) and KB edits the index lacks."""
    settings = settings or LearningSettings.configured()
    store = AgentAnswerStore(database)
    pending = store.rebuild_marks(since=index_built_at(settings.kb_index))
    answers = [a for a in store.answers(OPEN) if not language or a.language == language]
    if not answers:
        return {"suggestions": [], "pending": pending, "problem": ""}
    try:
        kb = _knowledge_base(settings.kb_index)
        articles = load_articles(settings.kb_source)
        suggestions = mine(answers, kb, articles)
    except KbError as error:  # no index, an unreadable KB, or a model without a measured grouping cut
        return {"suggestions": [], "pending": pending, "problem": str(error)}
    return {"suggestions": suggestions, "pending": pending, "problem": ""}


def _ids(raw: str) -> list[int]:
    try:
        ids = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise HTTPException(status_code=400, detail="field 'ids': not a comma-separated list of numbers") from None
    if not ids or len(ids) > MAX_IDS:
        raise HTTPException(status_code=400, detail=f"field 'ids': give 1 to {MAX_IDS} ids")
    return ids


def learning_router(settings: LearningSettings | None = None) -> APIRouter:
    settings = settings or LearningSettings.configured()
    router = APIRouter()

    def flash(request: Request, kind: str, text: str) -> RedirectResponse:
        request.session[FLASH_KEY] = {"kind": kind, "text": text}
        return RedirectResponse(BACK, status_code=303)

    @router.post("/review/learned/accept")
    async def accept(
        request: Request,
        ids: str = Form(...),
        kind: str = Form(...),
        title: str = Form(""),
        body: str = Form(""),
        csrf: str = Form(""),
        user: StaffUser = Depends(staff_page("agent")),
    ) -> RedirectResponse:
        check_csrf(request, csrf)
        if kind not in (ALTERNATE, ARTICLE):
            raise HTTPException(status_code=400, detail=f"field 'kind': {kind!r} is not {ALTERNATE} or {ARTICLE}")
        wanted = _ids(ids)
        store = AgentAnswerStore(request.app.state.settings.database_path)
        answers = store.answers(OPEN, wanted)
        if len(answers) != len(set(wanted)):
            return flash(request, "error", "Not changed: some of these answers were accepted or rejected already, or do not exist.")
        if len({a.language for a in answers}) != 1:
            raise HTTPException(status_code=400, detail="field 'ids': the answers are not all in one language")
        try:
            suggestion = suggest(answers, _knowledge_base(settings.kb_index), load_articles(settings.kb_source))
            message = _apply(settings.kb_source, suggestion, kind, title, body)
        except (KbWriteError, KbError) as error:
            return flash(request, "error", f"Not changed: {error}")
        store.decide(wanted, ACCEPTED, user.login, message)
        store.mark_rebuild(message, user.login)
        return flash(request, "ok", f"{message}. The index needs a rebuild (make index) before the bot uses it.")

    @router.post("/review/learned/reject")
    async def reject(
        request: Request, ids: str = Form(...), csrf: str = Form(""), user: StaffUser = Depends(staff_page("agent"))
    ) -> RedirectResponse:
        check_csrf(request, csrf)
        changed = AgentAnswerStore(request.app.state.settings.database_path).decide(_ids(ids), REJECTED, user.login, "rejected")
        return flash(request, "ok", f"Hidden {changed} answer{'s' if changed != 1 else ''} from the suggestions.")

    return router


def _apply(source: Path, suggestion: Suggestion | None, kind: str, title: str, body: str) -> str:
    """Write the suggestion as it stands now; returns what was done, in one sentence."""
    if suggestion is None:
        raise KbWriteError("the bot already answers every one of these questions; nothing to add")
    if suggestion.kind != kind:
        raise KbWriteError(
            f"this suggestion is now a{'n' if suggestion.kind == ALTERNATE else ''} {suggestion.kind} suggestion; reload the page"
        )
    if suggestion.kind == ALTERNATE and suggestion.article is not None:
        path, added = add_questions(source, suggestion.article.id, suggestion.questions)
        return f"Added {len(added)} alternate question{'s' if len(added) != 1 else ''} to {suggestion.article.id} ({path.name}): {json.dumps(added, ensure_ascii=False)}"
    draft = Draft(suggestion.language, title or suggestion.draft_title, body or suggestion.central_answer, tuple(suggestion.questions))
    path, article_id = add_article(source, draft)
    return f"Wrote the new article {article_id} ({path.relative_to(source)})"
