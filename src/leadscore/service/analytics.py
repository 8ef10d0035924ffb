"""Analytics over a period (leads created between `from` and `to`, by default the last 365
days): the four figures of the dashboard and the API, as dicts and as CSV. The scores are the
leads' current ones (the active model's, once it rescored them): scoring a period under
another stored version would mean rescoring every lead, which `leadscore backtest` does."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from typing import Any, Literal

from leadscore.core import analytics as core
from leadscore.core.timestamps import TimestampError, format_timestamp, parse_instant
from leadscore.service.context import Context
from leadscore.service.errors import Invalid, Problem
from leadscore.store import analytics as stored

Figure = Literal["distribution", "conversion", "funnel", "time-to-conversion"]
FIGURES: tuple[Figure, ...] = ("distribution", "conversion", "funnel", "time-to-conversion")
DEFAULT_DAYS = 365
EARLIEST = parse_instant("0001-01-01")
LATEST = parse_instant("9999-12-31T23:59:59.999999")
"""The times a period may name (those format_timestamp writes)."""


@dataclass(frozen=True, slots=True)
class Period:
    """[start, end) in epoch microseconds."""

    start: int
    end: int

    def as_dict(self) -> dict[str, str]:
        return {"from": format_timestamp(self.start), "to": format_timestamp(self.end)}


def _bare_date(text: str) -> bool:
    return len(text.strip()) == 10


def period(ctx: Context, start: str | None, end: str | None) -> Period:
    """The period of `from` and `to` (ISO 8601; no zone is UTC). A bare date `to` includes
    that whole day; without `to`, now; without `from`, 365 days before `to` (not before the
    year 1). `from` after `to` is an empty period, not an error: nothing was created in it."""
    problems = []
    moments: dict[str, int | None] = {"from": None, "to": None}
    for name, text in (("from", start), ("to", end)):
        if not text:
            continue
        try:
            moment = parse_instant(text)
        except TimestampError as exc:
            problems.append(Problem(("query", name), str(exc)))
            continue
        if name == "to" and _bare_date(text):
            moment = min(moment + core.DAY, LATEST)
        moments[name] = moment
    if problems:
        raise Invalid(problems)
    until = moments["to"] if moments["to"] is not None else ctx.now()
    since = moments["from"]
    if since is None:
        since = max(until - DEFAULT_DAYS * core.DAY, EARLIEST)
    return Period(since, until)


@dataclass(frozen=True, slots=True)
class Facts:
    leads: list[core.LeadFacts]
    model_version: int | None
    tiers: dict[str, float]
    stages: list[str]


def facts(ctx: Context, span: Period, *, stages: bool = False) -> Facts:
    """The leads of the period (and, for the funnel, their stage times) and the active
    model's tiers and stages."""
    with ctx.db.read() as conn:
        rows = stored.lead_facts(conn, span.start, span.end)
        reached = stored.stage_firsts(conn, span.start, span.end) if stages else {}
        active = ctx.models.active(conn)
    found = [
        core.LeadFacts(
            score=row.score,
            tier=row.tier,
            created_at=row.created_at,
            converted_at=row.converted_at,
            lost_at=row.lost_at,
            value=row.value,
            reached=reached.get(row.pk, {}),
            started_at=row.first_event_at,
        )
        for row in rows
        if row.model_version is not None  # never scored: no score to judge
    ]
    if active is None:
        return Facts(found, None, {}, [])
    version, model = active
    return Facts(found, version, dict(model.tiers), [s.name for s in model.stages])


def _head(span: Period, known: Facts) -> dict[str, Any]:
    return {**span.as_dict(), "model_version": known.model_version, "leads": len(known.leads)}


def distribution(ctx: Context, span: Period, known: Facts | None = None) -> dict[str, Any]:
    known = known or facts(ctx, span)
    return {**_head(span, known), "bins": [asdict(b) for b in core.distribution(known.leads)]}


def conversion(ctx: Context, span: Period, known: Facts | None = None) -> dict[str, Any]:
    known = known or facts(ctx, span)
    found = core.conversion(known.leads, known.tiers)
    return {
        **_head(span, known),
        "bands": [asdict(r) for r in found.bands],
        "tiers": [asdict(r) for r in found.tiers],
        "inversions": [asdict(i) for i in found.inversions],
        "alert": found.alert,
        "min_leads": core.MIN_LEADS,
    }


def funnel(ctx: Context, span: Period, known: Facts | None = None) -> dict[str, Any]:
    known = known or facts(ctx, span, stages=True)
    steps = core.funnel(known.leads, known.stages or ["lead"])
    return {**_head(span, known), "steps": [asdict(s) for s in steps]}


def time_to_conversion(ctx: Context, span: Period, known: Facts | None = None) -> dict[str, Any]:
    known = known or facts(ctx, span)
    rows = core.time_to_conversion(known.leads)
    return {**_head(span, known), "bands": [asdict(t) for t in rows]}


def figure(ctx: Context, name: Figure, span: Period) -> dict[str, Any]:
    compute = {
        "distribution": distribution,
        "conversion": conversion,
        "funnel": funnel,
        "time-to-conversion": time_to_conversion,
    }[name]
    return compute(ctx, span)


def every_figure(ctx: Context, span: Period) -> dict[Figure, dict[str, Any]]:
    """The four figures from one reading of the facts (the dashboard's page)."""
    known = facts(ctx, span, stages=True)
    return {
        "distribution": distribution(ctx, span, known),
        "conversion": conversion(ctx, span, known),
        "funnel": funnel(ctx, span, known),
        "time-to-conversion": time_to_conversion(ctx, span, known),
    }


def csv_text(name: Figure, data: dict[str, Any]) -> str:
    """A figure's table as CSV: one row per bin, band, tier or stage (conversion has a
    first column `by`: band or tier); empty cells for no value."""
    if name == "conversion":
        rows = [{"by": "band", **r} for r in data["bands"]]
        rows += [{"by": "tier", **r} for r in data["tiers"]]
    elif name == "funnel":
        rows = list(data["steps"])
    elif name == "distribution":
        rows = list(data["bins"])
    else:
        rows = list(data["bands"])
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    return out.getvalue()
