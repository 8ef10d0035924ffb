"""The dashboard's evidence that the model works, computed from plain facts about leads:
the score distribution, conversion by score band and by tier with 95 % Wilson intervals, an
alert when a lower band converts better than a higher one, the funnel lead → MQL → SQL → won
and the time to conversion. Pure, so every number can be checked by hand in a unit test."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from statistics import median

DAY = 86_400_000_000
"""A day in microseconds."""
Z95 = 1.959963984540054
"""The standard normal quantile of 0.975: a two-sided 95 % interval."""
MIN_LEADS = 30
"""The fewest leads a band needs before its rate is compared with another's."""
TUNING = "the model needs tuning — see `leadscore suggest`"
CRM_LATER = ("opportunity", "customer")
"""Stages people or the CRM set after the model's last one: a lead there passed them all."""
WON = "won"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class LeadFacts:
    """What analytics needs of one lead (times in epoch microseconds)."""

    score: float
    tier: str | None
    created_at: int
    converted_at: int | None = None
    lost_at: int | None = None
    value: float | None = None
    reached: Mapping[str, int] = field(default_factory=dict)
    """Each stage the lead's score history showed, with the first time it did."""
    started_at: int | None = None
    """When the lead first existed for us: its creation or its first event, if earlier."""

    @property
    def start(self) -> int:
        return self.created_at if self.started_at is None else min(self.started_at, self.created_at)


@dataclass(frozen=True, slots=True)
class Band:
    """A range of scores [low, high) (the top band includes its high), or a tier."""

    label: str
    low: float
    high: float | None


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion: unlike p ± z·se it stays inside [0, 1] and
    is honest for small counts and rates near 0 or 1 (8/10 → [0.490, 0.943])."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def score_bands(scores: Iterable[float], width: float = 10.0) -> list[Band]:
    """Bands of `width` points from 0 (or below, for a negative score) to 100 (or above, for
    a model that sums points): 100 itself falls in the top band [90, 100]."""
    values = list(scores)
    low = min([0.0, *values])
    high = max([100.0, *values])
    start = math.floor(low / width) * width
    top = math.ceil(high / width) * width
    bands = []
    edge = start
    while edge < top:
        bands.append(Band(f"{_number(edge)}–{_number(edge + width)}", edge, edge + width))
        edge += width
    return bands


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def band_index(bands: Sequence[Band], score: float) -> int:
    """The band holding `score` (contiguous bands, lowest first: the first below whose upper
    edge it lies; the last band includes its upper edge)."""
    for i, band in enumerate(bands):
        if band.high is None or score < band.high:
            return i
    return len(bands) - 1


def tier_bands(tiers: Mapping[str, float], seen: Iterable[str | None] = ()) -> list[Band]:
    """The model's tiers from the lowest threshold up, then tiers it no longer has (a lead
    scored by an older model) by name, then leads with no tier."""
    ordered = sorted(tiers.items(), key=lambda item: item[1])
    bands = [
        Band(name, threshold, ordered[i + 1][1] if i + 1 < len(ordered) else None)
        for i, (name, threshold) in enumerate(ordered)
    ]
    extra = sorted({t for t in seen if t is not None and t not in tiers})
    bands += [Band(name, math.nan, None) for name in extra]
    return bands


# --- distribution ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bin:
    label: str
    low: float
    high: float | None
    leads: int
    share: float


@dataclass(frozen=True, slots=True)
class ScoreCount:
    """The leads sharing one score and tier: how many, how many converted, how many were
    lost and never converted. What the store counts in SQL (GROUP BY score, tier), so that a
    million leads arrive as a few thousand rows; exact, since bands are cut here."""

    score: float
    tier: str | None
    leads: int
    converted: int = 0
    lost: int = 0


def count_facts(facts: Iterable[LeadFacts]) -> list[ScoreCount]:
    """`facts` grouped by score and tier, as the store counts them."""
    found: dict[tuple[float, str | None], list[int]] = {}
    for fact in facts:
        row = found.setdefault((fact.score, fact.tier), [0, 0, 0])
        row[0] += 1
        if fact.converted_at is not None:
            row[1] += 1
        elif fact.lost_at is not None:
            row[2] += 1
    return [ScoreCount(score, tier, *row) for (score, tier), row in found.items()]


def distribution(facts: Sequence[LeadFacts], width: float = 10.0) -> list[Bin]:
    """How many leads score in each `width`-point bin, and their share of all."""
    return distribution_of(count_facts(facts), width)


def distribution_of(counts: Sequence[ScoreCount], width: float = 10.0) -> list[Bin]:
    bands = score_bands((c.score for c in counts), width)
    per_band = [0] * len(bands)
    for count in counts:
        per_band[band_index(bands, count.score)] += count.leads
    total = sum(per_band)
    return [
        Bin(b.label, b.low, b.high, n, n / total if total else 0.0)
        for b, n in zip(bands, per_band, strict=True)
    ]


# --- conversion -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rate:
    """A band's leads, how many converted or were lost, and the conversion rate with its
    95 % Wilson interval (None with no leads)."""

    label: str
    low: float | None
    high: float | None
    leads: int
    converted: int
    lost: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True, slots=True)
class Inversion:
    """A lower band converting better than a higher one, both with at least MIN_LEADS."""

    by: str  # "band" or "tier"
    lower: str
    higher: str
    lower_rate: float
    higher_rate: float
    overlap: bool
    """Whether their intervals overlap: if so, the inversion may be chance."""


@dataclass(frozen=True, slots=True)
class Conversion:
    bands: list[Rate]
    tiers: list[Rate]
    inversions: list[Inversion]

    @property
    def alert(self) -> str | None:
        return TUNING if self.inversions else None


def _rate(band: Band, members: Sequence[ScoreCount]) -> Rate:
    n = sum(c.leads for c in members)
    converted = sum(c.converted for c in members)
    lost = sum(c.lost for c in members)
    low, high = wilson(converted, n) if n else (None, None)
    return Rate(
        band.label,
        None if math.isnan(band.low) else band.low,
        band.high,
        n,
        converted,
        lost,
        converted / n if n else None,
        low,
        high,
    )


def conversion(
    facts: Sequence[LeadFacts], tiers: Mapping[str, float], width: float = 10.0
) -> Conversion:
    """Conversion by `width`-point score band and by tier (a lead converted if it has a
    converted outcome; lost counts the lost that never converted), with the inversions."""
    return conversion_of(count_facts(facts), tiers, width)


def conversion_of(
    counts: Sequence[ScoreCount], tiers: Mapping[str, float], width: float = 10.0
) -> Conversion:
    bands = score_bands((c.score for c in counts), width)
    by_band: list[list[ScoreCount]] = [[] for _ in bands]
    for count in counts:
        by_band[band_index(bands, count.score)].append(count)
    band_rates = [_rate(b, m) for b, m in zip(bands, by_band, strict=True)]
    tiered = tier_bands(tiers, (c.tier for c in counts))
    tier_rates = [_rate(b, [c for c in counts if c.tier == b.label]) for b in tiered]
    none = [c for c in counts if c.tier is None]
    if none:
        tier_rates.append(_rate(Band("(none)", math.nan, None), none))
    ranked_tiers = [r for r, b in zip(tier_rates, tiered, strict=False) if b.label in tiers]
    found = inversions("band", band_rates) + inversions("tier", ranked_tiers)
    return Conversion(band_rates, tier_rates, found)


def inversions(by: str, ordered: Sequence[Rate], least: int = MIN_LEADS) -> list[Inversion]:
    """Every pair of rows, lowest first in `ordered`, where the lower converts better while
    both have at least `least` leads; `overlap` says whether their intervals overlap."""
    found = []
    for i, lower in enumerate(ordered):
        for higher in ordered[i + 1 :]:
            if lower.leads < least or higher.leads < least:
                continue
            assert lower.rate is not None and higher.rate is not None
            if lower.rate > higher.rate:
                assert lower.ci_low is not None and higher.ci_high is not None
                overlap = lower.ci_low <= higher.ci_high
                found.append(
                    Inversion(by, lower.label, higher.label, lower.rate, higher.rate, overlap)
                )
    return found


# --- funnel ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """A funnel stage: leads that reached it (or any later one), the rate from the stage
    before and from the top, and the median days from the stage before (over the leads whose
    two times are both known, in order)."""

    stage: str
    leads: int
    rate_from_previous: float | None
    rate_from_top: float | None
    median_days: float | None
    timed: int


def funnel_stages(model_stages: Sequence[str]) -> list[str]:
    """The model's stages in forward order (its list read bottom-up), disqualified left out,
    then won."""
    forward = [s for s in reversed(model_stages) if s != "disqualified"]
    unique = list(dict.fromkeys(forward))
    return [*unique, WON]


def reached_at(fact: LeadFacts, stages: Sequence[str], index: int) -> tuple[bool, int | None]:
    """(whether the lead reached stage `index` of `stages`, and when, if known). The first
    stage is its start; a later one, the first time the history showed it or a stage further
    along (or a CRM stage after the model's); won, its first converted outcome. A lead that
    converted passed every stage, even when its history never showed them."""
    if index == 0:
        return True, fact.start
    if stages[index] == WON:
        return fact.converted_at is not None, fact.converted_at
    later = [*stages[index:-1], *CRM_LATER]
    times = [fact.reached[s] for s in later if s in fact.reached]
    if times:
        return True, min(times)
    return fact.converted_at is not None, None


def funnel(facts: Sequence[LeadFacts], model_stages: Sequence[str]) -> list[Step]:
    stages = funnel_stages(model_stages)
    steps: list[Step] = []
    top = len(facts)
    for index, stage in enumerate(stages):
        count = 0
        days: list[float] = []
        for fact in facts:
            ok, at = reached_at(fact, stages, index)
            if not ok:
                continue
            count += 1
            if index == 0 or at is None:
                continue
            _, before = reached_at(fact, stages, index - 1)
            if before is not None and at >= before:
                days.append((at - before) / DAY)
        previous = steps[-1].leads if steps else None
        steps.append(
            Step(
                stage,
                count,
                None if not previous else count / previous,
                count / top if top else None,
                median(days) if days else None,
                len(days),
            )
        )
    return steps


# --- time to conversion ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Timing:
    """The converted leads of a band and the median, first and third quartile of the days
    from their start to their first conversion (conversions dated before the start left
    out, counted in `undated`)."""

    label: str
    low: float
    high: float | None
    converted: int
    median_days: float | None
    q1_days: float | None
    q3_days: float | None
    undated: int


def _quartiles(values: Sequence[float]) -> tuple[float, float, float] | None:
    if not values:
        return None
    ordered = sorted(values)
    half = len(ordered) // 2
    lower = ordered[:half] if len(ordered) > 1 else ordered
    upper = ordered[half + len(ordered) % 2 :] if len(ordered) > 1 else ordered
    return median(lower), median(ordered), median(upper)


def time_to_conversion(
    facts: Sequence[LeadFacts], width: float = 10.0, bands: Sequence[Band] | None = None
) -> list[Timing]:
    """Days from a lead's start to its first converted outcome, by score band (`bands`: those
    of all the period's leads, when `facts` hold only the converted ones)."""
    bands = list(bands) if bands is not None else score_bands((f.score for f in facts), width)
    days: list[list[float]] = [[] for _ in bands]
    undated = [0] * len(bands)
    for fact in facts:
        if fact.converted_at is None:
            continue
        i = band_index(bands, fact.score)
        if fact.converted_at < fact.start:
            undated[i] += 1
        else:
            days[i].append((fact.converted_at - fact.start) / DAY)
    rows = []
    for band, values, skipped in zip(bands, days, undated, strict=True):
        q = _quartiles(values)
        rows.append(
            Timing(
                band.label,
                band.low,
                band.high,
                len(values) + skipped,
                None if q is None else q[1],
                None if q is None else q[0],
                None if q is None else q[2],
                skipped,
            )
        )
    return rows


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
