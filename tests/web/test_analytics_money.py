"""The money figures, the calibration and the model-version choice over a real socket on
SQLite and PostgreSQL: /api/v1/analytics/{sources,lifetime-value,calibration} as JSON and
CSV, `version` on every figure, and the /analytics page's new tables, on a hand-made set
whose numbers are worked out below.

Created on T0 = 2026-01-10 (period 2026-01-01 … 2026-01-31), scored by version 2, which
blends a predictive model (the probability in each explanation's `predictive` line):
- leads 1–10: source ads, campaign spring, score 85, p = 0.8; 1–4 converted, worth 1000,
  2000, 500 + 500 (two conversions) and no value; version 1 had scored them 25.
- leads 11–20: source ads, no campaign, score 45, p = 0.1; lead 11 converted, worth 300.
- leads 21–25: source seo, score 5, p = 0.05; none converted.
Costs: ads/spring 2026-01 1000.00 EUR, ads 2026-01 500.00 EUR, ads 2026-02 9999 EUR (a month
outside the period), seo 2026-01 200.00 PLN. Revenue is in EUR (the default setting).
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from sqlalchemy import null
from tests.api.conftest import MODEL
from tests.web.conftest import Web

from leadscore.core import analytics_money as money_core
from leadscore.core.timestamps import parse_instant
from leadscore.store.tables import leads, model_versions, outcomes, score_history

DAY = 86_400_000_000
T0 = parse_instant("2026-01-10")
PERIOD = {"from": "2026-01-01", "to": "2026-01-31"}
DATA = re.compile(r'<script type="application/json" id="analytics-data">(.*?)</script>', re.S)
BLENDED = MODEL + "predictive: {model: 1, weight: 0.3}\n"
COSTS = [
    {"source": "ads", "campaign": "spring", "month": "2026-01", "amount": "1000.00",
     "currency": "EUR"},
    {"source": "ads", "month": "2026-01", "amount": "500", "currency": "EUR"},
    {"source": "ads", "month": "2026-02", "amount": "9999", "currency": "EUR"},
    {"source": "seo", "month": "2026-01", "amount": "200", "currency": "PLN"},
]  # fmt: skip


def _lead(pk: int, source: str, campaign: str | None, score: float, p: float) -> dict:
    return {
        "pk": pk,
        "id": f"l{pk}",
        "external_ids": {},
        "attributes": {"source": source, **({"campaign": campaign} if campaign else {})},
        "source": source,
        "score": score,
        "tier": "hot" if score >= 70 else "warm" if score >= 40 else "cold",
        "stage": "lead",
        "model_version": 2,
        "explanation": [
            {"kind": "rule", "id": "sw", "score": score},
            {"kind": "predictive", "id": "model:1", "raw": p, "capped": p, "score": 30 * p},
        ],
        "created_at": T0,
        "updated_at": T0,
    }


def _history(pk: int, score: float, version: int, at: int) -> dict:
    return {
        "lead_pk": pk,
        "at": at,
        "score": score,
        "fit": 0.0,
        "engagement": 0.0,
        "tier": "hot" if score >= 70 else "warm" if score >= 40 else "cold",
        "stage": "lead",
        "model_version": version,
        "cause_kind": "model",
    }


def _won(pk: int, value: float | None, days: int = 5) -> dict:
    at = T0 + days * DAY
    return {"lead_pk": pk, "outcome": "converted", "occurred_at": at, "value": value,
            "created_at": at}  # fmt: skip


def load(web: Web) -> list[tuple[float, bool]]:
    """The data above; the (probability, converted) pairs in lead order."""
    web.api.model()  # version 1, active
    rows = [_lead(pk, "ads", "spring", 85, 0.8) for pk in range(1, 11)]
    rows += [_lead(pk, "ads", None, 45, 0.1) for pk in range(11, 21)]
    rows += [_lead(pk, "seo", None, 5, 0.05) for pk in range(21, 26)]
    history = [_history(pk, 25, 1, T0) for pk in range(1, 11)]
    history += [_history(r["pk"], r["score"], 2, T0 + DAY) for r in rows]
    won = [_won(1, 1000), _won(2, 2000), _won(3, 500), _won(3, 500, 9), _won(4, None)]
    won.append(_won(11, 300))
    with web.server.ctx.db.write() as conn:
        conn.execute(model_versions.update().values(active=False))
        conn.execute(
            model_versions.insert().values(
                version=2, name="blended", yaml=BLENDED, created_at=T0, active=True
            )
        )
        conn.execute(leads.insert(), rows)
        conn.execute(score_history.insert(), history)
        conn.execute(outcomes.insert(), won)
    stored = web.api.writer.put("/costs", json={"costs": COSTS})
    assert stored.status_code == 200, stored.text
    converted = {1, 2, 3, 4, 11}
    return [(r["explanation"][1]["raw"], r["pk"] in converted) for r in rows]


def test_sources_campaigns_costs_and_roi(web: Web) -> None:
    load(web)
    data = web.api.get("/analytics/sources", **PERIOD)
    assert data["revenue_currency"] == "EUR" and data["leads"] == 25
    assert data["cost_months"] == {"from": "2026-01", "to": "2026-01"}
    src = {r["source"]: r for r in data["sources"]}
    ads = src["ads"]
    assert (ads["leads"], ads["converted"], ads["revenue"]) == (20, 5, 4300.0)
    assert ads["costs"] == [
        {
            "currency": "EUR",
            "cost": 1500.0,  # 1000 for spring + 500 beyond it; February's 9999 is outside
            "cost_per_lead": 75.0,
            "cost_per_conversion": 300.0,
            "roi": pytest.approx((4300 - 1500) / 1500),
        }
    ]
    seo = src["seo"]["costs"][0]
    assert (seo["currency"], seo["cost_per_lead"], seo["cost_per_conversion"], seo["roi"]) == (
        "PLN",
        40.0,
        None,
        None,  # PLN costs against EUR revenue: no ROI without exchange rates
    )
    (spring,) = data["campaigns"]
    assert (spring["campaign"], spring["leads"], spring["converted"], spring["revenue"]) == (
        "spring",
        10,
        4,
        4000.0,
    )
    assert spring["costs"][0]["cost_per_conversion"] == 250.0 and spring["costs"][0]["roi"] == 3.0

    february = web.api.get("/analytics/sources", **{"from": "2026-01-01", "to": "2026-02-28"})
    assert february["cost_months"] == {"from": "2026-01", "to": "2026-02"}
    assert next(r for r in february["sources"] if r["source"] == "ads")["costs"][0]["cost"] == (
        1500.0 + 9999.0
    )

    reply = web.api.reader.get("/analytics/sources", params={**PERIOD, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    assert [(r["by"], r["source"], r["campaign"], r["cost_currency"], r["cost"]) for r in rows] == [
        ("source", "ads", "", "EUR", "1500.0"),
        ("source", "seo", "", "PLN", "200.0"),
        ("campaign", "ads", "spring", "EUR", "1000.0"),
    ]


def test_lifetime_value(web: Web) -> None:
    load(web)
    data = web.api.get("/analytics/lifetime-value", **PERIOD)
    (ads,) = data["sources"]  # seo has no customers
    assert (ads["customers"], ads["valued"], ads["revenue"], ads["lifetime_value"]) == (
        5,
        4,  # lead 4's conversion has no value: unknown, not zero
        4300.0,
        4300.0 / 4,
    )
    assert data["total"]["customers"] == 5 and data["total"]["currency"] == "EUR"
    reply = web.api.reader.get("/analytics/lifetime-value", params={**PERIOD, "format": "csv"})
    assert len(reply.text.splitlines()) == 3  # header, ads, the total


def test_calibration(web: Web) -> None:
    pairs = load(web)
    data = web.api.get("/analytics/calibration", **PERIOD)
    assert data["leads"] == 25 and data["reason"] is None and data["without_probability"] == 0
    assert [b["leads"] for b in data["bins"]] == [3, 3, 3, 3, 3, 2, 2, 2, 2, 2]
    assert sum(b["converted"] for b in data["bins"]) == 5
    assert [data["bins"][0]["predicted"], data["bins"][-1]["predicted"]] == pytest.approx(
        [0.05, 0.8]
    )
    assert data["ece"] == pytest.approx(money_core.calibration(pairs).ece)
    recorded = web.api.get("/analytics/calibration", **PERIOD, version=1)
    assert recorded["bins"] == [] and recorded["reason"] == "current_only"
    with web.server.ctx.db.write() as conn:  # what a bulk recompute leaves: no explanation
        conn.execute(leads.update().where(leads.c.pk <= 5).values(explanation=null()))
    fewer = web.api.get("/analytics/calibration", **PERIOD)
    assert (fewer["leads"], fewer["without_probability"]) == (20, 5)


def test_version_judges_the_scores_recorded_under_it(web: Web) -> None:
    load(web)
    now = web.api.get("/analytics/distribution", **PERIOD)
    assert (now["scores"], now["model_version"], now["leads"]) == ("current", 2, 25)
    old = web.api.get("/analytics/distribution", **PERIOD, version=1)
    assert (old["scores"], old["model_version"], old["leads"]) == ("recorded", 1, 10)
    assert {b["label"]: b["leads"] for b in old["bins"]}["20–30"] == 10
    conv = web.api.get("/analytics/conversion", **PERIOD, version=1)
    cold = next(t for t in conv["tiers"] if t["label"] == "cold")
    assert (cold["leads"], cold["converted"]) == (10, 4)
    assert web.api.get("/analytics/sources", **PERIOD, version=1)["leads"] == 10
    two = web.api.get("/analytics/distribution", **PERIOD, version=2)
    assert two["leads"] == 25
    missing = web.api.reader.get("/analytics/funnel", params={**PERIOD, "version": 99})
    assert missing.status_code == 404 and "99" in missing.json()["detail"]


def test_the_page_shows_money_ltv_calibration_and_the_version_choice(web: Web) -> None:
    load(web)
    browser = web.as_role("viewer")
    text = browser.http.get("/analytics", params=PERIOD).text
    assert "€1,500.00" in text and "€75.00" in text and "€300.00" in text  # ads
    assert "PLN" in text and "187%" in text  # (4300 − 1500) / 1500 = 186.7 %
    assert "€1,075.00" in text  # the lifetime value
    assert 'id="calibration"' in text and "Expected calibration error" in text
    assert '<option value="1">As last scored by model version 1</option>' in text
    assert 'href="/analytics/sources.csv?from=2026-01-01&amp;to=2026-01-31"' in text
    charts = json.loads(DATA.search(text).group(1))
    assert charts["sources"]["labels"] == ["ads", "seo"]
    assert charts["sources"]["converted"] == [5, 0]
    assert charts["calibration"]["predicted"][-1] == 80.0

    old = browser.http.get("/analytics", params={**PERIOD, "version": "1"}).text
    assert '<option value="1" selected>' in old and "that model version 1 scored" in old
    assert 'href="/analytics/sources.csv?from=2026-01-01&amp;to=2026-01-31&amp;version=1"' in old
    assert 'id="calibration-note"' in old
    download = browser.http.get("/analytics/distribution.csv", params={**PERIOD, "version": "1"})
    assert download.status_code == 200 and ",10," in download.text

    for bad in ("x", "99"):
        page = browser.http.get("/analytics", params={**PERIOD, "version": bad})
        assert page.status_code == 200 and 'class="error" role="alert"' in page.text, bad
