"""The dashboard's money figures and the predictive model's calibration, computed from plain
facts: leads, conversions and revenue by source and campaign with cost per lead, cost per
conversion and ROI per currency (never converted), customer lifetime value, and predicted
against observed conversion by decile. Pure, like core/analytics.py whose intervals they use."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from leadscore.core.analytics import EPOCH, wilson

# --- sources, campaigns, costs and ROI -------------------------------------------------------

NO_SOURCE = "(none)"


@dataclass(frozen=True, slots=True)
class Attribution:
    """The period's leads of one source and campaign (None: the lead has none), as the store
    counts them: leads, those converted, and the values of their converted outcomes (every
    one of them, not just the first: a customer who buys again is worth more)."""

    source: str | None
    campaign: str | None
    leads: int
    converted: int
    revenue: float = 0.0
    valued: int = 0
    """Converted leads with at least one valued conversion."""


@dataclass(frozen=True, slots=True)
class CostTotal:
    """What a source (campaign None: the source as a whole, beyond its campaigns) or one of
    its campaigns cost over the period's months, in one currency, in minor units."""

    source: str
    campaign: str | None
    currency: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class CostFigures:
    """One currency's cost of a row and what it bought: per lead, per conversion, and the
    return on it when revenue is in the same currency ((revenue − cost) / cost)."""

    currency: str
    cost: float
    cost_per_lead: float | None
    cost_per_conversion: float | None
    roi: float | None


@dataclass(frozen=True, slots=True)
class SourceRow:
    source: str
    campaign: str | None
    leads: int
    converted: int
    rate: float | None
    revenue: float
    revenue_currency: str
    costs: list[CostFigures]


def _cost_figures(
    minor: Mapping[str, int], leads: int, converted: int, revenue: float, currency: str
) -> list[CostFigures]:
    """Per currency (alphabetical), never added across currencies."""
    found = []
    for code in sorted(minor):
        cost = minor[code] / 100
        roi = None
        if code == currency and cost > 0:
            roi = (revenue - cost) / cost
        found.append(
            CostFigures(
                code,
                cost,
                cost / leads if leads else None,
                cost / converted if converted else None,
                roi,
            )
        )
    return found


def _source_row(
    source: str,
    campaign: str | None,
    groups: Sequence[Attribution],
    minor: Mapping[str, int],
    currency: str,
) -> SourceRow:
    leads = sum(g.leads for g in groups)
    converted = sum(g.converted for g in groups)
    revenue = sum(g.revenue for g in groups)
    return SourceRow(
        source,
        campaign,
        leads,
        converted,
        converted / leads if leads else None,
        revenue,
        currency,
        _cost_figures(minor, leads, converted, revenue, currency),
    )


def by_source(
    groups: Sequence[Attribution], costs: Sequence[CostTotal], currency: str
) -> tuple[list[SourceRow], list[SourceRow]]:
    """(one row per source, one row per source and campaign). A source's cost is every cost
    row of it, whole-source and per campaign; a campaign's, its own rows. ROI only where cost
    and revenue share a currency (no exchange rates). Sources and campaigns with costs but no
    leads get a row too (0 leads: nothing per lead)."""
    by_src: dict[str, list[Attribution]] = {}
    by_camp: dict[tuple[str, str], list[Attribution]] = {}
    for g in groups:
        src = g.source if g.source is not None else NO_SOURCE
        by_src.setdefault(src, []).append(g)
        if g.campaign is not None:
            by_camp.setdefault((src, g.campaign), []).append(g)
    src_cost: dict[str, dict[str, int]] = {}
    camp_cost: dict[tuple[str, str], dict[str, int]] = {}
    for c in costs:
        per = src_cost.setdefault(c.source, {})
        per[c.currency] = per.get(c.currency, 0) + c.amount_minor
        by_src.setdefault(c.source, [])
        if c.campaign is not None:
            key = (c.source, c.campaign)
            per = camp_cost.setdefault(key, {})
            per[c.currency] = per.get(c.currency, 0) + c.amount_minor
            by_camp.setdefault(key, [])
    sources = [
        _source_row(s, None, members, src_cost.get(s, {}), currency)
        for s, members in by_src.items()
    ]
    campaigns = [
        _source_row(s, camp, members, camp_cost.get((s, camp), {}), currency)
        for (s, camp), members in by_camp.items()
    ]
    sources.sort(key=lambda r: (-r.leads, r.source))
    campaigns.sort(key=lambda r: (r.source, -r.leads, r.campaign or ""))
    return sources, campaigns


# --- customer lifetime value -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LifetimeValue:
    """A source's customers (converted leads), those with a valued conversion, the value of
    all their converted outcomes, and its mean per valued customer (None: no value known)."""

    source: str
    customers: int
    valued: int
    revenue: float
    lifetime_value: float | None
    currency: str


def lifetime_value(
    groups: Sequence[Attribution], currency: str
) -> tuple[list[LifetimeValue], LifetimeValue]:
    """Per source (most customers first) and over all: the mean revenue per customer whose
    conversions carry a value (a conversion without a value is unknown, not zero)."""
    per: dict[str, list[Attribution]] = {}
    for g in groups:
        per.setdefault(g.source if g.source is not None else NO_SOURCE, []).append(g)

    def row(source: str, members: Sequence[Attribution]) -> LifetimeValue:
        customers = sum(g.converted for g in members)
        valued = sum(g.valued for g in members)
        revenue = sum(g.revenue for g in members)
        return LifetimeValue(
            source, customers, valued, revenue, revenue / valued if valued else None, currency
        )

    rows = [row(s, m) for s, m in per.items() if sum(g.converted for g in m)]
    rows.sort(key=lambda r: (-r.customers, r.source))
    return rows, row("(all)", groups)


# --- calibration -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CalibrationBin:
    """A decile of leads ranked by predicted probability: its range, the mean predicted
    probability, the observed conversion rate and its 95 % Wilson interval."""

    label: str
    low: float
    high: float
    leads: int
    predicted: float
    converted: int
    observed: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True, slots=True)
class Calibration:
    bins: list[CalibrationBin]
    leads: int
    ece: float | None
    """The expected calibration error: Σ (leads of a decile / all) · |predicted − observed|."""


@dataclass(frozen=True, slots=True)
class Decile:
    """What the store sums per decile (NTILE(10) over the probability): leads, converted, the
    sum, lowest and highest of their probabilities."""

    number: int
    leads: int
    converted: int
    total: float
    low: float
    high: float


def deciles(pairs: Sequence[tuple[float, bool]], groups: int = 10) -> list[Decile]:
    """(probability, converted) pairs ranked by probability in `groups` as NTILE does: equal
    counts, the first groups one larger when they do not divide."""
    ranked = sorted(pairs, key=lambda p: p[0])
    n = len(ranked)
    found = []
    start = 0
    for g in range(groups):
        size = n // groups + (1 if g < n % groups else 0)
        members = ranked[start : start + size]
        start += size
        if members:
            found.append(
                Decile(
                    g + 1,
                    len(members),
                    sum(1 for _, won in members if won),
                    math.fsum(p for p, _ in members),
                    members[0][0],
                    members[-1][0],
                )
            )
    return found


def calibration(pairs: Sequence[tuple[float, bool]], groups: int = 10) -> Calibration:
    """Predicted probability against the observed conversion rate, by decile of the
    prediction."""
    return calibration_of(deciles(pairs, groups))


def calibration_of(groups: Sequence[Decile]) -> Calibration:
    n = sum(g.leads for g in groups)
    bins = []
    error = 0.0
    for g in groups:
        predicted = g.total / g.leads
        observed = g.converted / g.leads
        low, high = wilson(g.converted, g.leads)
        error += g.leads / n * abs(predicted - observed)
        bins.append(
            CalibrationBin(
                str(g.number), g.low, g.high, g.leads, predicted, g.converted, observed, low, high
            )
        )
    return Calibration(bins, n, error if n else None)


def predicted_probability(explanation: object) -> float | None:
    """The blended probability of a stored explanation (its `predictive` line's raw value,
    SPEC §7), None when the model blends none."""
    if not isinstance(explanation, list):
        return None
    for line in explanation:
        if isinstance(line, dict) and line.get("kind") == "predictive":
            raw = line.get("raw")
            return float(raw) if isinstance(raw, int | float) else None
    return None


def months_of(start: int, end: int) -> tuple[str, str]:
    """The first and last calendar month (YYYY-MM) of [start, end) in epoch microseconds:
    costs are by month, so a period counts the whole cost of every month it touches."""
    first = EPOCH + timedelta(microseconds=start)
    last = EPOCH + timedelta(microseconds=max(start, end - 1))
    return f"{first.year:04d}-{first.month:02d}", f"{last.year:04d}-{last.month:02d}"
