"""The models page's jobs over a real socket on SQLite and PostgreSQL: before activating, an
admin sees how many leads' stage and tier would change (counted in a job the page polls), and
the count is what the activation then changes; a manager backtests two versions on the
store's outcomes and gets the AUC of each, the bands as a chart's data and a CSV; viewers
and managers are refused what their role does not allow; a bad form names its field."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from html import unescape

from tests.api.conftest import MODEL
from tests.web.conftest import Browser, Web

from leadscore.service import jobs
from leadscore.service.backtests import csv_rows
from leadscore.service.inputs import OutcomeIn
from leadscore.service.outcomes import record_outcomes

CHANGED = (
    MODEL.replace("name: test", "name: test-2")
    .replace("points: 25}", "points: 50}", 1)
    .replace("{name: sql, min_score: 70}", "{name: sql, min_score: 60}")
)
LEADS = [
    ("soft-big", {"industry": "software", "employees": 900}),
    ("soft", {"industry": "software", "employees": 20}),
    ("big", {"industry": "retail", "employees": 900}),
    ("small", {"industry": "retail", "employees": 5}),
]
JOB = re.compile(r"job=([0-9a-f]{32})")


def _store(web: Web) -> None:
    web.api.set_time("2026-05-20T12:00:00Z")
    web.api.model()
    for name, attributes in LEADS:
        web.api.lead(id=name, email=f"{name}@example.com", attributes=attributes)
        web.api.event(
            lead_id=name,
            type="page_viewed",
            occurred_at="2026-05-10T10:00:00Z",
            properties={"url": "/pricing"},
        )
    web.api.event(lead_id="soft", type="demo_booked", occurred_at="2026-05-12T10:00:00Z")
    web.api.model(CHANGED, activate=False)


def _poll(browser: Browser, path: str, done: str) -> str:
    """GET the fragment every 0.2 s until it holds `done` (as htmx's `every 1s` does)."""
    deadline = time.monotonic() + 60
    while True:
        reply = browser.http.get(path, headers={"HX-Request": "true"})
        assert reply.status_code == 200, reply.text
        if done in reply.text:
            return unescape(reply.text)
        assert 'hx-trigger="every 1s"' in reply.text, reply.text
        assert time.monotonic() < deadline, reply.text
        time.sleep(0.2)


def _stages(web: Web) -> dict[str, tuple[str, str]]:
    found = {}
    for name, _ in LEADS:
        lead = web.api.get(f"/leads/{name}")
        found[name] = (lead["stage"], lead["tier"])
    return found


def test_the_admin_sees_the_stage_changes_before_activating(web: Web) -> None:
    _store(web)
    admin = web.as_role("admin")
    confirm = admin.http.get("/models/2/activate")
    assert confirm.status_code == 200
    assert 'hx-post="/models/2/activate/preview" hx-trigger="load"' in confirm.text
    token = admin.csrf("/models")

    started = admin.http.post("/models/2/activate/preview", data={"csrf_token": token})
    assert started.status_code == 303  # without JavaScript: back to the page with ?job=
    job_id = JOB.search(started.headers["location"]).group(1)
    fragment = _poll(admin, f"/models/2/activate/preview/{job_id}", 'class="preview done"')
    shown = re.search(r"The stage of (\d+) of (\d+) leads would change", fragment)
    tiers = re.search(r"The tier of (\d+) leads would change", fragment)
    assert shown and tiers, fragment
    page = unescape(admin.http.get(f"/models/2/activate?job={job_id}").text)
    assert shown.group(0) in page and "Activate version 2" in page
    moves = dict(
        ((a, b), int(n))
        for a, b, n in re.findall(
            r"<tr><td>(\w+)</td><td>(\w+)</td><td class=\"num\">(\d+)</td></tr>",
            fragment.split('class="moves tier-moves"')[0],
        )
    )

    served = web.api.get(f"/jobs/{job_id}")  # the API shows the job and its result too
    assert served["kind"] == "model_preview_activate_2" and served["status"] == "succeeded"
    assert served["result"]["stages"]["changed"] == int(shown.group(1))
    assert job_id in [j["id"] for j in web.api.get("/jobs")]

    before = _stages(web)
    done = admin.http.post("/models/2/activate", data={"csrf_token": token})
    assert done.status_code == 303
    after = _stages(web)
    changed = {k: (before[k][0], after[k][0]) for k in before if before[k][0] != after[k][0]}
    assert len(changed) > 0 and int(shown.group(1)) == len(changed)
    assert int(shown.group(2)) == len(LEADS)
    assert moves == {move: list(changed.values()).count(move) for move in set(changed.values())}
    assert int(tiers.group(1)) == sum(before[k][1] != after[k][1] for k in before)

    # an htmx click answers the fragment itself; asked again, the same count is joined
    again = admin.http.post(
        "/models/2/rollback/preview", headers={"HX-Request": "true", "X-CSRF-Token": token}
    )
    assert again.status_code == 200 and again.text.lstrip().startswith('<div id="preview"')
    wrong = admin.http.post("/models/1/rollback/preview", data={"csrf_token": token})
    assert wrong.status_code == 409 and "not the active one" in wrong.text
    assert admin.http.get(f"/models/1/activate/preview/{job_id}").status_code == 404
    assert (
        admin.http.post("/models/9/activate/preview", data={"csrf_token": token}).status_code == 404
    )
    assert (
        admin.http.post("/models/2/publish/preview", data={"csrf_token": token}).status_code == 404
    )


def test_only_admins_count_activation_changes(web: Web) -> None:
    _store(web)
    for role in ("viewer", "manager"):
        browser = web.as_role(role)
        token = browser.csrf("/models")
        refused = browser.http.post("/models/2/activate/preview", data={"csrf_token": token})
        assert refused.status_code == 403
        assert browser.http.get(f"/models/2/activate/preview/{'0' * 32}").status_code == 403
    with web.server.ctx.db.read():
        assert jobs.recent(web.server.ctx) == []  # nothing was queued


def _outcomes(web: Web) -> None:
    record_outcomes(
        web.server.ctx,
        [
            OutcomeIn(lead_id=name, outcome=word, occurred_at="2026-05-15T00:00:00Z")
            for name, word in (
                ("soft-big", "converted"),
                ("soft", "converted"),
                ("big", "lost"),
                ("small", "lost"),
            )
        ],
        "test",
    )


def test_a_manager_backtests_two_versions(web: Web) -> None:
    _store(web)
    _outcomes(web)
    viewer = web.as_role("viewer")
    assert viewer.http.get("/models/backtest").status_code == 403
    token = viewer.csrf("/models")
    denied = viewer.http.post("/models/backtest", data={"a": 1, "b": 2, "csrf_token": token})
    assert denied.status_code == 403

    manager = web.as_role("manager")
    assert 'href="/models/backtest"' in manager.http.get("/models").text
    form = manager.http.get("/models/backtest")
    assert form.status_code == 200 and 'id="backtest-a"' in form.text
    token = manager.csrf("/models/backtest")
    for fields, message in (
        ({"a": 1, "b": 1}, "choose two different versions"),
        ({"a": 1, "b": 7}, "choose two stored model versions"),
        ({"a": 1, "b": 2, "start": "15/05/2026"}, "from: '15/05/2026' is not a date"),
        ({"a": 1, "b": 2, "start": "2026-05-20", "end": "2026-05-01"}, "the start is after"),
    ):
        bad = manager.http.post("/models/backtest", data={**fields, "csrf_token": token})
        assert bad.status_code == 422 and message in unescape(bad.text), bad.text
    assert jobs.recent(web.server.ctx) == []

    started = manager.http.post("/models/backtest", data={"a": 1, "b": 2, "csrf_token": token})
    assert started.status_code == 303
    job_id = JOB.search(started.headers["location"]).group(1)
    fragment = _poll(manager, f"/models/backtest/{job_id}", 'class="done"')
    result = jobs.get(web.server.ctx, job_id)["result"]
    assert web.api.get(f"/jobs/{job_id}")["result"]["columns"] == result["columns"]
    assert [c["version"] for c in result["columns"]] == [1, 2] and result["decided"] == 4
    for column in result["columns"]:
        assert f'<td class="num auc">{column["auc"]:.3f}</td>' in fragment
    raw = manager.http.get(f"/models/backtest/{job_id}").text
    chart = json.loads(unescape(re.search(r'data-chart="([^"]+)"', raw).group(1)))
    assert [s["label"] for s in chart["series"]] == ["v1", "v2"]
    assert chart["series"][1]["rates"] == [
        None if b["rate"] is None else round(100 * b["rate"], 2)
        for b in result["columns"][1]["bands"]
    ]
    page = manager.http.get(started.headers["location"])
    assert page.status_code == 200 and "ROC AUC of each version" in page.text
    assert 'value="1" selected' in page.text and "models.js" in page.text
    download = manager.http.get(f"/models/backtest/{job_id}.csv")
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.text)))
    assert rows == [[str(v) if v is not None else "" for v in row] for row in csv_rows(result)]
    assert viewer.http.get(f"/models/backtest/{job_id}.csv").status_code == 403

    empty = manager.http.post(
        "/models/backtest", data={"a": 2, "b": 1, "start": "2026-05-16", "csrf_token": token}
    )
    failed = JOB.search(empty.headers["location"]).group(1)
    text = _poll(manager, f"/models/backtest/{failed}", "The backtest failed")
    assert "no lead has an outcome in this period" in text
    assert manager.http.get(f"/models/backtest/{'f' * 32}").status_code == 404
