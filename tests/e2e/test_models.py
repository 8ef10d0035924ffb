"""The models page in a real browser, as the demo admin: the versions list and the editor have
no serious or critical accessibility violation (axe-core); a mistake typed in the editor shows
up with its line without reloading the page, and once fixed the model saves as a new
version."""

from __future__ import annotations

import re

import pytest
from tests.e2e.conftest import Served, axe_violations, shot
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
