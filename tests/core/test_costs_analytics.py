"""The money figures and the calibration (core/analytics_money.py, core/money.py), worked out by
hand: attribution by source and campaign, cost per lead and per conversion, ROI only in the
revenue's currency, lifetime value, deciles of predicted probability and their ECE."""

from __future__ import annotations

from decimal import Decimal

import pytest

from leadscore.core import analytics as a
from leadscore.core import analytics_money as money_core
from leadscore.core import money
from leadscore.core.timestamps import parse_instant

GROUPS = [
    money_core.Attribution("ads", "spring", leads=100, converted=10, revenue=5000.0, valued=8),
    money_core.Attribution("ads", None, leads=50, converted=5, revenue=1000.0, valued=5),
    money_core.Attribution("seo", None, leads=40, converted=0, revenue=0.0, valued=0),
    money_core.Attribution(None, None, leads=2, converted=1, revenue=0.0, valued=0),
]
COSTS = [
    money_core.CostTotal("ads", "spring", "EUR", 300_000),  # 3,000.00 EUR
    money_core.CostTotal("ads", None, "EUR", 150_000),  # 1,500.00 EUR beyond the campaigns
    money_core.CostTotal("ads", None, "PLN", 40_000),  # 400.00 PLN: never added to euros
    money_core.CostTotal("events", "fair", "EUR", 20_000),  # a source with costs and no leads
]


def test_sources_and_campaigns_with_costs_per_currency_and_roi() -> None:
    sources, campaigns = money_core.by_source(GROUPS, COSTS, "EUR")
    rows = {r.source: r for r in sources}
    assert [r.source for r in sources] == ["ads", "seo", "(none)", "events"]
    ads = rows["ads"]
    assert (ads.leads, ads.converted, ads.revenue, ads.rate) == (150, 15, 6000.0, 0.1)
    eur, pln = ads.costs
    # every ads cost row counts for the source: 3,000 for the campaign + 1,500 beyond it
    assert (eur.currency, eur.cost, eur.cost_per_lead, eur.cost_per_conversion) == (
        "EUR",
        4500.0,
        30.0,
        300.0,
    )
    assert eur.roi == pytest.approx((6000 - 4500) / 4500)
    assert (pln.currency, pln.cost, pln.roi) == ("PLN", 400.0, None)  # no FX: no ROI
    assert rows["seo"].costs == [] and rows["seo"].rate == 0.0
    events = rows["events"]
    assert (events.leads, events.rate, events.costs[0].cost_per_lead) == (0, None, None)
    spring = next(c for c in campaigns if c.campaign == "spring")
    assert (spring.leads, spring.costs[0].cost, spring.costs[0].cost_per_conversion) == (
        100,
        3000.0,
        300.0,
    )
    assert spring.costs[0].roi == pytest.approx((5000 - 3000) / 3000)
    assert {(c.source, c.campaign) for c in campaigns} == {("ads", "spring"), ("events", "fair")}


def test_roi_in_another_revenue_currency_is_none() -> None:
    sources, _ = money_core.by_source(GROUPS, COSTS, "PLN")
    ads = next(r for r in sources if r.source == "ads")
    assert [(c.currency, c.roi is None) for c in ads.costs] == [("EUR", True), ("PLN", False)]
    assert ads.costs[1].roi == pytest.approx((6000 - 400) / 400)


def test_lifetime_value_is_revenue_per_valued_customer() -> None:
    rows, total = money_core.lifetime_value(GROUPS, "EUR")
    assert [(r.source, r.customers, r.valued, r.lifetime_value) for r in rows] == [
        ("ads", 15, 13, 6000.0 / 13),
        ("(none)", 1, 0, None),  # a customer with no value: unknown, not zero
    ]
    assert (total.customers, total.valued, total.revenue) == (16, 13, 6000.0)
    assert total.lifetime_value == pytest.approx(6000.0 / 13)


def test_calibration_deciles_and_ece() -> None:
    # 20 leads: predictions 0.05 (10 leads, 1 converted) and 0.5 (10 leads, 5 converted)
    pairs = [(0.05, i == 0) for i in range(10)] + [(0.5, i < 5) for i in range(10)]
    found = money_core.calibration(pairs, groups=2)
    assert [(b.leads, b.converted, b.observed) for b in found.bins] == [(10, 1, 0.1), (10, 5, 0.5)]
    assert [b.predicted for b in found.bins] == pytest.approx([0.05, 0.5])
    assert found.ece == pytest.approx(0.5 * 0.05 + 0.5 * 0.0)
    low, high = a.wilson(1, 10)
    assert (found.bins[0].ci_low, found.bins[0].ci_high) == (low, high)


def test_calibration_deciles_hold_every_lead_once() -> None:
    pairs = [(i / 23, i % 3 == 0) for i in range(23)]
    found = money_core.calibration(pairs)
    assert [b.leads for b in found.bins] == [3, 3, 3, 2, 2, 2, 2, 2, 2, 2]  # as NTILE(10)
    assert sum(b.converted for b in found.bins) == 8
    assert found.bins[0].low == 0.0 and found.bins[-1].high == 22 / 23
    assert money_core.calibration([]).ece is None and money_core.calibration([]).bins == []


def test_predicted_probability_from_an_explanation() -> None:
    line = {"kind": "predictive", "id": "model:p", "raw": 0.42, "score": 8.4}
    assert money_core.predicted_probability([{"kind": "rule", "raw": 3}, line]) == 0.42
    assert money_core.predicted_probability([{"kind": "rule", "raw": 3}]) is None
    assert money_core.predicted_probability(None) is None


def test_months_of_a_period() -> None:
    start, end = parse_instant("2026-01-15"), parse_instant("2026-03-01")
    assert money_core.months_of(start, end) == ("2026-01", "2026-02")  # the end is excluded
    assert money_core.months_of(parse_instant("0001-01-01"), parse_instant("0001-01-02")) == (
        "0001-01",
        "0001-01",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1234.5", Decimal("1234.5")), ("0", Decimal(0)), (99, Decimal(99)), (2.0, Decimal(2))],
)
def test_amounts_read_exactly(text: object, expected: Decimal) -> None:
    assert money.parse_amount(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1.234", "at most 2"),
        ("-5", "no sign"),
        ("1,234.50", "thousands"),
        (0.1, "integer or a text"),
        (True, "integer or a text"),
        (10**12, "between 0 and"),
    ],
)
def test_bad_amounts_say_why(text: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        money.parse_amount(text)


def test_currencies_and_months() -> None:
    assert money.parse_currency("RSD") == "RSD"
    with pytest.raises(ValueError, match="EUR, PLN, RON, RSD, USD"):
        money.parse_currency("GBP")
    assert money.parse_month("2026-12") == "2026-12"
    with pytest.raises(ValueError, match="YYYY-MM"):
        money.parse_month("2026-13")
    assert money.to_minor(Decimal("12.3")) == 1230 and money.from_minor(1230) == Decimal("12.3")
