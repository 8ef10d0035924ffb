"""The analytics page: a period and model-version form, the charts (drawn by
static/analytics.js from the JSON the page embeds) each with its table of numbers under it,
the inversion alert, and each table as CSV for the logged-in user (the API's CSV needs a
key)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from leadscore.service import analytics, jobs
from leadscore.service import analytics_snapshots as snapshots
from leadscore.service.errors import Invalid, NotFound
from leadscore.service.jobs import Busy, Jobs
from leadscore.service.users import WebUser
from leadscore.web.rendering import page, security_headers
from leadscore.web.sessions import Viewer, context

router = APIRouter(include_in_schema=False)


def _day(micros: int) -> str:
    return datetime.fromtimestamp(micros / 1_000_000, UTC).date().isoformat()


def _version(text: str) -> int | None:
    """The `version` of the query string: empty for the current scores; ValueError when it is
    not a version number."""
    if not text:
        return None
    if not text.isdigit() or not 0 < int(text) < 2**31:
        raise ValueError(f"{text!r} is not a model version number")
    return int(text)


def _period(request: Request) -> tuple[analytics.Period, dict[str, str], str | None]:
    """The period and version of the query string (dates, `to` included), what to show in
    the form, and an error when they could not be read (then the default period, current
    scores)."""
    ctx = context(request)
    start = request.query_params.get("from", "").strip()[:40] or None
    end = request.query_params.get("to", "").strip()[:40] or None
    error = None
    try:
        version = _version(request.query_params.get("version", "").strip()[:12])
        span = analytics.period(ctx, start, end, version)
    except ValueError as exc:
        error = str(exc)
        span = analytics.period(ctx, None, None)
    except Invalid as exc:
        error = "; ".join(p.msg for p in exc.problems)
        span = analytics.period(ctx, None, None)
    except NotFound as exc:  # the dates were read: keep them, with the current scores
        error = str(exc)
        span = analytics.period(ctx, start, end)
    last_day = span.end - 1  # `to` is exclusive: the form shows the last day included
    shown = {
        "from": _day(span.start),
        "to": _day(last_day),
        "version": "" if span.version is None else str(span.version),
    }
    return span, shown, error


def _query(shown: dict[str, str]) -> str:
    version = f"&version={shown['version']}" if shown["version"] else ""
    return f"from={shown['from']}&to={shown['to']}{version}"


@router.get("/analytics")
async def analytics_page(request: Request, user: WebUser = Viewer) -> Response:
    ctx = context(request)
    span, shown, error = await run_in_threadpool(_period, request)
    versions = await run_in_threadpool(analytics.versions, ctx)
    common: dict[str, Any] = {
        "user": user,
        "section": "analytics",
        "shown": shown,
        "query": _query(shown),
    }
    if await run_in_threadpool(snapshots.inline, ctx):
        figures = await run_in_threadpool(analytics.every_figure, ctx, span)
        return page(
            "analytics.html",
            **common,
            error=error,
            figures=figures,
            versions=versions,
            charts=chart_data(figures),
            snapshot=None,
            job=None,
        )
    snapshot = await run_in_threadpool(snapshots.latest, ctx, span)
    job = None
    if snapshot is None or not snapshot.fresh:
        job = await run_in_threadpool(_computation, request, user, span)
    if snapshot is None:
        return page("analytics_pending.html", **common, error=error, versions=versions, job=job)
    return page(
        "analytics.html",
        **common,
        error=error,
        figures=snapshot.figures,
        versions=versions,
        charts=chart_data(snapshot.figures),
        snapshot=snapshot,
        job=job,
    )


def _computation(request: Request, user: WebUser, span: analytics.Period) -> dict[str, Any]:
    """Start computing this period's figures, or follow the computation running (of this
    period, or of another one: one at a time)."""
    runner: Jobs = request.app.state.jobs
    try:
        return runner.analytics_figures(actor=user.email, span=span)
    except Busy as busy:
        return busy.job


@router.get("/analytics/jobs/{job_id}")
async def analytics_job(request: Request, job_id: str, user: WebUser = Viewer) -> Response:
    """The state of a computation, polled by the pending page (htmx, every 2 s): its
    progress while it runs; once it ended, a redirect to the page it was started for."""
    ctx = context(request)
    try:
        job = await run_in_threadpool(jobs.get, ctx, job_id)
    except NotFound:
        return page("not_found.html", 404, user=user)
    if job["kind"] != snapshots.KIND:
        return page("not_found.html", 404, user=user)
    target = "/analytics?" + request.url.query if request.url.query else "/analytics"
    if request.headers.get("HX-Request") != "true":  # without JavaScript: the page again
        return RedirectResponse(target, 303, headers=security_headers())
    if job["status"] == "succeeded":
        return Response(status_code=204, headers={"HX-Redirect": target})
    return page("analytics_job.html", user=user, job=job)


@router.get("/analytics/{name}.csv")
async def analytics_csv(request: Request, name: str, user: WebUser = Viewer) -> Response:
    if name not in analytics.FIGURES:
        return page("not_found.html", 404, user=user)
    figure: analytics.Figure = name
    ctx = context(request)
    span, _, _ = await run_in_threadpool(_period, request)
    snapshot = None
    if not await run_in_threadpool(snapshots.inline, ctx):  # the figures the page shows
        snapshot = await run_in_threadpool(snapshots.latest, ctx, span)
    if snapshot is not None:
        data = snapshot.figures[name]
    else:
        data = await run_in_threadpool(analytics.figure, ctx, figure, span)
    headers = {
        **security_headers(),
        "Content-Disposition": f'attachment; filename="{name}.csv"',
    }
    return Response(
        analytics.csv_text(figure, data), media_type="text/csv; charset=utf-8", headers=headers
    )


def chart_data(figures: Mapping[Any, dict[str, Any]]) -> dict[str, Any]:
    """What the charts draw, as uPlot wants it: x positions 0..n-1 with their labels, and a
    series per line (rates in %)."""

    def pct(value: float | None) -> float | None:
        return None if value is None else round(value * 100, 2)

    bins = figures["distribution"]["bins"]
    bands = figures["conversion"]["bands"]
    steps = figures["funnel"]["steps"]
    timing = figures["time-to-conversion"]["bands"]
    sources = figures["sources"]["sources"]
    deciles = figures["calibration"]["bins"]
    return {
        "distribution": {"labels": [b["label"] for b in bins], "leads": [b["leads"] for b in bins]},
        "conversion": {
            "labels": [b["label"] for b in bands],
            "rate": [pct(b["rate"]) for b in bands],
            "low": [pct(b["ci_low"]) for b in bands],
            "high": [pct(b["ci_high"]) for b in bands],
        },
        "funnel": {"labels": [s["stage"] for s in steps], "leads": [s["leads"] for s in steps]},
        "timing": {
            "labels": [t["label"] for t in timing],
            "median": [t["median_days"] for t in timing],
        },
        "sources": {
            "labels": [r["source"] for r in sources],
            "leads": [r["leads"] for r in sources],
            "converted": [r["converted"] for r in sources],
        },
        "calibration": {
            "labels": [b["label"] for b in deciles],
            "predicted": [pct(b["predicted"]) for b in deciles],
            "observed": [pct(b["observed"]) for b in deciles],
        },
    }
