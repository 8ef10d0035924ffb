"""The automations page: the active automations (when each fires, what it does) and the
versions uploaded, the outbox (counts per status, the latest rows, a status filter swapped
in by htmx, Retry on a failed row for managers) and the CRM connectors (last sync, cursors,
linked records, errors; Sync now for admins). It calls the use cases the API's
/automations, /outbox and /connectors routes call."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from leadscore.core.automation_text import describe_action, describe_trigger
from leadscore.core.connectors import ConnectorsError
from leadscore.locales import N_
from leadscore.service import automations, connectors, outbox
from leadscore.service.context import Context
from leadscore.service.errors import Conflict, NotFound, ServiceError
from leadscore.service.jobs import Busy, Jobs
from leadscore.service.users import WebUser
from leadscore.web.rendering import page
from leadscore.web.sessions import Viewer, context, posted_by

router = APIRouter(include_in_schema=False)
OUTBOX_PAGE = 50


def _status(text: str | None) -> str | None:
    """A status filter the outbox knows, or None (every status)."""
    return text if text in outbox.STATUSES else None


def _after(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and len(text) < 19 else None


def active_automations(ctx: Context) -> dict[str, Any] | None:
    """The active version's automations, each with its trigger and actions in words."""
    found = automations.active(ctx)
    if found is None:
        return None
    version, parsed = found
    return {
        "version": version,
        "automations": [
            {
                "name": a.name,
                "description": a.description,
                "enabled": a.enabled,
                "trigger": describe_trigger(a.when),
                "conditions": a.conditions is not None,
                "actions": [describe_action(action) for action in a.actions],
            }
            for a in parsed.automations
        ],
    }


def connectors_state(ctx: Context) -> tuple[list[dict[str, Any]], str | None]:
    """Each configured connector as `describe` says, or the reason the connectors file (or
    the secrets) cannot be read: shown on the page rather than a 500."""
    try:
        return connectors.describe_all(ctx), None
    except (ConnectorsError, ServiceError) as exc:
        return [], str(exc)


def _outbox(ctx: Context, status: str | None, after: int | None) -> dict[str, Any]:
    rows, next_after, counts = outbox.page_and_counts(
        ctx, status=status, after=after, limit=OUTBOX_PAGE
    )
    return {
        "rows": rows,
        "next_after": next_after,
        "counts": dict(counts),
        "status": status or "",
        "first_page": after is None,
    }


async def _page(
    request: Request,
    user: WebUser,
    *,
    status_code: int = 200,
    notice: str | None = None,
    error: str | None = None,
) -> Response:
    ctx = context(request)
    params = request.query_params
    status, after = _status(params.get("status")), _after(params.get("after"))
    box = await run_in_threadpool(_outbox, ctx, status, after)
    active = await run_in_threadpool(active_automations, ctx)
    versions = await run_in_threadpool(automations.list_versions, ctx)
    crm, crm_error = await run_in_threadpool(connectors_state, ctx)
    return page(
        "automations.html",
        status_code,
        user=user,
        section="automations",
        active=active,
        versions=versions,
        outbox=box,
        statuses=outbox.STATUSES,
        connectors=crm,
        connectors_error=crm_error,
        notice=notice,
        error=error,
    )


@router.get("/automations")
async def automations_page(request: Request, user: WebUser = Viewer) -> Response:
    params = request.query_params
    fragment = request.headers.get("HX-Request") == "true" and not request.headers.get(
        "HX-History-Restore-Request"
    )
    if fragment:  # the status filter or the next page: the outbox table alone
        status, after = _status(params.get("status")), _after(params.get("after"))
        box = await run_in_threadpool(_outbox, context(request), status, after)
        return page("outbox_table.html", user=user, outbox=box, statuses=outbox.STATUSES)
    notice = None
    queued, name = params.get("queued", ""), params.get("connector", "")
    if queued.isalnum() and name in connectors.SECRETS:
        notice = N_("A sync of %(name)s is queued as job %(job)s.", name=name, job=queued)
    return await _page(request, user, notice=notice)


@router.post("/automations/outbox/{pk}/retry")
async def retry_row(
    request: Request,
    pk: int,
    posted: tuple[WebUser, dict[str, str]] = Depends(posted_by("manager")),
) -> Response:
    """Put a failed outbox row back to pending (as POST /api/v1/outbox/{id}/retry); with
    htmx only the row comes back."""
    user, _ = posted
    ctx = context(request)
    htmx = request.headers.get("HX-Request") == "true"
    try:
        row = await run_in_threadpool(outbox.retry, ctx, pk, user.email)
    except NotFound:
        return page("not_found.html", 404, user=user)
    except Conflict as exc:
        if not htmx:
            return await _page(request, user, status_code=409, error=str(exc))
        row = await run_in_threadpool(outbox.get_row, ctx, pk)
        # 200: htmx swaps only successful answers, and the row says why
        return page("outbox_row.html", user=user, row=row, row_error=str(exc))
    if htmx:
        return page("outbox_row.html", user=user, row=row, row_error=None)
    return RedirectResponse("/automations?status=failed#outbox", 303)


@router.post("/automations/connectors/{name}/sync")
async def sync_now(
    request: Request,
    name: str,
    posted: tuple[WebUser, dict[str, str]] = Depends(posted_by("admin")),
) -> Response:
    """Queue an incremental sync of a connector (as POST /api/v1/connectors/{name}/sync);
    a sync already running is said so, not queued twice."""
    user, _ = posted
    jobs: Jobs = request.app.state.jobs
    try:
        job = await run_in_threadpool(
            lambda: jobs.sync_connector(actor=user.email, name=name, full=False)
        )
    except Busy as exc:
        message = N_(
            "A sync of %(name)s is already %(status)s (job %(job)s).",
            name=name,
            status=exc.job["status"],
            job=exc.job["id"],
        )
        return await _page(request, user, status_code=409, error=message)
    except (ConnectorsError, ServiceError, RuntimeError) as exc:
        return await _page(request, user, status_code=409, error=str(exc))
    target = f"/automations?queued={quote(job['id'])}&connector={quote(name)}#connectors"
    return RedirectResponse(target, 303)
