"""Analytics over a real socket, on SQLite and PostgreSQL: the four JSON figures and their CSV
under /api/v1/analytics, and the /analytics page with its tables, alert and CSV downloads, on
a hand-made set of leads whose every number is worked out below.

The set (the test model: tiers hot 70, warm 40, cold 0; stages lead → mql → sql), created
on T0 = 2026-01-10, in the period 2026-01-01 … 2026-01-31:
- 30 hot leads scoring 85: mql at T0+1d, sql at T0+3d; leads 0, 1, 2 converted at T0+2d,
  +4d, +6d (lead 0 converted again at T0+20d: counted once, the first); lead 0's first event
  came at T0−2d, so it started then.
- 30 warm leads scoring 45: 0–19 mql at T0+2d, 20–29 never left lead; 0–14 converted at
  T0+10d; 15–19 lost at T0+5d.
- 4 cold leads scoring 5, never moved.
Left out: a hot lead created in 2025 and a lead never scored.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from tests.web.conftest import Web

from leadscore.core.timestamps import parse_instant
from leadscore.store.tables import event_types, events, leads, outcomes, score_history

DAY = 86_400_000_000
T0 = parse_instant("2026-01-10")
PERIOD = {"from": "2026-01-01", "to": "2026-01-31"}
DATA = re.compile(r'<script type="application/json" id="analytics-data">(.*?)</script>', re.S)


def _lead(pk: int, score: float, tier: str | None, created: int, version: int | None) -> dict:
    return {
        "pk": pk,
        "id": f"l{pk}",
        "external_ids": {},
        "attributes": {},
        "score": score,
        "tier": tier,
        "stage": "lead",
        "model_version": version,
        "created_at": created,
        "updated_at": created,
    }


def _history(pk: int, stage: str, at: int) -> dict:
    return {
        "lead_pk": pk,
        "at": at,
        "score": 0.0,
        "fit": 0.0,
        "engagement": 0.0,
        "stage": stage,
        "model_version": 1,
        "cause_kind": "event",
    }


def _outcome(pk: int, outcome: str, at: int) -> dict:
    return {"lead_pk": pk, "outcome": outcome, "occurred_at": at, "value": 100.0, "created_at": at}


def load(web: Web) -> None:
    web.api.model()  # version 1
    rows, history, done = [], [], []
    hot, warm, cold = range(1, 31), range(31, 61), range(61, 65)
    for i, pk in enumerate(hot):
        rows.append(_lead(pk, 85, "hot", T0, 1))
        history += [_history(pk, "mql", T0 + DAY), _history(pk, "sql", T0 + 3 * DAY)]
        if i < 3:
            done.append(_outcome(pk, "converted", T0 + (2 + 2 * i) * DAY))
    done.append(_outcome(1, "converted", T0 + 20 * DAY))
    for i, pk in enumerate(warm):
        rows.append(_lead(pk, 45, "warm", T0, 1))
        history.append(_history(pk, "mql" if i < 20 else "lead", T0 + (2 if i < 20 else 0) * DAY))
        if i < 15:
            done.append(_outcome(pk, "converted", T0 + 10 * DAY))
        elif i < 20:
            done.append(_outcome(pk, "lost", T0 + 5 * DAY))
    for pk in cold:
        rows.append(_lead(pk, 5, "cold", T0, 1))
        history.append(_history(pk, "lead", T0))
    rows.append(_lead(65, 95, "hot", parse_instant("2025-06-01"), 1))  # before the period
    done.append(_outcome(65, "converted", T0))
    rows.append(_lead(66, 0, None, T0, None))  # never scored
    with web.server.ctx.db.write() as conn:
        conn.execute(leads.insert(), rows)
        conn.execute(score_history.insert(), history)
        conn.execute(outcomes.insert(), done)
        type_id = conn.execute(
            event_types.insert().values(name="hand_made").returning(event_types.c.id)
        ).scalar_one()
        conn.execute(
            events.insert().values(
                event_id="e1",
                lead_pk=1,
                type_id=type_id,
                occurred_at=T0 - 2 * DAY,
                properties={},
                received_at=T0,
            )
        )


def test_the_figures_as_json(web: Web) -> None:
    load(web)
    dist = web.api.get("/analytics/distribution", **PERIOD)
    assert dist["from"] == "2026-01-01T00:00:00Z" and dist["to"] == "2026-02-01T00:00:00Z"
    assert dist["model_version"] == 1 and dist["leads"] == 64
    assert [b["leads"] for b in dist["bins"]] == [4, 0, 0, 0, 30, 0, 0, 0, 30, 0]
    assert dist["bins"][0]["share"] == 4 / 64

    conv = web.api.get("/analytics/conversion", **PERIOD)
    band = {b["label"]: b for b in conv["bands"]}
    assert (band["80–90"]["leads"], band["80–90"]["converted"], band["80–90"]["rate"]) == (
        30,
        3,
        0.1,
    )
    assert [round(band["80–90"][k], 4) for k in ("ci_low", "ci_high")] == [0.0346, 0.2562]
    assert (band["40–50"]["converted"], band["40–50"]["lost"], band["40–50"]["rate"]) == (
        15,
        5,
        0.5,
    )
    assert [round(band["40–50"][k], 4) for k in ("ci_low", "ci_high")] == [0.3315, 0.6685]
    assert band["0–10"]["leads"] == 4 and band["0–10"]["rate"] == 0
    assert band["50–60"]["rate"] is None and band["50–60"]["ci_low"] is None
    assert [(t["label"], t["leads"], t["converted"]) for t in conv["tiers"]] == [
        ("cold", 4, 0),
        ("warm", 30, 15),
        ("hot", 30, 3),
    ]
    assert conv["alert"] == "the model needs tuning — see `leadscore suggest`"
    assert [(i["by"], i["lower"], i["higher"], i["overlap"]) for i in conv["inversions"]] == [
        ("band", "40–50", "80–90", False),
        ("tier", "warm", "hot", False),
    ]

    funnel = web.api.get("/analytics/funnel", **PERIOD)["steps"]
    assert [(s["stage"], s["leads"]) for s in funnel] == [
        ("lead", 64),
        ("mql", 50),
        ("sql", 45),
        ("won", 18),
    ]
    assert funnel[1]["rate_from_previous"] == 50 / 64 and funnel[2]["rate_from_previous"] == 0.9
    assert funnel[3]["rate_from_previous"] == 0.4 and funnel[3]["rate_from_top"] == 18 / 64
    # lead → mql: 29 × 1 day, lead 0's 3 days, 20 × 2 days; mql → sql: 30 × 2 days; sql → won:
    # lead 0 converted before its sql (left out), leads 1 and 2 after 1 and 3 days.
    assert [(s["median_days"], s["timed"]) for s in funnel] == [(None, 0), (1, 50), (2, 30), (2, 2)]

    timing = {
        t["label"]: t for t in web.api.get("/analytics/time-to-conversion", **PERIOD)["bands"]
    }
    assert [timing["80–90"][k] for k in ("converted", "median_days", "q1_days", "q3_days")] == [
        3,
        4,
        4,
        6,
    ]
    assert (timing["40–50"]["converted"], timing["40–50"]["median_days"]) == (15, 10)


def test_each_figure_as_csv(web: Web) -> None:
    load(web)
    reply = web.api.reader.get("/analytics/conversion", params={**PERIOD, "format": "csv"})
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    assert list(rows[0]) == [
        "by",
        "label",
        "low",
        "high",
        "leads",
        "converted",
        "lost",
        "rate",
        "ci_low",
        "ci_high",
    ]
    warm = next(r for r in rows if r["by"] == "band" and r["label"] == "40–50")
    assert (warm["leads"], warm["converted"], warm["rate"]) == ("30", "15", "0.5")
    assert next(r for r in rows if r["label"] == "50–60")["rate"] == ""
    assert [r["label"] for r in rows if r["by"] == "tier"] == ["cold", "warm", "hot"]
    for name, count in (("distribution", 10), ("funnel", 4), ("time-to-conversion", 10)):
        reply = web.api.reader.get(f"/analytics/{name}", params={**PERIOD, "format": "csv"})
        assert reply.status_code == 200 and len(reply.text.splitlines()) == count + 1, name


def test_the_period_is_checked(web: Web) -> None:
    load(web)
    backwards = web.api.get("/analytics/funnel", **{"from": "2026-02-01", "to": "2026-01-01"})
    assert backwards["leads"] == 0  # an empty period, not an error
    assert web.api.get("/analytics/funnel", to="0001-01-01")["from"] == "0001-01-01T00:00:00Z"
    latest = web.api.get("/analytics/funnel", **{"from": "2026-01-10", "to": "9999-12-31"})
    assert latest["to"] == "9999-12-31T23:59:59.999999Z" and latest["leads"] == 64
    assert web.api.reader.get("/analytics/funnel", params={"from": "yesterday"}).status_code == 422
    assert web.api.reader.get("/analytics/funnel", params={"format": "xml"}).status_code == 422
    empty = web.api.get("/analytics/conversion", to="2025-01-01")  # 2024: nothing in it
    assert empty["leads"] == 0 and empty["alert"] is None


@pytest.mark.parametrize("name", ["distribution", "conversion", "funnel", "time-to-conversion"])
def test_a_key_is_needed(web: Web, name: str) -> None:
    import httpx

    reply = httpx.get(f"{web.server.base_url}/api/v1/analytics/{name}")
    assert reply.status_code == 401


def test_the_page_shows_every_table_and_the_alert(web: Web) -> None:
    load(web)
    browser = web.as_role("viewer")
    page = browser.http.get("/analytics", params=PERIOD)
    assert page.status_code == 200
    text = page.text
    assert 'id="inversion-alert"' in text and "leadscore suggest" in text
    assert "their 95 % intervals do not overlap" in text
    assert "50.0%" in text and "33.2% – 66.8%" in text and "3.5% – 25.6%" in text
    assert '<input id="a-from" name="from" type="date" value="2026-01-01">' in text
    assert '<input id="a-to" name="to" type="date" value="2026-01-31">' in text
    for name in ("conversion", "distribution", "funnel", "time-to-conversion"):
        assert f'href="/analytics/{name}.csv?from=2026-01-01&amp;to=2026-01-31"' in text
    charts = json.loads(DATA.search(text).group(1))
    assert charts["distribution"]["leads"] == [4, 0, 0, 0, 30, 0, 0, 0, 30, 0]
    assert charts["conversion"]["rate"][4] == 50.0 and charts["funnel"]["leads"] == [64, 50, 45, 18]
    assert "coming" not in text.lower()
    download = browser.http.get("/analytics/funnel.csv", params=PERIOD)
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert download.text.splitlines()[2].startswith("mql,50,")
    assert browser.http.get("/analytics/nothing.csv").status_code == 404


def test_the_page_needs_a_login_and_reads_a_bad_period_as_the_default(web: Web) -> None:
    anonymous = web.browser()
    assert anonymous.http.get("/analytics").status_code == 303
    assert anonymous.http.get("/analytics/funnel.csv").status_code == 303
    page = web.as_role("viewer").http.get("/analytics", params={"from": "2026-13-01"})
    assert page.status_code == 200 and 'class="error" role="alert"' in page.text
    assert "0 scored leads" in page.text
