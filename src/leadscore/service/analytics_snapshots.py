"""The analytics page at scale: above `analytics_inline_leads` leads its figures take seconds
(docs/performance.md), longer than a page may make a person wait, so a background job
computes them (`Jobs.analytics_figures`) and keeps them as its result. The page shows the
newest result for the same period and version, dated; when that is older than
`analytics_max_age_minutes` (or there is none) it starts a new computation, and shows the
older figures, or the job's progress, until it ends.

The figures are those of `analytics.every_figure`, exactly: a result is what that function
returned at its `finished_at`, never a blend of two readings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from leadscore.core.timestamps import format_timestamp
from leadscore.service import analytics
from leadscore.service.context import Context
from leadscore.store import analytics as stored
from leadscore.store import jobs as stored_jobs

KIND = "analytics"
SECOND = 1_000_000


@dataclass(frozen=True)
class Snapshot:
    """A finished computation: its figures, when it finished (RFC 3339), its job, and
    whether it is recent enough to show without starting another."""

    figures: dict[str, Any]
    finished_at: str
    job_id: str
    fresh: bool


def params(span: analytics.Period) -> dict[str, Any]:
    """The job's parameters: what makes two computations the same."""
    return {"start": span.start, "end": span.end, "version": span.version}


def inline(ctx: Context) -> bool:
    """Whether the store is small enough to compute the page while the request waits."""
    with ctx.db.read() as conn:
        return stored.lead_count_bound(conn) <= ctx.settings.analytics_inline_leads


def latest(ctx: Context, span: analytics.Period, scan: int = 50) -> Snapshot | None:
    """The newest finished computation of this period and version among the latest `scan`
    analytics jobs, or None."""
    wanted = params(span)
    max_age = int(ctx.settings.analytics_max_age_minutes * 60 * SECOND)
    for row in stored_jobs.recent(ctx.db, scan, KIND):
        if row.status != "succeeded" or row.params != wanted or not row.result:
            continue
        return Snapshot(
            figures=row.result,
            finished_at=format_timestamp(row.finished_at),
            job_id=row.id,
            fresh=ctx.now() - row.finished_at <= max_age,
        )
    return None


def compute(ctx: Context, span: analytics.Period) -> dict[str, Any]:
    """What the job keeps: every figure, as the page and the API show them."""
    return {str(name): value for name, value in analytics.every_figure(ctx, span).items()}
