"""The analytics page in a real browser on the demo data: the charts drawn by uPlot, the
conversion table showing rates with their intervals, costs loaded with the CLI shown as cost
per lead in euros, the choice of a model version, CSV downloads, and no serious or critical
accessibility violation (axe-core)."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime

import pytest
from tests.e2e.conftest import LEADSCORE, Served, axe_violations, shot
from tests.e2e.test_journey import log_in

pytestmark = pytest.mark.browser


def test_the_analytics_page_shows_rates_and_charts(page, served: Served):
    log_in(page, served.email, served.password)
    page.wait_for_url(re.compile(r"/leads"))
    page.get_by_role("link", name="Analytics").click()
    page.wait_for_url(re.compile(r"/analytics"))
    for chart in ("conversion", "distribution", "funnel", "timing"):
        page.wait_for_selector(f"#{chart}-chart canvas")  # uPlot drew it
    rates = page.locator("#conversion-band td.rate").all_inner_texts()
    shown = [r for r in rates if r.strip() != "–"]
    assert shown and all(re.fullmatch(r"\d+\.\d%", r.strip()) for r in shown), rates  # 12.5%
    tiers = page.locator("#conversion-tier tbody th").all_inner_texts()
    assert {"hot", "warm", "cold"} <= set(tiers), tiers
    funnel = page.locator("#funnel tbody th").all_inner_texts()
    assert funnel[0] == "lead" and funnel[-1] == "won"
    assert not axe_violations(page), axe_violations(page)
    shot(page, "analytics")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the conversion table (CSV)").click()
    first = download.value.path().read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("by,label,low,high,leads,converted")


def test_costs_loaded_with_the_cli_show_cost_per_lead_and_roi(page, served: Served, tmp_path):
    """A marketer loads this month's costs with `leadscore costs import`, sees the cost per
    lead and per conversion in euros on the page, downloads the table, picks a model version,
    and the page stays free of serious accessibility violations."""
    month = datetime.now(UTC).strftime("%Y-%m")
    file = tmp_path / "costs.csv"
    file.write_text(
        "source,campaign,month,amount,currency\n"
        f"paid_search,,{month},1234.50,EUR\n"
        f"paid_search,,{month},800,PLN\n"
    )
    done = subprocess.run(
        [str(LEADSCORE), "costs", "import", str(file)],
        env=served.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    log_in(page, served.email, served.password)
    page.wait_for_url(re.compile(r"/leads"))
    page.goto("/analytics")
    page.wait_for_selector("#sources-chart canvas")
    row = page.locator("#sources-source tbody tr", has=page.locator("th", has_text="paid_search"))
    cells = row.locator("td").all_inner_texts()
    leads = int(cells[0].replace(",", ""))
    assert leads > 0
    assert "€1,234.50" in cells[4] and "PLN" in cells[4], cells
    assert f"€{1234.50 / leads:,.2f}" in cells[5], cells  # the cost per lead
    assert page.locator("#lifetime-value tbody tr.total").count() == 1
    assert not axe_violations(page), axe_violations(page)
    shot(page, "analytics-costs")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download sources and campaigns (CSV)").click()
    lines = download.value.path().read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("by,source,campaign,leads,converted,rate,revenue")
    assert any(line.startswith("source,paid_search,") and ",EUR,1234.5," in line for line in lines)

    page.get_by_label("Scores").select_option(index=1)  # the newest stored version
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"version=\d+"))
    assert (
        "scored, each with the latest score it recorded"
        in page.locator("#period-note").inner_text()
    )
    assert not axe_violations(page), axe_violations(page)
