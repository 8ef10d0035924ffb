"""Browser tests: a real `leadscore serve` with the demo data on 127.0.0.1, driven by
Playwright through Debian's Chromium (`/usr/bin/chromium`; Playwright never downloads a
browser here). Outside CI a machine without Chromium skips them with the reason; under
CI=true they must run (.ci/run installs Chromium).

Screenshots of every page a test visits go to `tests/e2e/screenshots/` (not committed), for
a reviewer to look at.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.conftest import REPO, skip_or_fail

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
AXE = REPO / "src" / "leadscore" / "testing" / "vendor" / "axe-core" / "axe.min.js"
LEADSCORE = Path(sys.executable).parent / "leadscore"


@dataclass
class Served:
    url: str
    email: str
    password: str
    key: str
    env: dict[str, str]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def served(tmp_path_factory) -> Iterator[Served]:
    """`leadscore init-demo` then `leadscore serve`, as `make run` does, on a free port."""
    if not CHROMIUM.exists():
        skip_or_fail(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    folder = tmp_path_factory.mktemp("served")
    port = _free_port()
    env = {
        **os.environ,
        "LEADSCORE_DATABASE_URL": f"sqlite:///{folder / 'demo.db'}",
        "LEADSCORE_MAIL_DIR": str(folder / "mail"),
        "LEADSCORE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "LEADSCORE_SCHEDULER_ENABLED": "false",
    }
    init = subprocess.run(
        [str(LEADSCORE), "init-demo", "--leads", "300"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert init.returncode == 0, init.stderr
    login = re.search(r"login (\S+@\S+) / (\S+)", init.stdout)
    assert login, f"init-demo printed no dashboard login:\n{init.stdout}"
    key = init.stdout.strip().splitlines()[-1]
    server = subprocess.Popen(
        [str(LEADSCORE), "serve", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            pytest.fail(
                f"leadscore serve did not start: {server.stderr.read() if server.stderr else ''}"
            )
        time.sleep(0.2)
    try:
        yield Served(url, login.group(1), login.group(2), key, env)
    finally:
        server.terminate()
        server.wait(10)
        if server.stderr is not None:
            server.stderr.close()


@pytest.fixture(scope="session")
def browser(served: Served) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, served: Served) -> Iterator[object]:
    context = browser.new_context(base_url=served.url, locale="en-GB", bypass_csp=True)
    tab = context.new_page()
    yield tab
    context.close()


def shot(page, name: str) -> None:
    """A screenshot of the page for reviewers (tests/e2e/screenshots/, not committed)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def axe_violations(page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it stands (the context must
    be opened with bypass_csp=True: the dashboard's CSP rightly refuses injected scripts)."""
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [v for v in found if v.get("impact") in ("serious", "critical")]
