"""The models page in a real browser: the versions list and the editor have no serious or
critical accessibility violation (axe-core); a mistake typed in the editor shows up with its
line without reloading the page, and once fixed the model saves as a new version; then the
marketer's journey: a manager writes a model, an admin sees how many leads' stage would change,
activates it, and the lead's score and the analytics follow; a backtest of the two versions
draws its chart."""

from __future__ import annotations

import re
import subprocess

import pytest
from tests.conftest import REPO
from tests.e2e.conftest import LEADSCORE, Served, axe_violations, shot
from tests.e2e.test_journey import log_in

pytestmark = pytest.mark.browser


def test_the_editor_validates_as_you_type_and_saves(page, served: Served):
    log_in(page, served.email, served.password)
    page.wait_for_url(re.compile(r"/leads"))

    page.goto("/models")
    assert page.get_by_role("heading", name="Models", exact=True).is_visible()
    assert page.locator("table.models tr.active").count() == 1
    found = axe_violations(page)
    assert not found, [n["html"] for v in found for n in v["nodes"]]
    shot(page, "models")

    page.get_by_role("link", name="Edit the model (a new version)").click()
    page.wait_for_url(re.compile(r"/models/edit"))
    editor = page.get_by_label("Model YAML")
    original = editor.input_value()
    assert original.strip()
    page.evaluate("window.__marker = 'kept'")

    editor.fill("colour: blue\n" + original)
    editor.press("End")  # a keyup: htmx validates after 500 ms
    page.wait_for_selector("#problems li[data-line='1']")
    problem = page.locator("#problems li[data-line='1']").inner_text()
    assert "line 1" in problem and "colour" in problem
    assert page.evaluate("window.__marker") == "kept"  # no reload
    found = axe_violations(page)
    assert not found, [n["html"] for v in found for n in v["nodes"]]
    shot(page, "models-editor-error")

    editor.fill(original.replace("\n", "\n# edited in the browser\n", 1))
    editor.press("End")
    page.wait_for_selector("#problems p.valid")
    assert page.evaluate("window.__marker") == "kept"

    page.get_by_role("button", name="Save as a new version").click()
    page.wait_for_url(re.compile(r"/models\?saved=\d+"))
    assert page.get_by_role("status").filter(has_text="Saved as version").is_visible()
    shot(page, "models-saved")


def _user(served: Served, email: str, role: str, password: str) -> None:
    made = subprocess.run(
        [str(LEADSCORE), "user", "create", "--email", email, "--role", role],
        input=password + "\n",
        env=served.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr


def _typed(page, text: str) -> None:
    editor = page.get_by_label("Model YAML")
    editor.fill(text)
    editor.press("End")  # a keyup: htmx validates after 500 ms


def _numbers(text: str) -> float:
    return float(text.strip().replace(",", ""))


def test_a_new_model_is_written_checked_counted_activated_and_rescores(browser, served: Served):
    """The marketer's journey: a manager writes a model with a mistake, sees it at its line,
    fixes it and saves; the admin sees how many leads' stage would change, activates, and
    the leads and the analytics follow the new model."""
    _user(served, "manager@example.com", "manager", "a manager's long password")
    manager = browser.new_context(base_url=served.url, locale="en-GB", bypass_csp=True)
    page = manager.new_page()
    try:
        log_in(page, "manager@example.com", "a manager's long password")
        page.wait_for_url(re.compile(r"/leads"))
        page.goto("/models/edit")
        original = page.get_by_label("Model YAML").input_value()
        assert "weight: 0.4" in original and "min_score: 50" in original
        lines = original.splitlines()
        where = next(i for i, line in enumerate(lines) if "weight: 0.4" in line) + 1
        wrong = original.replace("weight: 0.4", "weight: lots", 1)
        _typed(page, wrong)
        page.wait_for_selector(f"#problems li[data-line='{where}']")
        problem = page.locator(f"#problems li[data-line='{where}']").inner_text()
        assert f"line {where}" in problem and "fit.weight" in problem, problem
        found = axe_violations(page)
        assert not found, [n["html"] for v in found for n in v["nodes"]]
        page.get_by_role("button", name="Save as a new version").click()  # refused: 422
        assert (
            page.locator("ol.listing li.bad").first.inner_text().strip().startswith("weight: lots")
        )
        shot(page, "models-journey-error-at-line")
        fixed = (
            original.replace("weight: 0.4", "weight: 0.5", 1)
            .replace("weight: 0.6", "weight: 0.5", 1)
            .replace("min_score: 75", "min_score: 60", 1)
            .replace("min_score: 50", "min_score: 35", 1)
        )
        _typed(page, fixed)
        page.wait_for_selector("#problems p.valid")
        page.get_by_role("button", name="Save as a new version").click()
        page.wait_for_url(re.compile(r"/models\?saved=\d+"))
        version = int(re.search(r"saved=(\d+)", page.url).group(1))
        assert page.get_by_role("link", name=f"Activate version {version}…").count() == 0
        assert page.request.get(f"/models/{version}/activate").status == 403  # admins only
    finally:
        manager.close()

    admin = browser.new_context(base_url=served.url, locale="en-GB", bypass_csp=True)
    page = admin.new_page()
    try:
        log_in(page, served.email, served.password)
        page.wait_for_url(re.compile(r"/leads"))
        lead_path = page.locator("table.leads tbody tr a").nth(5).get_attribute("href")
        page.goto(lead_path)
        before = _numbers(page.locator("#score").inner_text())
        page.goto("/analytics")
        distribution = page.locator("#distribution tbody").inner_text()

        page.goto("/models")
        page.get_by_role("link", name=f"Activate version {version}…").click()
        page.wait_for_selector("#preview.done", timeout=60_000)  # counted in a job, polled
        counted = page.locator("#preview .stage-count").inner_text()
        changes = re.search(r"The stage of ([\d,]+) of ([\d,]+) leads would change", counted)
        assert changes and int(changes.group(1).replace(",", "")) > 0, counted
        assert page.locator("table.stage-moves tbody tr").count() >= 1
        found = axe_violations(page)
        assert not found, [n["html"] for v in found for n in v["nodes"]]
        shot(page, "models-activate-count")

        page.get_by_role("button", name=f"Activate version {version}").click()
        page.wait_for_url(re.compile(rf"/models\?activated={version}"))
        assert page.get_by_role("status").filter(has_text=f"Version {version} is active").count()
        shot(page, "models-activated")

        page.goto(lead_path)
        after = _numbers(page.locator("#score").inner_text())
        fit = _numbers(page.locator("dl.summary dd").nth(1).inner_text())
        engagement = _numbers(page.locator("dl.summary dd").nth(2).inner_text())
        assert after != before
        assert after == pytest.approx(0.5 * fit + 0.5 * engagement, abs=0.011)  # new weights
        page.goto("/analytics")
        assert page.locator("#distribution tbody").inner_text() != distribution

        page.goto("/models/backtest")
        found = axe_violations(page)
        assert not found, [n["html"] for v in found for n in v["nodes"]]
        page.get_by_role("button", name="Run the backtest").click()
        page.wait_for_selector("#backtest-result.done", timeout=120_000)  # polled by htmx
        page.wait_for_selector("#backtest-chart canvas")  # uPlot drew it
        assert page.locator("table.backtest-auc tbody tr").count() == 2
        assert len(page.locator("table.backtest-bands").all()) == 2
        found = axe_violations(page)
        assert not found, [n["html"] for v in found for n in v["nodes"]]
        shot(page, "models-backtest")
    finally:
        admin.close()
