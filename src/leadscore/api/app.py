"""The FastAPI application: `create_app(settings)` connects to the database (migrating it),
mounts the routes under /api/v1, the docs pages (api/docs_ui.py) and the dashboard at /
(leadscore.web) and, while serving, runs
the scheduler, the event writer (group commit, `service.group_commit`) and the background
jobs' worker threads (`service.jobs`).

Operations (docs/operations.md): GET /health (alive: the database answers) and GET /ready
(ready: the database answers within LEADSCORE_READY_TIMEOUT_SECONDS and is at the newest
migration) need no key, so that an orchestrator can probe them, and reveal no data; GET
/metrics (Prometheus, api/metrics.py) needs a `read` key. `app_from_env` also sets up the
server's logs (api/logs.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from leadscore import __version__, web
from leadscore.api import docs_ui, errors, logs, metrics, openapi, request_line, schemas
from leadscore.api.auth import Read
from leadscore.api.middleware import RequestGuard
from leadscore.api.routes import (
    analytics,
    audit,
    automations,
    connectors,
    costs,
    gdpr,
    ingest,
    jobs,
    keys,
    lead_forms,
    leads,
    lists,
    models,
    owners,
    predictive_models,
    source_overview,
    source_webhooks,
    tracking,
)
from leadscore.api.shortcut import EventsShortcut
from leadscore.scheduler import Scheduler
from leadscore.service import readiness, scoring_models, sources
from leadscore.service.connectors import registry
from leadscore.service.context import Context
from leadscore.service.costs import CostBatch
from leadscore.service.group_commit import GroupCommit
from leadscore.service.input_rules import Limits
from leadscore.service.inputs import (
    EventBatch,
    EventIn,
    LeadBatch,
    LeadIn,
    OutcomeBatch,
    OutcomeIn,
    OverrideIn,
)
from leadscore.service.jobs import Jobs
from leadscore.service.keys import KeyIn
from leadscore.service.lists import ListMembersIn
from leadscore.service.outbox import OutboxThread
from leadscore.service.owners import OwnerChange, OwnerIn, TeamIn, TeamMembers
from leadscore.service.source_commit import SourceWriter
from leadscore.settings import Settings

PREFIX = "/api/v1"
log = logging.getLogger("leadscore.api")
BODY_MODELS = (
    EventIn,
    EventBatch,
    LeadIn,
    LeadBatch,
    OutcomeIn,
    OutcomeBatch,
    OverrideIn,
    OwnerIn,
    OwnerChange,
    TeamIn,
    TeamMembers,
    ListMembersIn,
    CostBatch,
    KeyIn,
)
"""Request bodies parsed by hand (one item or a batch), added to the OpenAPI components."""

DESCRIPTION = """\
The live lead scoring service: ingest leads, events and outcomes; every event rescores its
lead at once. Authenticate with `Authorization: Bearer <key>` (create one with
`leadscore apikey create --name NAME --scopes read,write,admin`). See docs/api.md.
"""


def create_app(
    settings: Settings | None = None,
    *,
    context: Context | None = None,
    scheduler: bool | None = None,
    worker: bool | None = None,
) -> FastAPI:
    """The API app. It opens (and migrates) the configured database unless a `context` is
    given; the scheduler runs while it serves unless disabled by `scheduler=False` or
    LEADSCORE_SCHEDULER_ENABLED=false, and the automations' outbox worker unless
    `worker=False` or LEADSCORE_WORKER_ENABLED=false."""
    ctx = context or Context.open(settings or Settings())
    logs.hide_source_queries()  # Mailchimp's token is in its URL (docs/sources.md)
    run_scheduler = ctx.settings.scheduler_enabled if scheduler is None else scheduler
    run_worker = ctx.settings.worker_enabled if worker is None else worker
    syncing = registry(ctx).names()  # a bad connectors file stops the server here, named
    sources.configured(ctx)  # so does a bad sources file (docs/sources.md)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.writer = GroupCommit(ctx)
        app.state.source_writer = SourceWriter(ctx)
        app.state.jobs = Jobs(ctx)
        app.state.jobs.start()
        cron = Scheduler(ctx) if run_scheduler else None
        upkeep = Scheduler.automations(ctx) if run_scheduler else None
        syncs = (
            Scheduler.connectors(ctx)
            if run_scheduler and ctx.settings.sync_enabled and syncing
            else None
        )
        retention = Scheduler.retention(ctx) if run_scheduler else None
        retraining = Scheduler.retraining(ctx) if run_scheduler else None
        monitoring = Scheduler.monitoring(ctx) if run_scheduler else None
        for scheduled in (cron, upkeep, syncs, retention, retraining, monitoring):
            if scheduled is not None:
                scheduled.start()
        deliveries = OutboxThread(ctx) if run_worker else None
        if deliveries is not None:
            deliveries.start()
        try:
            yield
        finally:
            if deliveries is not None:
                deliveries.stop()
            for scheduled in (cron, upkeep, syncs, retention, retraining, monitoring):
                if scheduled is not None:
                    scheduled.stop()
            app.state.jobs.stop()
            app.state.writer.close()
            app.state.writer = None
            app.state.source_writer.close()
            app.state.source_writer = None
            if context is None:
                ctx.close()

    app = FastAPI(
        title="leadscore",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.ctx = ctx
    errors.install(app)
    docs_ui.install(app, "/openapi.json")
    app.add_middleware(EventsShortcut, path=f"{PREFIX}/events")  # inside the guard
    app.add_middleware(metrics.HttpMetrics, prefix=PREFIX, shortcut=f"{PREFIX}/events")
    app.add_middleware(
        RequestGuard, max_body_bytes=ctx.settings.max_body_bytes, hsts=ctx.settings.hsts
    )

    api = APIRouter(prefix=PREFIX)
    api.include_router(leads.router)
    api.include_router(gdpr.router)
    api.include_router(ingest.router)
    api.include_router(models.router)
    api.include_router(predictive_models.router)
    api.include_router(jobs.router)
    api.include_router(automations.router)
    api.include_router(owners.router)
    api.include_router(lists.router)
    api.include_router(connectors.router)
    api.include_router(analytics.router)
    api.include_router(costs.router)
    api.include_router(keys.router)
    api.include_router(audit.router)
    api.include_router(source_overview.router)
    api.include_router(lead_forms.router)
    api.include_router(source_webhooks.router)
    api.include_router(tracking.router)
    api.add_api_route(
        "/health",
        health,
        methods=["GET"],
        response_model=schemas.Health,
        responses={503: {"description": "The database does not answer"}},
        tags=["health"],
        dependencies=[Depends(request_line.checked)],
    )
    app.include_router(api)
    app.add_api_route(
        "/health",
        health,
        methods=["GET"],
        include_in_schema=False,
        dependencies=[Depends(request_line.checked)],
    )
    app.add_api_route(
        "/ready",
        ready,
        methods=["GET"],
        include_in_schema=False,
        dependencies=[Depends(request_line.checked)],
    )
    app.add_api_route(  # the website tracking script (docs/sources.md), not an API operation
        "/t.js", tracking.script, methods=["GET"], include_in_schema=False
    )
    app.add_api_route(
        "/metrics", metrics.scrape, methods=["GET"], include_in_schema=False, dependencies=[Read]
    )
    web.install(app)  # the dashboard, at / (after the API, /docs and /health)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]  # FastAPI's documented hook
    return app


def health(request: Request) -> JSONResponse:
    """Liveness and database check; needs no key."""
    ctx: Context = request.app.state.ctx
    try:
        active = scoring_models.active_version(ctx)
    except Exception as exc:  # any database failure makes the process unhealthy
        return errors.error_response(
            request.scope, 503, f"the database does not answer: {str(exc)[:200]}"
        )
    body = {"status": "ok", "version": __version__, "database": "ok", "active_model": active}
    return JSONResponse(body)


async def ready(request: Request) -> JSONResponse:
    """Readiness: 200 once the database answers and is at the newest migration, else 503
    with the reason; needs no key (orchestrators probe it) and reveals no data."""
    ctx: Context = request.app.state.ctx
    timeout = ctx.settings.ready_timeout_seconds
    try:
        reason = await asyncio.wait_for(
            asyncio.to_thread(readiness.not_ready, ctx), timeout=timeout
        )
    except TimeoutError:
        reason = f"the database did not answer within {timeout:g} s"
    if reason is None:
        return JSONResponse({"status": "ready"})
    log.warning("not ready: %s", reason)
    return JSONResponse({"status": "not ready", "reason": reason}, status_code=503)


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        app.openapi_schema = openapi.build(app, BODY_MODELS, Limits.of(app.state.ctx.settings))
    return app.openapi_schema


def app_from_env() -> FastAPI:
    """The app for `uvicorn --factory` (as `leadscore serve` runs it): settings from the
    LEADSCORE_* environment, and the logs set up as they say."""
    settings = Settings()
    logs.configure(settings)
    return create_app(settings)
