"""The dashboard's evidence that the model works, computed from plain facts about leads:
the score distribution, conversion by score band and by tier with 95 % Wilson intervals, an
alert when a lower band converts better than a higher one, the funnel lead → MQL → SQL → won
and the time to conversion. Pure, so every number can be checked by hand in a unit test."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
