"""The automations and settings pages in a real browser, as the demo admin: both pages have
no serious or critical accessibility violation (axe-core), and an API key created in the
browser is shown once, then only by its name."""

from __future__ import annotations

import re

import httpx
import pytest
from tests.e2e.conftest import Served, axe_violations, shot
from tests.e2e.test_journey import log_in

pytestmark = pytest.mark.browser


def test_the_admin_pages_and_an_api_key_seen_once(page, served: Served):
    log_in(page, served.email, served.password)
    page.wait_for_url(re.compile(r"/leads"))

    page.goto("/automations")
    assert page.get_by_role("heading", name="Automations", exact=True).is_visible()
    assert page.get_by_role("heading", name="Outbox").is_visible()
    assert page.locator("ul.counts .count").count() == 4
    assert not axe_violations(page), axe_violations(page)
    shot(page, "automations")
    # htmx: the status filter replaces the outbox table in place
    page.evaluate("window.__marker = 'kept'")
    page.get_by_label("Status", exact=True).select_option("failed")
    page.wait_for_function("() => location.search.includes('status=failed')")
    page.wait_for_selector("#outbox-table caption:has-text('failed')")
    assert page.evaluate("window.__marker") == "kept"

    page.goto("/settings")
    assert page.get_by_role("heading", name="API keys", exact=True).is_visible()
    assert page.get_by_role("rowheader", name=served.email).is_visible()
    found = axe_violations(page)
    assert not found, [n["html"] for v in found for n in v["nodes"]]
    shot(page, "settings")

    page.get_by_label("Key name").fill("from-the-browser")
    page.get_by_label("write", exact=True).check()
    page.get_by_role("button", name="Create key").click()
    page.wait_for_selector("#new-key")
    key = page.locator("#new-key").input_value()
    assert key.startswith("lsk_") and len(key) > 30
    assert not axe_violations(page), axe_violations(page)
    shot(page, "api-key-created")
    reply = httpx.get(f"{served.url}/api/v1/leads", headers={"Authorization": f"Bearer {key}"})
    assert reply.status_code == 200

    page.get_by_role("link", name="Back to the settings").click()
    page.wait_for_url(re.compile(r"/settings"))
    assert page.get_by_role("rowheader", name="from-the-browser").is_visible()
    assert key not in page.content()  # shown once, never again

    page.get_by_role("link", name="Revoke from-the-browser…").click()
    assert not axe_violations(page), axe_violations(page)
    page.get_by_role("button", name="Revoke from-the-browser").click()
    page.wait_for_url(re.compile(r"/settings"))
    reply = httpx.get(f"{served.url}/api/v1/leads", headers={"Authorization": f"Bearer {key}"})
    assert reply.status_code == 401  # the serving process forgets the key at once
