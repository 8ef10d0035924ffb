"""The dashboard under its own Content-Security-Policy (no `bypass_csp`, unlike the other
browser tests, which inject axe-core): every page loads, its charts draw and its htmx works
with only the app's own scripts and styles, and the browser reports no violation."""

from __future__ import annotations

import re

import pytest
from tests.e2e.conftest import Served
from tests.e2e.test_journey import log_in

pytestmark = pytest.mark.browser

PAGES = ("/leads", "/analytics", "/models", "/automations", "/settings", "/account")


def test_the_dashboard_works_under_its_content_security_policy(browser, served: Served):
    context = browser.new_context(base_url=served.url, locale="en-GB")
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.on("pageerror", lambda error: violations.append(str(error)))
    try:
        log_in(page, served.email, served.password)
        page.wait_for_url(re.compile(r"/leads"))
        for path in PAGES:
            page.goto(path)
            page.wait_for_load_state("networkidle")
        page.goto("/analytics")
        page.wait_for_selector("#conversion-chart canvas")  # uPlot drew under the policy
        page.goto("/leads")
        page.locator("table a[href^='/leads/']").first.click()
        page.wait_for_url(re.compile(r"/leads/[^/?]+$"))
        page.wait_for_load_state("networkidle")
        assert page.locator("canvas").count() >= 1  # the score history chart
    finally:
        context.close()
    assert violations == []
