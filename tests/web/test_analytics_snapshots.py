"""The analytics page on a store above `analytics_inline_leads` (set to 0 here, so the
hand-made set of test_analytics counts as large): the first visit starts a background job and
shows its progress; the poll redirects once it ended; the page then shows exactly the figures
computed while the request waits on a small store, dated, and reuses them while they are
fresh; a stale result is shown while a new computation runs; the CSV is the page's figures.
On SQLite and PostgreSQL, over a real socket."""

from __future__ import annotations

import json
import time

import pytest
from tests.web.conftest import Web
from tests.web.test_analytics import DATA, PERIOD, load

from leadscore.service import jobs


@pytest.fixture
def large(web: Web):
    """The same server, its settings saying every store is large."""
    settings = web.server.ctx.settings
    before = settings.analytics_inline_leads, settings.analytics_max_age_minutes
    settings.analytics_inline_leads = 0
    yield web
    settings.analytics_inline_leads, settings.analytics_max_age_minutes = before


def _wait(web: Web, job_id: str) -> dict:
    deadline = time.monotonic() + 60
    while True:
        job = jobs.get(web.server.ctx, job_id)
        if job["status"] in ("succeeded", "failed"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def test_a_large_store_computes_in_the_background_the_same_figures(large: Web) -> None:
    web = large
    load(web)
    browser = web.as_role("viewer")
    web.server.ctx.settings.analytics_inline_leads = 10_000  # small: computed inline
    inline = browser.http.get("/analytics", params=PERIOD)
    assert inline.status_code == 200 and 'id="snapshot-note"' not in inline.text
    expected = json.loads(DATA.search(inline.text).group(1))
    web.server.ctx.settings.analytics_inline_leads = 0

    first = browser.http.get("/analytics", params=PERIOD)
    assert first.status_code == 200
    assert 'id="analytics-job"' in first.text and DATA.search(first.text) is None
    started = jobs.recent(web.server.ctx, 5, "analytics")
    assert len(started) == 1 and started[0]["params"]["version"] is None
    job = _wait(web, started[0]["id"])
    assert job["status"] == "succeeded", job["error"]

    poll = browser.http.get(
        f"/analytics/jobs/{job['id']}", params=PERIOD, headers={"HX-Request": "true"}
    )
    assert poll.status_code == 204
    assert poll.headers["HX-Redirect"] == "/analytics?from=2026-01-01&to=2026-01-31"
    no_js = browser.http.get(f"/analytics/jobs/{job['id']}", params=PERIOD)
    assert no_js.status_code == 303

    shown = browser.http.get("/analytics", params=PERIOD)
    assert 'id="snapshot-note"' in shown.text and "Computed at" in shown.text
    assert json.loads(DATA.search(shown.text).group(1)) == expected
    assert 'id="inversion-alert"' in shown.text
    assert len(jobs.recent(web.server.ctx, 5, "analytics")) == 1  # fresh: reused, no new job

    inline_csv = None
    csv = browser.http.get("/analytics/funnel.csv", params=PERIOD)
    assert csv.status_code == 200 and csv.text.splitlines()[2].startswith("mql,50,")
    web.server.ctx.settings.analytics_inline_leads = 10_000
    inline_csv = browser.http.get("/analytics/funnel.csv", params=PERIOD).text
    web.server.ctx.settings.analytics_inline_leads = 0
    assert csv.text == inline_csv

    # Another period has no result yet: its own computation.
    other = browser.http.get("/analytics", params={"from": "2025-01-01", "to": "2026-01-31"})
    assert 'id="analytics-job"' in other.text
    assert len(jobs.recent(web.server.ctx, 5, "analytics")) == 2


def test_stale_figures_are_shown_while_a_new_computation_runs(large: Web) -> None:
    web = large
    load(web)
    browser = web.as_role("viewer")
    browser.http.get("/analytics", params=PERIOD)
    _wait(web, jobs.recent(web.server.ctx, 1, "analytics")[0]["id"])
    web.server.ctx.settings.analytics_max_age_minutes = 1e-9  # everything is stale
    stale = browser.http.get("/analytics", params=PERIOD)
    assert 'id="snapshot-note"' in stale.text and DATA.search(stale.text) is not None
    assert "A newer computation is running" in stale.text
    newest = jobs.recent(web.server.ctx, 5, "analytics")
    assert len(newest) == 2
    assert _wait(web, newest[0]["id"])["status"] == "succeeded"


def test_the_job_is_served_by_the_api_and_unknown_jobs_are_404(large: Web) -> None:
    web = large
    load(web)
    browser = web.as_role("viewer")
    browser.http.get("/analytics", params=PERIOD)
    job = _wait(web, jobs.recent(web.server.ctx, 1, "analytics")[0]["id"])
    served = web.api.get(f"/jobs/{job['id']}")
    assert served["kind"] == "analytics"
    assert served["result"]["distribution"]["leads"] == job["result"]["distribution"]["leads"]
    assert "time-to-conversion" in served["result"]
    assert browser.http.get("/analytics/jobs/" + "0" * 32).status_code == 404
    fresh = web.browser()
    assert fresh.http.get(f"/analytics/jobs/{job['id']}").status_code == 303  # to /login
