"""`GET /metrics`: the Prometheus text exposition of this process's metrics, for a caller
with an API key of scope `read` (Prometheus: `authorization: {credentials_file: …}`).

Why behind a key on the API's port rather than a port of its own: one listener to secure
and expose, and the figures (volumes, failure rates, connector names) are business data a
stranger should not read. The use cases' counters and histograms live in
service/metrics.py; this module adds what only the API sees — requests by route template and
status (never the raw path: its ids would make a series per lead) — and what is computed
from the database at each scrape: the outbox's depth by status.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from prometheus_client import REGISTRY, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadscore.service import outbox
from leadscore.service.context import Context

HTTP_REQUESTS = Counter(
    "leadscore_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
DEPTH_STATUSES = ("pending", "delivering", "failed")
MAX_SERIES = 10_000
"""Cached children at most (unmatched paths are keys too, each its own, until this many)."""


class HttpMetrics:
    """ASGI middleware counting each response by method, route template and status.

    `prefix` is the API's (/api/v1): FastAPI's routes of an included router know their path
    without it, so it is put back for a request under it. `shortcut` is the path
    api/shortcut.py answers before routing (POST /api/v1/events): its requests have no route
    in the scope, and are counted under that path."""

    def __init__(self, app: ASGIApp, prefix: str, shortcut: str) -> None:
        self.app = app
        self.prefix = prefix
        self.shortcut = shortcut
        self._series: dict[tuple[str, str, int, int], Any] = {}
        """The counter's child of each (method, path, status, route) seen: `labels()` takes
        a lock and checks its arguments each call, several times the cost of `inc()`."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            route: BaseRoute | None = scope.get("route")
            path = scope["path"] if route is None else ""  # a route's path is its template
            key = (scope["method"], path, status, id(route))  # routes are not hashable
            series = self._series.get(key)
            if series is None:
                series = HTTP_REQUESTS.labels(_method(scope), self._route(scope), str(status))
                if len(self._series) < MAX_SERIES:
                    self._series[key] = series
            series.inc()

    def _route(self, scope: Scope) -> str:
        route: BaseRoute | None = scope.get("route")
        if route is not None:
            path = str(getattr(route, "path", "unmatched"))
            under = scope["path"].startswith(self.prefix + "/")
            return self.prefix + path if under and not path.startswith(self.prefix) else path
        if scope["path"] == self.shortcut:
            return self.shortcut
        return "unmatched"


def _method(scope: Scope) -> str:
    method = str(scope.get("method", ""))
    return method if method in METHODS else "OTHER"


class _OutboxDepth:
    """The outbox's rows waiting or failed, counted at scrape."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def collect(self) -> Iterable[Metric]:
        counts = outbox.counts(self.ctx)
        depth = GaugeMetricFamily(
            "leadscore_outbox_depth",
            "Outbox rows by status at scrape time: pending (waiting to be delivered or "
            "retried), delivering (claimed by a worker), failed (kept after the last attempt).",
            labels=["status"],
        )
        for status in DEPTH_STATUSES:
            depth.add_metric([status], counts.get(status, 0))
        yield depth


def exposition(ctx: Context) -> bytes:
    """The process's metrics, then the ones computed from the database now."""
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(_OutboxDepth(ctx))
    return generate_latest(REGISTRY) + generate_latest(scraped)


async def scrape(request: Request) -> Response:
    """GET /metrics (the route requires the `read` scope: api/app.py)."""
    body = await run_in_threadpool(exposition, request.app.state.ctx)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
