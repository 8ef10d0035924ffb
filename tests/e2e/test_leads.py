"""The leads list and a lead's story in a real browser on the demo data: search by name,
tick two leads and assign them an owner, export the filter as CSV; on a lead, add points
with an expiry, see them listed and the score move, remove them and see it come back, pin
the stage and unpin it; axe-core finds no serious or critical violation on either page."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from pathlib import Path

import pytest
from tests.conftest import REPO
from tests.e2e.conftest import LEADSCORE, Served, axe_violations, shot
from tests.e2e.test_journey import log_in, number

pytestmark = pytest.mark.browser


def _owner(served: Served, owner_id: str) -> None:
    made = subprocess.run(
        [str(LEADSCORE), "owners", "add", owner_id, "--name", "Ana Owner"],
        env=served.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr


def test_search_bulk_assign_and_export(page, served: Served) -> None:
    _owner(served, "ana.e2e")
    log_in(page, served.email, served.password)
    page.wait_for_url(re.compile(r"/leads"))
    first_company = page.locator("table.leads td[data-label='Company']").first.inner_text()
    assert first_company  # the demo's leads have companies
    term = first_company.split()[0]
    search = page.get_by_label("Search name, e-mail or company")
    search.fill(term)
    search.press("Enter")  # htmx swaps the table
    page.wait_for_function(
        "t => [...document.querySelectorAll('table.leads tbody tr')].every("
        "r => r.innerText.toLowerCase().includes(t.toLowerCase()))",
        arg=term,
    )
    assert not axe_violations(page), axe_violations(page)
    shot(page, "leads-search")

    rows = page.locator("table.leads tbody tr")
    picked = [rows.nth(i).locator("td[data-label='Lead'] a").get_attribute("href") for i in (0, 1)]
    for i in (0, 1):
        rows.nth(i).get_by_role("checkbox").check()
    page.get_by_label("Action").select_option("assign")
    page.get_by_label("Owner id (to assign)").fill("ana.e2e")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_selector("p.notice")
    assert "2 leads now belong to ana.e2e" in page.locator("p.notice").inner_text()
    assert not axe_violations(page), axe_violations(page)
    shot(page, "leads-bulk-assigned")
    for href in picked:
        page.goto(href)
        owner = page.locator("dl.summary div", has_text="Owner").locator("dd").inner_text()
        assert owner == "ana.e2e"

    page.goto("/leads?owner=ana.e2e")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export these leads as CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    exported = list(csv.DictReader(io.StringIO(text)))
    assert sorted(f"/leads/{r['lead_id']}" for r in exported) == sorted(picked)
    assert {r["owner"] for r in exported} == {"ana.e2e"}


def test_override_with_expiry_removed_and_a_stage_pinned(page, served: Served) -> None:
    log_in(page, served.email, served.password)
    page.wait_for_url(re.compile(r"/leads"))
    page.locator("table.leads tbody tr a").nth(3).click()
    page.wait_for_url(re.compile(r"/leads/.+"))
    score = number(page.locator("#score").inner_text())
    page.get_by_label("Points (negative to remove)").fill("-5")
    page.get_by_label("Reason", exact=True).fill("Budget frozen until spring")
    page.get_by_label("Expires (UTC, optional)").fill("2099-03-01T09:00")
    page.get_by_role("button", name="Add", exact=True).click()
    page.wait_for_selector("table.overrides")
    row = page.locator("table.overrides tbody tr", has_text="Budget frozen until spring")
    assert "2099" in row.locator("td[data-label='Expires']").inner_text()
    after = number(page.locator("#score").inner_text())
    assert after == pytest.approx(max(score - 5, 0), abs=0.01)
    assert not axe_violations(page), axe_violations(page)
    shot(page, "lead-override-with-expiry")

    row.get_by_role("button", name=re.compile("Remove override")).click()
    page.wait_for_selector("text=No points added by people.")
    assert number(page.locator("#score").inner_text()) == pytest.approx(score, abs=0.01)

    page.get_by_label("Stage", exact=True).fill("customer")
    page.get_by_label("Why pin it").fill("Signed on paper")
    page.get_by_role("button", name=re.compile("^Pin")).click()
    page.wait_for_selector("#pin-state:has-text('pinned to customer')")
    assert page.locator("#stage").inner_text().startswith("customer")
    assert not axe_violations(page), axe_violations(page)
    shot(page, "lead-pinned")
    page.get_by_role("button", name="Unpin the stage").click()
    page.wait_for_selector("#pin-state:has-text('Not pinned')")
    assert not page.locator("#stage").inner_text().startswith("customer")
