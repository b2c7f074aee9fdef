"""/campaigns: marketing's page for proactive messages — list with stats, create (segment or CSV
upload) with a preview first, test send, pause / resume / cancel — plus a JSON read API.

Plain HTML forms (no script: the CSP stays strict); every POST carries the CSRF field; texts
from customers and CSV files are rendered by Jinja's autoescape, as text."""

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from campaigns.audience import AudienceError, Segment, parse_csv, segment_recipients
from campaigns.messages import LANGUAGES, check_texts, render
from campaigns.service import SAMPLE_NAME, create_campaign, preview, test_send
from campaigns.store import CHANNELS, KINDS, PURPOSES, CampaignStore
from campaigns.timing import zone
from customer_store.store import CustomerStore
from storage.database import Database
from support_app.console.staff.accounts import StaffUser, render_staff, staff_api, staff_page
from support_app.security import check_csrf

MAX_CSV_BYTES = 20 * 1024 * 1024
FIELDS = (
    "name",
    "kind",
    "purpose",
    "channel",
    "message_tr",
    "message_en",
    "send_at",
    "recurrence",
    "timezone",
    "rate",
    "quiet_hours",
    "template_sid",
    "region",
    "plan",
    "language",
    "consent",
    "active_within_days",
    "audience",
)


def _db(request: Request) -> Database:
    return request.app.state.settings.database_path


def _store(request: Request) -> CampaignStore:
    return CampaignStore(_db(request))


def _listing(store: CampaignStore) -> list[dict[str, Any]]:
    return [{**campaign, "stats": store.stats(campaign["id"])} for campaign in store.campaigns()]


def campaign_router() -> APIRouter:
    router = APIRouter()

    def page(request: Request, user: StaffUser, status_code: int = 200, **context: Any) -> HTMLResponse:
        defaults: dict[str, Any] = {
            "form": {
                "kind": "announcement",
                "purpose": "marketing",
                "channel": "whatsapp",
                "send_at": "now",
                "timezone": "Europe/Istanbul",
                "audience": "segment",
            },
            "errors": [],
            "previewed": None,
            "kinds": KINDS,
            "purposes": PURPOSES,
            "channels": CHANNELS,
        }
        return render_staff(
            request, "campaigns.html", user, status_code=status_code, campaigns=_listing(_store(request)), **{**defaults, **context}
        )

    @router.get("/campaigns", response_class=HTMLResponse)
    async def campaigns_page(request: Request, user: StaffUser = Depends(staff_page("marketing"))) -> HTMLResponse:
        return page(request, user)

    @router.post("/campaigns", response_model=None)
    async def create(request: Request, user: StaffUser = Depends(staff_page("marketing"))) -> Response:
        form = await request.form()
        check_csrf(request, str(form.get("csrf", "")))
        fields: dict[str, Any] = {name: str(form.get(name, "")).strip() for name in FIELDS}
        fields["quiet_hours"] = {"on": True, "off": False}.get(fields["quiet_hours"])
        upload = form.get("csv")
        csv_data: bytes | None = None
        csv_name = ""
        if fields["audience"] == "csv":
            if not isinstance(upload, UploadFile) or not upload.filename:
                return page(request, user, 400, form=fields, errors=["field csv: choose a CSV file to upload"])
            csv_data = await upload.read(MAX_CSV_BYTES + 1)
            csv_name = upload.filename
            if len(csv_data) > MAX_CSV_BYTES:
                return page(request, user, 400, form=fields, errors=[f"field csv: larger than {MAX_CSV_BYTES // 1024 // 1024} MB"])
        db = _db(request)
        try:
            if form.get("action") == "preview":
                return page(request, user, form=fields, previewed=_preview(db, fields, csv_data))
            campaign_id = create_campaign(db, fields, csv_data, csv_name, created_by=user.login)
        except AudienceError as error:
            return page(request, user, 400, form=fields, errors=error.errors)
        except ValueError as error:
            return page(request, user, 400, form=fields, errors=[str(error)])
        return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)

    @router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
    async def detail(request: Request, campaign_id: int, user: StaffUser = Depends(staff_page("marketing"))) -> HTMLResponse:
        return _detail(request, user, campaign_id)

    def _detail(
        request: Request, user: StaffUser, campaign_id: int, status_code: int = 200, notice: str = "", error: str = ""
    ) -> HTMLResponse:
        store = _store(request)
        campaign = store.campaign(campaign_id)
        if campaign is None:
            raise HTTPException(status_code=404, detail=f"campaign {campaign_id} does not exist")
        return render_staff(
            request,
            "campaign_detail.html",
            user,
            status_code=status_code,
            campaign=campaign,
            stats=store.stats(campaign_id),
            previews=preview(campaign),
            rows=_local_times(store.recipients(campaign_id, limit=50)),
            notice=notice,
            error=error,
        )

    @router.post("/campaigns/{campaign_id}/{verb}", response_model=None)
    async def control(request: Request, campaign_id: int, verb: str, user: StaffUser = Depends(staff_page("marketing"))) -> Response:
        form = await request.form()
        check_csrf(request, str(form.get("csrf", "")))
        store = _store(request)
        try:
            if verb in ("pause", "resume", "cancel"):
                status = getattr(store, verb)(campaign_id)
                return _detail(request, user, campaign_id, notice=f"The campaign is now {status}.")
            if verb == "test-send":
                campaign = store.campaign(campaign_id)
                if campaign is None:
                    raise LookupError(f"campaign {campaign_id} does not exist")
                result = await test_send(_db(request), campaign, str(form.get("phone", "")), str(form.get("language", "")) or None)
                return _detail(request, user, campaign_id, notice=f"Test message {result['sid']} sent ({result['kind']}).")
        except LookupError as missing:
            raise HTTPException(status_code=404, detail=str(missing)) from None
        except (ValueError, RuntimeError) as problem:
            return _detail(request, user, campaign_id, status_code=400, error=str(problem))
        raise HTTPException(status_code=404, detail=f"unknown action {verb!r}")

    @router.get("/api/campaigns")
    async def api_list(request: Request, _: StaffUser = Depends(staff_api("marketing"))) -> JSONResponse:
        shown = [
            {key: campaign[key] for key in ("id", "name", "kind", "purpose", "channel", "status", "send_at", "recurrence", "stats")}
            for campaign in _listing(_store(request))
        ]
        return JSONResponse({"campaigns": shown})

    @router.get("/api/campaigns/{campaign_id}")
    async def api_show(request: Request, campaign_id: int, _: StaffUser = Depends(staff_api("marketing"))) -> JSONResponse:
        store = _store(request)
        campaign = store.campaign(campaign_id)
        if campaign is None:
            raise HTTPException(status_code=404, detail=f"campaign {campaign_id} does not exist")
        campaign["audience"] = {key: value for key, value in campaign["audience"].items() if key != "recipients"}
        return JSONResponse({**campaign, "stats": store.stats(campaign_id)})

    return router


def _local_times(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row's due time in the recipient's own time zone (what quiet hours are about)."""
    return [{**row, "due_local": _due_local(row.get("due_at"), row.get("timezone") or "")} for row in rows]


def _due_local(due_at: Any, timezone: str) -> str:
    """A stored time no clock can show (missing, non-finite, beyond year 9999) reads "invalid"."""
    try:
        return datetime.fromtimestamp(due_at, zone(timezone)).strftime("%Y-%m-%d %H:%M %Z")
    except (OverflowError, OSError, ValueError, TypeError):
        return "invalid"


def _preview(db: Database, fields: dict[str, Any], csv_data: bytes | None) -> dict[str, Any]:
    """Rendered texts per language and the audience size, without storing anything."""
    messages = check_texts({lang: str(fields.get(f"message_{lang}") or "") for lang in LANGUAGES})
    channel = fields.get("channel") or "whatsapp"
    customers = CustomerStore(db)
    if csv_data is not None:
        recipients = parse_csv(csv_data, customers, channel)
    else:
        segment = Segment.parse(
            {key: fields[key] for key in ("region", "plan", "language", "consent", "active_within_days") if fields.get(key)}
        )
        recipients = segment_recipients(segment, customers, channel)
    sample = recipients[0].name if recipients and recipients[0].name else SAMPLE_NAME
    return {
        "texts": [{"language": lang, "text": render(messages, lang, sample)} for lang in messages],
        "recipients": len(recipients),
        "sample": sample,
    }
