"""/review: conversation review for agents, and /review/gaps: the KB gap report (+ CSV exports).

Conversations come from the tracker store of this profile (analytics.tracker.tracker_store, read-only). For a
misunderstood message an agent can, in one action, add it as a training example of the right
intent (tuning.nlu_writer, into DESTEK_NLU_DIR) or mark it "needs an article" (gap report).
The message text is looked up again in the tracker from (sender, time): a form cannot make the
writer store text a customer never sent. Customer text is redacted (privacy.redaction.redact_for_display) before it
is shown or written: a card number or IBAN never becomes a training example in git.
"""

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from analytics.tracker import CHANNELS, Conversation, TrackerStore, Turn, conversations_of, iter_conversations, tracker_store
from kb_index.errors import KbError
from language.detect import detect_language
from privacy.redaction import redact_for_display as redact
from settings.model import get_settings
from support_app.console.learning_pages import learned_section
from support_app.console.staff.accounts import StaffUser, render_staff, safe_next, staff_page
from support_app.security import check_csrf
from tuning import gaps
from tuning.nlu_writer import LANGUAGES, NluWriteError, add_example, known_intents
from tuning.review_store import ADDED_EXAMPLE, NEEDS_ARTICLE, ReviewStore

PAGE_SIZE = 50
FLASH_KEY = "review_flash"


@dataclass(frozen=True)
class ReviewSettings:
    nlu_dir: Path
    kb_source: Path
    low_confidence: float
    days: int

    @classmethod
    def configured(cls) -> "ReviewSettings":
        """DESTEK_NLU_DIR (where examples are written), DESTEK_KB_SOURCE, DESTEK_REVIEW_LOW_CONFIDENCE, DESTEK_REVIEW_DAYS."""
        settings = get_settings()
        return cls(
            nlu_dir=settings.storage.nlu_dir,
            kb_source=settings.storage.kb_source,
            low_confidence=settings.tools.review_low_confidence,
            days=settings.tools.review_days,
        )


@dataclass(frozen=True)
class Filters:
    channel: str = ""
    language: str = ""
    handed_off: bool = False
    low_confidence: bool = False
    thumbs_down: bool = False

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> "Filters":
        channel, language = params.get("channel", ""), params.get("language", "")
        if channel and channel not in CHANNELS:
            raise HTTPException(status_code=400, detail=f"channel: {channel!r} is not one of {', '.join(CHANNELS)}")
        if language and language not in LANGUAGES:
            raise HTTPException(status_code=400, detail=f"language: {language!r} is not one of {', '.join(LANGUAGES)}")
        flags = {name: params.get(name) in ("1", "on", "true") for name in ("handed_off", "low_confidence", "thumbs_down")}
        return cls(channel, language, **flags)

    def query(self) -> dict[str, str]:
        values = {"channel": self.channel, "language": self.language}
        values.update({name: "1" for name in ("handed_off", "low_confidence", "thumbs_down") if getattr(self, name)})
        return {name: value for name, value in values.items() if value}


def low_confidence(turn: Turn, threshold: float) -> bool:
    return not turn.external and (turn.intent == "nlu_fallback" or (turn.confidence is not None and turn.confidence < threshold))


def matches(conversation: Conversation, filters: Filters, threshold: float) -> bool:
    turns = conversation.user_turns
    return (
        bool(turns)
        and (not filters.channel or conversation.channel == filters.channel)
        and (not filters.language or conversation.language == filters.language)
        and (not filters.handed_off or conversation.handed_off)
        and (not filters.low_confidence or any(low_confidence(t, threshold) for t in turns))
        and (not filters.thumbs_down or any(t.feedback is False for t in turns))
    )


def message_language(turn: Turn, conversation: Conversation) -> str:
    detected = detect_language(turn.text or "")
    if detected.language in LANGUAGES and detected.confidence >= 0.3:
        return detected.language
    return conversation.language if conversation.language in LANGUAGES else "tr"


def configured_tracker() -> TrackerStore:
    """The tracker store the Rasa server of this profile writes (RASA_TRACKER_DB, or with DESTEK_PROFILE=cluster the
    PostgreSQL store of endpoints.cluster.yml); 503 naming the problem when its section cannot be used."""
    try:
        return tracker_store()
    except ValueError as error:
        raise HTTPException(status_code=503, detail=f"tracker store: {error}") from None


@lru_cache(maxsize=1)
def _encoder() -> gaps.Encoder:
    """Loaded on the first gap report, not at start-up (the embedding model takes a moment)."""
    return gaps.default_encoder()


def review_router(settings: ReviewSettings | None = None) -> APIRouter:
    settings = settings or ReviewSettings.configured()
    router = APIRouter()

    def store(request: Request) -> ReviewStore:
        return ReviewStore(request.app.state.settings.database_path)

    def flash(request: Request, kind: str, text: str) -> None:
        request.session[FLASH_KEY] = {"kind": kind, "text": text}

    @router.get("/review", response_class=HTMLResponse)
    async def review(request: Request, user: StaffUser = Depends(staff_page("agent"))) -> HTMLResponse:
        filters = Filters.parse(request.query_params)
        since = time.time() - settings.days * 86400
        conversations = [
            c
            for c in iter_conversations(configured_tracker(), since=since)
            if c.last_at >= since and matches(c, filters, settings.low_confidence)
        ]
        conversations.sort(key=lambda c: -c.last_at)
        done = {(row["sender_id"], row["message_at"]): row for row in store(request).actions()}
        intents = sorted(set(known_intents(settings.nlu_dir, "tr")) | set(known_intents(settings.nlu_dir, "en")))
        rows = [
            {
                "conversation": conversation,
                "turns": [
                    {
                        "turn": turn,
                        "text": redact(turn.text or ""),
                        "bot": [redact(b.text) for b in turn.bot if b.text],
                        "language": message_language(turn, conversation),
                        "low": low_confidence(turn, settings.low_confidence),
                        "done": [
                            row for key, row in done.items() if key[0] == conversation.sender_id and abs(key[1] - turn.timestamp) < 1e-6
                        ],
                    }
                    for turn in conversation.user_turns
                ],
            }
            for conversation in conversations[:PAGE_SIZE]
        ]
        back = "/review" + (f"?{urlencode(filters.query())}" if filters.query() else "")
        return render_staff(
            request,
            "review.html",
            user,
            rows=rows,
            total=len(conversations),
            filters=filters,
            channels=CHANNELS,
            languages=LANGUAGES,
            intents=intents,
            back=back,
            flash=request.session.pop(FLASH_KEY, None),
            threshold=settings.low_confidence,
            days=settings.days,
        )

    def find_turn(sender_id: str, message_at: float) -> tuple[Conversation, Turn]:
        if not math.isfinite(message_at):
            raise HTTPException(status_code=400, detail=f"field 'message_at': {message_at} is not a finite number")
        for conversation in conversations_of(configured_tracker(), sender_id):
            for turn in conversation.user_turns:
                if abs(turn.timestamp - message_at) < 1e-6 and turn.text:
                    return conversation, turn
        raise HTTPException(status_code=404, detail=f"no message of {sender_id!r} at {message_at} in the tracker store")

    @router.post("/review/example")
    async def add_as_example(
        request: Request,
        sender_id: str = Form(...),
        message_at: float = Form(...),
        intent: str = Form(...),
        language: str = Form(...),
        csrf: str = Form(""),
        back: str = Form("/review"),
        user: StaffUser = Depends(staff_page("agent")),
    ) -> RedirectResponse:
        check_csrf(request, csrf)
        _, turn = find_turn(sender_id, message_at)
        text = redact(turn.text or "")  # card numbers, IBANs, codes never reach the training data
        try:
            path = add_example(settings.nlu_dir, language, intent, text)
        except NluWriteError as error:
            flash(request, "error", f"Not added: {error}")
        else:
            store(request).record(ADDED_EXAMPLE, sender_id, turn.timestamp, text, language, user.login, intent)
            flash(request, "ok", f"Added {text!r} as an example of {intent} to {path.name}. Retrain (make train) to use it.")
        return RedirectResponse(safe_next(back), status_code=303)

    @router.post("/review/needs-article")
    async def needs_article(
        request: Request,
        sender_id: str = Form(...),
        message_at: float = Form(...),
        language: str = Form(...),
        csrf: str = Form(""),
        back: str = Form("/review"),
        user: StaffUser = Depends(staff_page("agent")),
    ) -> RedirectResponse:
        check_csrf(request, csrf)
        if language not in LANGUAGES:
            raise HTTPException(status_code=400, detail=f"language: {language!r} is not one of {', '.join(LANGUAGES)}")
        _, turn = find_turn(sender_id, message_at)
        text = redact(turn.text or "")
        if store(request).record(NEEDS_ARTICLE, sender_id, turn.timestamp, text, language, user.login):
            flash(request, "ok", f"Marked {text!r} as needing an article; it is in the gap report.")
        else:
            flash(request, "error", f"{text!r} was already marked as needing an article.")
        return RedirectResponse(safe_next(back), status_code=303)

    def report(request: Request, language: str) -> tuple[list[gaps.GapGroup], list[gaps.ArticleUse]]:
        if language and language not in LANGUAGES:
            raise HTTPException(status_code=400, detail=f"language: {language!r} is not one of {', '.join(LANGUAGES)}")
        database = request.app.state.settings.database_path
        questions = [q for q in gaps.collect_questions(database) if not language or q.language == language]
        groups = gaps.group_questions(questions, _encoder()) if questions else []
        try:
            titles = gaps.article_titles(settings.kb_source)
        except KbError:  # titles are a nicety: without a readable KB the ids are shown
            titles = {}
        return groups, gaps.article_usage(database, titles)

    @router.get("/review/gaps", response_class=HTMLResponse)
    async def gap_report(request: Request, language: str = "", user: StaffUser = Depends(staff_page("agent"))) -> HTMLResponse:
        groups, uses = report(request, language)
        learned = learned_section(request.app.state.settings.database_path, language)  # "answered by agents" (learning/)
        return render_staff(
            request,
            "review_gaps.html",
            user,
            groups=groups,
            uses=uses,
            language=language,
            languages=LANGUAGES,
            learned=learned,
            flash=request.session.pop(FLASH_KEY, None),
        )

    @router.get("/review/gaps.csv")
    async def gap_csv(request: Request, language: str = "", user: StaffUser = Depends(staff_page("agent"))) -> Response:
        groups, _ = report(request, language)
        return Response(
            gaps.groups_csv(groups),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="kb-gaps.csv"', "Cache-Control": "no-store"},
        )

    @router.get("/review/articles.csv")
    async def articles_csv(request: Request, user: StaffUser = Depends(staff_page("agent"))) -> Response:
        _, uses = report(request, "")
        return Response(
            gaps.usage_csv(uses),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="kb-articles.csv"', "Cache-Control": "no-store"},
        )

    return router
