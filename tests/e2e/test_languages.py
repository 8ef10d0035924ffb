"""Languages in a real browser: a user who chose Polish reads Polish pages (text, `lang`,
decimal commas) whatever the browser's language, changes to Romanian on the Account page and
reads Romanian; a logged-out Romanian browser gets the Romanian login page. Each page is free
of serious or critical accessibility violations (axe-core) in its language."""

from __future__ import annotations

import re
import subprocess

import pytest
from tests.conftest import REPO
from tests.e2e.conftest import LEADSCORE, Served, axe_violations, shot
from tests.e2e.test_journey import log_in

pytestmark = pytest.mark.browser

PASSWORD = "hasło do panelu, długie"


def clean(page) -> None:
    found = axe_violations(page)
    assert not found, [(v["id"], [n["html"] for n in v["nodes"]]) for v in found]


def test_a_polish_user_reads_polish_then_chooses_romanian(browser, served: Served):
    made = subprocess.run(
        [str(LEADSCORE), "user", "create", "--email", "ola@example.com", "--language", "pl"],
        input=PASSWORD + "\n",
        env=served.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    context = browser.new_context(base_url=served.url, locale="en-GB", bypass_csp=True)
    page = context.new_page()
    try:
        log_in(page, "ola@example.com", PASSWORD)  # the login page follows the browser: English
        page.wait_for_url(re.compile(r"/leads"))
        assert page.locator("html").get_attribute("lang") == "pl"
        assert page.get_by_role("heading", name="Leady", exact=True).is_visible()
        assert page.get_by_role("link", name="Analityka").is_visible()
        assert page.get_by_role("button", name="Wyloguj się").is_visible()
        assert "Score, hottest first" not in page.content()
        clean(page)
        shot(page, "leads-pl")

        page.locator("table.leads tbody tr a").first.click()
        page.wait_for_url(re.compile(r"/leads/.+"))
        assert page.get_by_role("heading", name="Skąd ten wynik").is_visible()
        assert page.get_by_role("heading", name="Historia wyniku").is_visible()
        clean(page)
        shot(page, "lead-pl")

        page.goto("/analytics")
        assert page.get_by_role("heading", name="Analityka", exact=True).is_visible()
        rates = page.locator("td.rate").all_inner_texts()
        assert rates and all(re.fullmatch(r"\d+,\d%|–", r.strip()) for r in rates), rates
        clean(page)
        shot(page, "analytics-pl")

        page.get_by_role("link", name=re.compile("ola@example.com")).click()
        page.wait_for_url(re.compile(r"/account"))
        assert page.get_by_role("heading", name="Twoje konto").is_visible()
        clean(page)
        shot(page, "account-pl")
        page.get_by_label("Język panelu").select_option("ro")
        page.get_by_role("button", name="Zapisz").click()
        page.wait_for_url(re.compile(r"/account\?saved=language"))
        assert page.locator("html").get_attribute("lang") == "ro"
        assert page.get_by_role("status").inner_text() == "Limba a fost salvată."
        page.goto("/leads")
        assert page.get_by_role("heading", name="Leaduri", exact=True).is_visible()
        clean(page)
        shot(page, "leads-ro")
    finally:
        context.close()


def test_the_login_page_follows_the_browser_language(browser, served: Served):
    context = browser.new_context(base_url=served.url, locale="sr-Latn-RS", bypass_csp=True)
    page = context.new_page()
    try:
        page.goto("/login")
        assert page.locator("html").get_attribute("lang") == "sr-Latn"
        assert page.get_by_role("heading", name="Prijavi se").is_visible()
        assert page.get_by_label("Lozinka").is_visible()
        clean(page)
        shot(page, "login-sr")
    finally:
        context.close()
