"""Analytics over a period (leads created between `from` and `to`, by default the last 365
days): the figures of the dashboard and the API, as dicts and as CSV. The scores are the
leads' current ones, or with `version` those each lead last had under that model version
(its latest score history row written by it): docs/dashboard.md#analytics."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from leadscore.core import analytics as core
from leadscore.core import analytics_money as money_core
from leadscore.core.timestamps import TimestampError, format_timestamp, parse_instant
from leadscore.service.context import Context
from leadscore.service.errors import Invalid, NotFound, Problem
from leadscore.store import analytics as stored
from leadscore.store import model_versions

Figure = Literal[
    "distribution",
    "conversion",
    "funnel",
    "time-to-conversion",
    "sources",
    "lifetime-value",
    "calibration",
]
FIGURES: tuple[Figure, ...] = (
    "distribution",
    "conversion",
    "funnel",
    "time-to-conversion",
    "sources",
    "lifetime-value",
    "calibration",
)
DEFAULT_DAYS = 365
EARLIEST = parse_instant("0001-01-01")
LATEST = parse_instant("9999-12-31T23:59:59.999999")
"""The times a period may name (those format_timestamp writes)."""


@dataclass(frozen=True, slots=True)
class Period:
    """[start, end) in epoch microseconds, and the model version whose scores to judge
    (None: the leads' current scores)."""

    start: int
    end: int
    version: int | None = None

    def as_dict(self) -> dict[str, str]:
        return {"from": format_timestamp(self.start), "to": format_timestamp(self.end)}


def _bare_date(text: str) -> bool:
    return len(text.strip()) == 10


def period(ctx: Context, start: str | None, end: str | None, version: int | None = None) -> Period:
    """The period of `from` and `to` (ISO 8601; no zone is UTC). A bare date `to` includes
    that whole day; without `to`, now; without `from`, 365 days before `to` (not before the
    year 1). `from` after `to` is an empty period, not an error: nothing was created in it.
    `version` must be a stored model version (NotFound otherwise)."""
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
    if version is not None:
        with ctx.db.read() as conn:
            try:
                ctx.models.model(conn, version)
            except LookupError:
                raise NotFound(f"no model version {version}") from None
    until = moments["to"] if moments["to"] is not None else ctx.now()
    since = moments["from"]
    if since is None:
        since = max(until - DEFAULT_DAYS * core.DAY, EARLIEST)
    return Period(since, until, version)


@dataclass(frozen=True, slots=True)
class Facts:
    counts: list[core.ScoreCount]
    """The period's scored leads counted by score and tier (distribution, conversion)."""
    converted: list[core.LeadFacts]
    """The converted ones, one by one (time to conversion)."""
    leads: list[core.LeadFacts]
    """Every lead with its stage times, read only for the funnel (else empty)."""
    model_version: int | None
    tiers: dict[str, float]
    stages: list[str]

    @property
    def total(self) -> int:
        return sum(c.leads for c in self.counts)


def _lead_facts(row: Any, reached: dict[str, int] | None = None) -> core.LeadFacts:
    return core.LeadFacts(
        score=row.score,
        tier=row.tier,
        created_at=row.created_at,
        converted_at=row.converted_at,
        lost_at=row.lost_at,
        reached=reached or {},
        started_at=row.first_event_at,
    )


def facts(ctx: Context, span: Period, *, stages: bool = False) -> Facts:
    """The leads of the period counted by score and tier, the converted ones (and, for the
    funnel, every lead with its stage times), and the tiers and stages of the chosen
    version's model (by default the active one), in one snapshot."""
    every: list[core.LeadFacts] = []
    with ctx.db.read() as conn:
        counts = [
            core.ScoreCount(r.score, r.tier, r.leads, r.converted, r.lost)
            for r in stored.score_counts(conn, span.start, span.end, span.version)
        ]
        converted = [
            _lead_facts(r) for r in stored.converted_facts(conn, span.start, span.end, span.version)
        ]
        if stages:
            rows = stored.lead_facts(conn, span.start, span.end, span.version)
            reached = stored.stage_firsts(conn, span.start, span.end, span.version)
            every = [_lead_facts(r, reached.get(r.pk)) for r in rows]
        if span.version is None:
            active = ctx.models.active(conn)
        else:
            active = span.version, ctx.models.model(conn, span.version)
    if active is None:
        return Facts(counts, converted, every, None, {}, [])
    version, model = active
    return Facts(
        counts, converted, every, version, dict(model.tiers), [s.name for s in model.stages]
    )


def _head(span: Period, known: Facts) -> dict[str, Any]:
    return {
        **span.as_dict(),
        "model_version": known.model_version,
        "scores": "current" if span.version is None else "recorded",
        "leads": known.total,
    }


def distribution(ctx: Context, span: Period, known: Facts | None = None) -> dict[str, Any]:
    known = known or facts(ctx, span)
    bins = core.distribution_of(known.counts)
    return {**_head(span, known), "bins": [asdict(b) for b in bins]}


def conversion(ctx: Context, span: Period, known: Facts | None = None) -> dict[str, Any]:
    known = known or facts(ctx, span)
    found = core.conversion_of(known.counts, known.tiers)
    return {
        **_head(span, known),
        "bands": [asdict(r) for r in found.bands],
        "tiers": [asdict(r) for r in found.tiers],
        "inversions": [asdict(i) for i in found.inversions],
        "alert": found.alert,
        "min_leads": core.MIN_LEADS,
    }


def funnel(ctx: Context, span: Period, known: Facts | None = None) -> dict[str, Any]:
    known = known if known is not None and known.leads else facts(ctx, span, stages=True)
    steps = core.funnel(known.leads, known.stages or ["lead"])
    return {**_head(span, known), "steps": [asdict(s) for s in steps]}


def time_to_conversion(ctx: Context, span: Period, known: Facts | None = None) -> dict[str, Any]:
    known = known or facts(ctx, span)
    bands = core.score_bands(c.score for c in known.counts)
    rows = core.time_to_conversion(known.converted, bands=bands)
    return {**_head(span, known), "bands": [asdict(t) for t in rows]}


# --- sources, costs, lifetime value, calibration -------------------------------------------


REASONS = {
    "no_predictive": "the active model blends no predictive model: no probability to check",
    "current_only": "only current scores carry their probability: ask without `version`",
}
"""Why the calibration has no bins."""


@dataclass(frozen=True, slots=True)
class Money:
    """What the money figures read: the period's leads per source and campaign, the costs of
    its months, and the currency of outcome values."""

    groups: list[money_core.Attribution]
    costs: list[money_core.CostTotal]
    months: tuple[str, str]
    currency: str
    model_version: int | None


def money_facts(ctx: Context, span: Period) -> Money:
    months = money_core.months_of(span.start, span.end)
    with ctx.db.read() as conn:
        groups = [
            money_core.Attribution(
                r.source, r.campaign, r.leads, r.converted, float(r.revenue or 0.0), r.valued
            )
            for r in stored.attribution(conn, span.start, span.end, span.version)
        ]
        totals = [
            money_core.CostTotal(r.source, r.campaign or None, r.currency, int(r.minor))
            for r in stored.cost_totals(conn, *months)
        ]
        version = span.version
        if version is None:
            active = ctx.models.active(conn)
            version = None if active is None else active[0]
    return Money(groups, totals, months, ctx.settings.revenue_currency, version)


def _money_head(span: Period, known: Money) -> dict[str, Any]:
    return {
        **span.as_dict(),
        "model_version": known.model_version,
        "scores": "current" if span.version is None else "recorded",
        "leads": sum(g.leads for g in known.groups),
        "revenue_currency": known.currency,
        "cost_months": {"from": known.months[0], "to": known.months[1]},
    }


def sources(ctx: Context, span: Period, known: Money | None = None) -> dict[str, Any]:
    """Leads, conversions, revenue and, where costs are loaded, cost per lead, per
    conversion and ROI, by source and by source and campaign."""
    known = known or money_facts(ctx, span)
    by_source, by_campaign = money_core.by_source(known.groups, known.costs, known.currency)
    return {
        **_money_head(span, known),
        "sources": [asdict(r) for r in by_source],
        "campaigns": [asdict(r) for r in by_campaign],
    }


def lifetime_value(ctx: Context, span: Period, known: Money | None = None) -> dict[str, Any]:
    known = known or money_facts(ctx, span)
    rows, total = money_core.lifetime_value(known.groups, known.currency)
    return {
        **_money_head(span, known),
        "sources": [asdict(r) for r in rows],
        "total": asdict(total),
    }


def calibration(ctx: Context, span: Period) -> dict[str, Any]:
    """The predictive model's calibration over the period's leads: the probability their
    current explanation blended (its `predictive` line) against whether they converted,
    by decile (NTILE in SQL). Only current scores carry it (the score history keeps no
    probability), so a `version` other than the active one gives no bins and says why. A
    lead last rescored in bulk has no stored explanation (the recompute clears it): counted
    in `without_probability`, not in the deciles."""
    with ctx.db.read() as conn:
        active = ctx.models.active(conn)
        blends = active is not None and active[1].predictive is not None
        current = span.version is None or (active is not None and span.version == active[0])
        rows = stored.calibration_deciles(conn, span.start, span.end) if blends and current else []
    cleared = sum(r.leads for r in rows if r.number == 0)
    found = money_core.calibration_of(
        [
            money_core.Decile(r.number, r.leads, r.converted, float(r.total), r.low, r.high)
            for r in rows
            if r.number != 0
        ]
    )
    reason = None
    if not blends:
        reason = "no_predictive"
    elif not current:
        reason = "current_only"
    return {
        **span.as_dict(),
        "model_version": None if active is None else active[0],
        "scores": "current",
        "leads": found.leads,
        "ece": found.ece,
        "without_probability": cleared,
        "bins": [asdict(b) for b in found.bins],
        "reason": reason,
        "note": None if reason is None else REASONS[reason],
    }


def figure(ctx: Context, name: Figure, span: Period) -> dict[str, Any]:
    compute: dict[Figure, Callable[[Context, Period], dict[str, Any]]] = {
        "distribution": distribution,
        "conversion": conversion,
        "funnel": funnel,
        "time-to-conversion": time_to_conversion,
        "sources": sources,
        "lifetime-value": lifetime_value,
        "calibration": calibration,
    }
    return compute[name](ctx, span)


def every_figure(ctx: Context, span: Period) -> dict[Figure, dict[str, Any]]:
    """Every figure from one reading of each kind of fact (the dashboard's page)."""
    known = facts(ctx, span, stages=True)
    cash = money_facts(ctx, span)
    return {
        "distribution": distribution(ctx, span, known),
        "conversion": conversion(ctx, span, known),
        "funnel": funnel(ctx, span, known),
        "time-to-conversion": time_to_conversion(ctx, span, known),
        "sources": sources(ctx, span, cash),
        "lifetime-value": lifetime_value(ctx, span, cash),
        "calibration": calibration(ctx, span),
    }


def versions(ctx: Context) -> list[int]:
    """The stored model versions, newest first (the choices of `version`)."""
    with ctx.db.read() as conn:
        return [r.version for r in model_versions.newest_first(conn)]


ROWS: dict[tuple[str, str], type[Any]] = {
    ("distribution", "bins"): core.Bin,
    ("conversion", "bands"): core.Rate,
    ("conversion", "tiers"): core.Rate,
    ("funnel", "steps"): core.Step,
    ("time-to-conversion", "bands"): core.Timing,
    ("sources", "sources"): money_core.SourceRow,
    ("sources", "campaigns"): money_core.SourceRow,
    ("lifetime-value", "sources"): money_core.LifetimeValue,
    ("calibration", "bins"): money_core.CalibrationBin,
}
"""Each figure's rows and the dataclass they come from: its fields are the CSV's columns."""


def _ordered(row: dict[str, Any], kind: type[Any]) -> dict[str, Any]:
    ordered = {f.name: row[f.name] for f in fields(kind) if f.name in row}
    if "costs" in ordered:
        ordered["costs"] = [_ordered(c, money_core.CostFigures) for c in ordered["costs"]]
    return ordered


def in_order(name: Figure, data: dict[str, Any]) -> dict[str, Any]:
    """A figure's rows with their keys in their dataclass's order, as computed: a figure read
    back from PostgreSQL's jsonb (the analytics page's background result) has them sorted."""
    out = dict(data)
    for (figure, key), kind in ROWS.items():
        if figure == name and key in out:
            out[key] = [_ordered(r, kind) for r in out[key]]
    if name == "lifetime-value" and "total" in out:
        out["total"] = _ordered(out["total"], money_core.LifetimeValue)
    return out


def csv_text(name: Figure, data: dict[str, Any]) -> str:
    """A figure's table as CSV: one row per bin, band, tier or stage (conversion has a
    first column `by`: band or tier); empty cells for no value."""
    data = in_order(name, data)
    if name == "conversion":
        rows = [{"by": "band", **r} for r in data["bands"]]
        rows += [{"by": "tier", **r} for r in data["tiers"]]
    elif name == "funnel":
        rows = list(data["steps"])
    elif name in ("distribution", "calibration"):
        rows = list(data["bins"])
    elif name == "sources":
        rows = _cost_rows("source", data["sources"]) + _cost_rows("campaign", data["campaigns"])
    elif name == "lifetime-value":
        rows = [*data["sources"], data["total"]] if data["total"]["customers"] else []
    else:
        rows = list(data["bands"])
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    return out.getvalue()


def _cost_rows(by: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One CSV row per source (or campaign) and cost currency; one with empty cost cells
    when it has no costs."""
    flat = []
    empty = {"cost_currency": None, "cost": None, "cost_per_lead": None,
             "cost_per_conversion": None, "roi": None}  # fmt: skip
    for row in rows:
        base = {"by": by, **{k: v for k, v in row.items() if k != "costs"}}
        if not row["costs"]:
            flat.append({**base, **empty})
        for cost in row["costs"]:
            flat.append({**base, **cost, "cost_currency": cost["currency"]})
    for row in flat:
        row.pop("currency", None)
    return [{k: r[k] for k in (*[k for k in flat[0] if k not in empty], *empty)} for r in flat]
