"""/dashboard (analytics for every staff user) and /metrics (Prometheus, for operations).

Both read the analytics aggregates (or, without them, the Rasa tracker store, read-only) and the
support database at each request; the metric definitions are in docs/analytics.md.
"""

import hmac
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from analytics import formatting
from analytics import source as analytics_source
from analytics.charts import CHANNEL_NAMES, LANGUAGE_NAMES, charts
from analytics.figures import Figures, Filters
from analytics.prometheus import CONTENT_TYPE, exposition
from analytics.tracker import CHANNELS
from settings.model import get_settings
from support_app.console.staff.accounts import StaffUser, render_staff, staff_page
from support_app.security import from_this_machine

DEFAULT_DAYS = 30
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)  # beyond them the day arithmetic overflows
LANGUAGES = ("tr", "en")


def analytics_timezone() -> ZoneInfo:
    """ANALYTICS_TIMEZONE (checked by settings)."""
    return ZoneInfo(get_settings().tools.analytics_timezone)


def parse_filters(params: dict[str, str], timezone: ZoneInfo, today: date) -> tuple[Filters, dict[str, str]]:
    """Filters from the query string (from/to: YYYY-MM-DD, both days included; channel; language),
    and the form's values. Raises ValueError with a one-line message naming the bad field."""
    values = {name: (params.get(name) or "").strip() for name in ("from", "to", "channel", "language")}
    days: dict[str, date] = {}
    for name in ("from", "to"):
        if values[name]:
            try:
                days[name] = date.fromisoformat(values[name])
            except ValueError:
                raise ValueError(f"{name}: {values[name]!r} is not a date (YYYY-MM-DD)") from None
            if not FIRST_DAY <= days[name] <= LAST_DAY:
                raise ValueError(f"{name}: {days[name]} is not between {FIRST_DAY} and {LAST_DAY}")
    last = days.get("to", today)
    first = days.get("from", last - timedelta(days=DEFAULT_DAYS - 1))
    if first > last:
        raise ValueError(f"from: {first} is after to: {last}")
    if values["channel"] and values["channel"] not in CHANNELS:
        raise ValueError(f"channel: {values['channel']!r} is not one of {', '.join(CHANNELS)}")
    if values["language"] and values["language"] not in LANGUAGES:
        raise ValueError(f"language: {values['language']!r} is not one of {', '.join(LANGUAGES)}")
    values.update({"from": first.isoformat(), "to": last.isoformat()})
    filters = Filters(
        since=datetime.combine(first, time(), timezone).timestamp(),
        until=datetime.combine(last + timedelta(days=1), time(), timezone).timestamp(),
        channel=values["channel"] or None,
        language=values["language"] or None,
        timezone=timezone,
    )
    return filters, values


def current_figures(request: Request, filters: Filters) -> Figures:
    """From the analytics aggregates when they exist, else recomputed from the tracker store (analytics.source)."""
    return analytics_source.current_figures(request.app.state.settings.database_path, filters)


def metrics_allowed(request: Request, token: str) -> bool:
    """With METRICS_TOKEN set: only `Authorization: Bearer <token>`. Without it: only direct
    requests from this machine (loopback, and no proxy headers, since a local reverse proxy
    would make every outside request look local)."""
    if token:
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    return from_this_machine(request)


def dashboard_router() -> APIRouter:
    router = APIRouter()
    timezone = analytics_timezone()
    metrics_token = get_settings().tools.metrics_token

    @router.get("/dashboard", response_class=HTMLResponse)
    def dashboard(request: Request, user: StaffUser = Depends(staff_page())) -> HTMLResponse:
        context: dict[str, Any] = {
            "fmt": formatting,
            "channel_names": CHANNEL_NAMES,
            "language_names": LANGUAGE_NAMES,
            "channels": CHANNELS,
            "languages": LANGUAGES,
        }
        try:
            filters, values = parse_filters(dict(request.query_params), timezone, datetime.now(timezone).date())
        except ValueError as error:
            values = {name: request.query_params.get(name, "") for name in ("from", "to", "channel", "language")}
            return render_staff(
                request, "dashboard.html", user, status_code=400, error=str(error), form=values, figures=None, charts={}, **context
            )
        figures = current_figures(request, filters)
        return render_staff(request, "dashboard.html", user, error=None, form=values, figures=figures, charts=charts(figures), **context)

    @router.get("/metrics")
    def metrics(request: Request) -> Response:
        if not metrics_allowed(request, metrics_token):
            reason = "bearer token required" if metrics_token else "set METRICS_TOKEN to scrape from another host"
            return PlainTextResponse(f"metrics: {reason}\n", status_code=401, headers={"WWW-Authenticate": "Bearer"})
        figures, counts = analytics_source.current_metrics(request.app.state.settings.database_path, Filters(timezone=timezone))
        return Response(exposition(figures, counts), media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})

    return router
