"""The models page's background work: counting what activating (or rolling back) a version
would change before an admin confirms it, and backtesting two versions on the store's
outcomes (managers). Both score many leads, so each runs as a job (service/jobs.py) and the
page polls it with htmx (`every 1s`) until its result replaces the progress; without
JavaScript the page links to itself with `?job=`, which shows the same state."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from leadscore.service import jobs, scoring_models
from leadscore.service.backtests import csv_rows
from leadscore.service.errors import Conflict, NotFound
from leadscore.service.jobs import BACKTEST, PREVIEW, Busy, Jobs
from leadscore.service.users import WebUser
from leadscore.web.rendering import page, security_headers
from leadscore.web.sessions import Admin, Manager, context, posted_by

router = APIRouter(include_in_schema=False)
Posted = tuple[WebUser, dict[str, str]]
KINDS = ("activate", "rollback")


def _runner(request: Request) -> Jobs:
    runner: Jobs = request.app.state.jobs
    return runner


def _htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


async def _job(request: Request, job_id: str, kind: str) -> dict[str, Any] | None:
    """The job `job_id` when it is of `kind` (a prefix), else None."""
    if len(job_id) != 32 or not all(c in "0123456789abcdef" for c in job_id):
        return None
    try:
        found = await run_in_threadpool(jobs.get, context(request), job_id)
    except NotFound:
        return None
    return found if str(found["kind"]).startswith(kind) else None


# --- what activation would change ----------------------------------------------------------


def preview_kind(kind: str, version: int) -> str:
    return f"{PREVIEW}_{kind}_{version}"


@router.post("/models/{version}/{kind}/preview")
async def start_preview(
    request: Request, version: int, kind: str, posted: Posted = Depends(posted_by("admin"))
) -> Response:
    """Start counting (or join the count already running for this version and kind)."""
    user, _ = posted
    if kind not in KINDS:
        return page("not_found.html", 404, user=user)
    try:
        job = await run_in_threadpool(
            lambda: _runner(request).preview_activation(
                actor=user.email, version=version, kind=kind
            )
        )
    except Busy as busy:
        job = busy.job
    except NotFound:
        return page("not_found.html", 404, user=user)
    except Conflict as exc:
        return page("models_preview.html", 409, user=user, version=version, kind=kind,
                    job=None, error=str(exc))  # fmt: skip
    if _htmx(request):
        return page("models_preview.html", user=user, version=version, kind=kind, job=job)
    return RedirectResponse(f"/models/{version}/{kind}?job={job['id']}", 303)


@router.get("/models/{version}/{kind}/preview/{job_id}")
async def poll_preview(
    request: Request, version: int, kind: str, job_id: str, user: WebUser = Admin
) -> Response:
    """The count's state as a fragment: progress while it runs, then the result."""
    job = await _job(request, job_id, preview_kind(kind, version))
    if kind not in KINDS or job is None:
        return page("not_found.html", 404, user=user)
    return page("models_preview.html", user=user, version=version, kind=kind, job=job)


async def preview_job(request: Request, version: int, kind: str) -> dict[str, Any] | None:
    """The count asked for in the confirmation page's `?job=` (none: not asked yet)."""
    job_id = request.query_params.get("job")
    return None if job_id is None else await _job(request, job_id, preview_kind(kind, version))


# --- backtest ------------------------------------------------------------------------------


def _day(value: str, field: str, end: bool) -> int | None:
    """A date field (YYYY-MM-DD) as epoch µs at the start of that day (the end of it for
    the period's end); empty: no bound."""
    if not value.strip():
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{field}: {value[:20]!r} is not a date (YYYY-MM-DD)") from None
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
    micros = int(moment.timestamp()) * 1_000_000
    return micros + 86_400_000_000 - 1 if end else micros


def _form(versions: list[dict[str, Any]], fields: dict[str, str] | None = None) -> dict[str, Any]:
    """The form's values: those posted, else the active version against the newest other."""
    if fields is not None:
        return {k: fields.get(k, "")[:20] for k in ("a", "b", "start", "end")}
    active = next((v["version"] for v in versions if v["active"]), None)
    other = next((v["version"] for v in versions if v["version"] != active), None)
    return {"a": str(active or ""), "b": str(other or ""), "start": "", "end": ""}


@router.get("/models/backtest")
async def backtest_page(request: Request, user: WebUser = Manager) -> Response:
    versions = await run_in_threadpool(scoring_models.list_versions, context(request))
    job_id = request.query_params.get("job")
    job = None if job_id is None else await _job(request, job_id, BACKTEST)
    if job_id is not None and job is None:
        return page("not_found.html", 404, user=user)
    return page(
        "models_backtest.html",
        user=user,
        section="models",
        versions=versions,
        form=_form(versions, None if job is None else _posted_form(job)),
        job=job,
        chart=chart_of(job),
        error=None,
    )


def _posted_form(job: dict[str, Any]) -> dict[str, str]:
    params = job["params"]
    a, b = (params.get("versions") or ["", ""])[:2]
    start, end = params.get("start"), params.get("end")

    def day(micros: int | None) -> str:
        return (
            "" if micros is None else datetime.fromtimestamp(micros / 1e6, UTC).date().isoformat()
        )

    return {"a": str(a), "b": str(b), "start": day(start), "end": day(end)}


@router.post("/models/backtest")
async def start_backtest(
    request: Request, posted: Posted = Depends(posted_by("manager"))
) -> Response:
    """Check the form (two different stored versions, a period whose start is not after its
    end), then queue the backtest; one runs at a time, so a second one is refused (409)
    with a link to the running one."""
    user, fields = posted
    ctx = context(request)
    versions = await run_in_threadpool(scoring_models.list_versions, ctx)
    known = {str(v["version"]) for v in versions}
    error: str | None = None
    running: dict[str, Any] | None = None
    a, b = fields.get("a", ""), fields.get("b", "")
    try:
        if a not in known or b not in known:
            raise ValueError("versions: choose two stored model versions")
        if a == b:
            raise ValueError("versions: choose two different versions")
        start, end = (
            _day(fields.get("start", ""), "from", False),
            _day(fields.get("end", ""), "to", True),
        )
        if start is not None and end is not None and start > end:
            raise ValueError("period: the start is after the end")
    except ValueError as exc:
        error = str(exc)
    else:
        try:
            job = await run_in_threadpool(
                lambda: _runner(request).backtest_versions(
                    actor=user.email, versions=[int(a), int(b)], start=start, end=end
                )
            )
        except Busy as busy:
            error, running = "busy", busy.job
        except NotFound as exc:
            error = str(exc)
        else:
            return RedirectResponse(f"/models/backtest?job={job['id']}", 303)
    return page(
        "models_backtest.html",
        409 if running else 422,
        user=user,
        section="models",
        versions=versions,
        form=_form(versions, fields),
        job=None,
        error=error,
        running=running,
    )


@router.get("/models/backtest/{job_id}.csv")
async def backtest_csv(request: Request, job_id: str, user: WebUser = Manager) -> Response:
    job = await _job(request, job_id, BACKTEST)
    if job is None or job["status"] != "succeeded":
        return page("not_found.html", 404, user=user)
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(csv_rows(job["result"]))
    headers = {
        **security_headers(),
        "Content-Disposition": f'attachment; filename="backtest-{job_id[:8]}.csv"',
    }
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/models/backtest/{job_id}")
async def poll_backtest(request: Request, job_id: str, user: WebUser = Manager) -> Response:
    job = await _job(request, job_id, BACKTEST)
    if job is None:
        return page("not_found.html", 404, user=user)
    return page("models_backtest_result.html", user=user, job=job, chart=chart_of(job))


def chart_of(job: dict[str, Any] | None) -> dict[str, Any] | None:
    """The chart's data: conversion rate (%) by band for each version, side by side. Bands
    are compared by position when the versions band differently (quantile bands)."""
    if job is None or job["status"] != "succeeded":
        return None
    columns = job["result"]["columns"]
    labels = [b["band"] for b in columns[0]["bands"]]
    if any([b["band"] for b in c["bands"]] != labels for c in columns[1:]):
        size = max(len(c["bands"]) for c in columns)
        labels = [str(i + 1) for i in range(size)]
    series = []
    for c in columns:
        rates = [None if b["rate"] is None else round(100 * b["rate"], 2) for b in c["bands"]]
        series.append(
            {"label": f"v{c['version']}", "rates": rates + [None] * (len(labels) - len(rates))}
        )
    return {"labels": labels, "series": series}
