"""Analytics' pure computations on hand-built leads: the Wilson interval against published
values, bands and their edges, conversion by band and tier, the inversion alert, the funnel's
counts and medians, and the time to conversion."""

from __future__ import annotations

import pytest

from leadscore.core import analytics as a
from leadscore.core.analytics import DAY, LeadFacts

TIERS = {"hot": 70.0, "warm": 40.0, "cold": 0.0}
STAGES = ["disqualified", "sql", "mql", "lead"]


def test_wilson_matches_known_values() -> None:
    low, high = a.wilson(8, 10)
    assert (round(low, 3), round(high, 3)) == (0.490, 0.943)
    low, high = a.wilson(0, 10)  # never below 0, and not a zero-width interval
    assert low == 0.0 and round(high, 4) == 0.2775
    low, high = a.wilson(10, 10)
    assert round(low, 4) == 0.7225 and high == pytest.approx(1.0)
    assert a.wilson(0, 0) == (0.0, 1.0)


def test_bands_cover_0_to_100_with_100_in_the_top_band() -> None:
    bands = a.score_bands([5.0, 100.0])
    assert [b.label for b in bands][:2] == ["0–10", "10–20"] and len(bands) == 10
    assert a.band_index(bands, 100.0) == 9 and a.band_index(bands, 90.0) == 9
    assert a.band_index(bands, 89.999) == 8 and a.band_index(bands, 0.0) == 0
    wide = a.score_bands([-3.0, 131.0])  # a model that sums points
    assert wide[0].low == -10 and wide[-1].high == 140


def test_distribution_counts_and_shares() -> None:
    facts = [LeadFacts(s, None, 0) for s in (1, 5, 15, 99, 100)]
    bins = a.distribution(facts)
    assert [b.leads for b in bins] == [2, 1, 0, 0, 0, 0, 0, 0, 0, 2]
    assert bins[0].share == 0.4 and sum(b.share for b in bins) == pytest.approx(1)


def _leads(score: float, tier: str, n: int, converted: int, lost: int = 0) -> list[LeadFacts]:
    out = []
    for i in range(n):
        won = i < converted
        out.append(
            LeadFacts(
                score,
                tier,
                created_at=0,
                converted_at=10 * DAY if won else None,
                lost_at=5 * DAY if not won and i < converted + lost else None,
            )
        )
    return out


def test_conversion_by_band_and_tier_with_intervals() -> None:
    facts = _leads(85, "hot", 10, 8) + _leads(45, "warm", 20, 5, 3) + _leads(5, "cold", 4, 0)
    found = a.conversion(facts, TIERS)
    hot_band = found.bands[8]
    assert (hot_band.label, hot_band.leads, hot_band.converted, hot_band.rate) == (
        "80–90",
        10,
        8,
        0.8,
    )
    assert (round(hot_band.ci_low, 3), round(hot_band.ci_high, 3)) == (0.490, 0.943)
    assert found.bands[4].lost == 3 and found.bands[4].rate == 0.25
    assert found.bands[1].leads == 0 and found.bands[1].rate is None
    assert [t.label for t in found.tiers] == ["cold", "warm", "hot"]
    assert [t.converted for t in found.tiers] == [0, 5, 8]
    assert found.inversions == [] and found.alert is None  # too few leads to compare anyway


def test_an_inversion_between_big_enough_bands_raises_the_alert() -> None:
    # warm (40–50) converts 15/30, [0.332, 0.668], hot (80–90) 3/30, [0.035, 0.256]: an
    # inversion with separate intervals; cold (0–10) 20/29 converts best but has too few
    # leads to be compared.
    facts = _leads(45, "warm", 30, 15) + _leads(85, "hot", 30, 3) + _leads(5, "cold", 29, 20)
    found = a.conversion(facts, TIERS)
    assert found.alert == a.TUNING and "leadscore suggest" in found.alert
    by_band = [i for i in found.inversions if i.by == "band"]
    assert [(i.lower, i.higher) for i in by_band] == [("40–50", "80–90")]
    assert by_band[0].lower_rate == 0.5 and by_band[0].higher_rate == 0.1
    assert by_band[0].overlap is False
    by_tier = [(i.lower, i.higher, i.overlap) for i in found.inversions if i.by == "tier"]
    assert by_tier == [("warm", "hot", False)]


def test_overlapping_intervals_are_said_so() -> None:
    """12/30 [0.246, 0.577] above 10/30 [0.192, 0.512]: inverted, but perhaps by chance."""
    facts = _leads(45, "warm", 30, 12) + _leads(85, "hot", 30, 10)
    (inversion,) = [i for i in a.conversion(facts, TIERS).inversions if i.by == "band"]
    assert inversion.overlap is True


def test_funnel_counts_rates_and_median_days() -> None:
    facts = [
        # a lead that never moved
        LeadFacts(10, "cold", created_at=0),
        # MQL after 2 days, SQL 3 days later, won 5 days later
        LeadFacts(
            80, "hot", 0, converted_at=10 * DAY, reached={"lead": 0, "mql": 2 * DAY, "sql": 5 * DAY}
        ),
        # MQL after 4 days, SQL 1 day later, not won
        LeadFacts(75, "hot", 0, reached={"mql": 4 * DAY, "sql": 5 * DAY}),
        # straight to SQL after 6 days (counts as MQL then too), won after 7 more
        LeadFacts(90, "hot", 0, converted_at=13 * DAY, reached={"sql": 6 * DAY}),
        # MQL after 8 days only
        LeadFacts(55, "warm", 0, reached={"mql": 8 * DAY}),
        # won through the CRM with no stage in its history: passed every stage, times unknown
        LeadFacts(30, "cold", 0, converted_at=3 * DAY),
    ]
    steps = a.funnel(facts, STAGES)
    assert [s.stage for s in steps] == ["lead", "mql", "sql", "won"]
    assert [s.leads for s in steps] == [6, 5, 4, 3]
    assert steps[0].rate_from_previous is None and steps[0].rate_from_top == 1
    assert steps[1].rate_from_previous == pytest.approx(5 / 6)
    assert steps[3].rate_from_previous == pytest.approx(3 / 4)
    assert steps[3].rate_from_top == pytest.approx(3 / 6)
    # lead → MQL: 2, 4, 6, 8 days → 5; MQL → SQL: 3, 1, 0 → 1; SQL → won: 5, 7 → 6
    assert [(s.median_days, s.timed) for s in steps] == [(None, 0), (5, 4), (1, 3), (6, 2)]


def test_the_funnel_counts_crm_stages_as_past_the_model() -> None:
    facts = [LeadFacts(60, "warm", 0, reached={"customer": 9 * DAY})]
    steps = a.funnel(facts, STAGES)
    assert [s.leads for s in steps] == [1, 1, 1, 0]
    assert steps[1].median_days == 9 and steps[2].median_days == 0


def test_time_to_conversion_by_band() -> None:
    facts = [LeadFacts(85, "hot", 0, converted_at=d * DAY) for d in (1, 2, 3, 10)] + [
        LeadFacts(45, "warm", 5 * DAY, converted_at=20 * DAY),  # 15 days
        # its first event came 5 days before it was created in leadscore: 20 days
        LeadFacts(45, "warm", 5 * DAY, converted_at=20 * DAY, started_at=0),
        LeadFacts(45, "warm", 5 * DAY, converted_at=DAY),  # before its start: undated
        LeadFacts(45, "warm", 0),  # not converted
    ]
    rows = a.time_to_conversion(facts)
    hot, warm = rows[8], rows[4]
    assert (hot.converted, hot.median_days, hot.q1_days, hot.q3_days) == (4, 2.5, 1.5, 6.5)
    assert (warm.converted, warm.median_days, warm.undated) == (3, 17.5, 1)
    assert rows[0].converted == 0 and rows[0].median_days is None
