"""The analytics page in a real browser on the demo data: the charts drawn by uPlot, the
conversion table showing rates with their intervals, a CSV download, and no serious or
critical accessibility violation (axe-core)."""

from __future__ import annotations

import re

import pytest
from tests.e2e.conftest import Served, axe_violations, shot
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
