"""The API docs work offline (issue 10, item 6): /docs and /redoc, over a real socket, load
only files the app serves itself, with a Content-Security-Policy of 'self', and need no key."""

from __future__ import annotations

import base64
import hashlib
import re
import tomllib
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src" / "leadscore"
STATIC = PACKAGE / "api" / "static"
PAGES = ("/docs", "/redoc")
CONTENT_TYPES = {
    ".js": ("text/javascript", "application/javascript"),
    ".css": ("text/css",),
    ".png": ("image/png",),
    ".json": ("application/json",),
}
ASSET = re.compile(r"""(?:src|href|spec-url|url)\s*[=:]\s*['"]([^'"]+)['"]""")
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def policy(header: str) -> dict[str, list[str]]:
    directives = [d.strip().split() for d in header.split(";") if d.strip()]
    return {d[0]: d[1:] for d in directives}


@pytest.fixture
def http(server) -> httpx.Client:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:  # no API key
        yield client


@pytest.mark.parametrize("page", PAGES)
def test_a_docs_page_names_no_url_outside_the_app(http, page) -> None:
    response = http.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert not re.findall(r"https?://|//[a-z]", html, re.I), "a URL outside the app"
    assets = ASSET.findall(html)
    assert "/openapi.json" in assets and any(a.startswith("/static/") for a in assets)
    for asset in assets:
        assert asset.startswith("/"), asset
        answer = http.get(asset)
        assert answer.status_code == 200, asset
        kind = answer.headers["content-type"].split(";")[0]
        assert kind in CONTENT_TYPES[Path(asset).suffix], (asset, kind)
        assert len(answer.content) > 0


@pytest.mark.parametrize("page", PAGES)
def test_a_docs_page_allows_only_the_app_itself(http, page) -> None:
    response = http.get(page)
    csp = policy(response.headers["content-security-policy"])
    assert csp["default-src"] == ["'none'"]
    assert "http" not in response.headers["content-security-policy"]
    assert "*" not in response.headers["content-security-policy"]
    assert "'unsafe-eval'" not in csp["script-src"]
    assert "'unsafe-inline'" not in csp["script-src"]
    inline = INLINE_SCRIPT.findall(response.text)
    hashes = {
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in inline
    }
    assert set(csp["script-src"]) == {"'self'", *hashes}
    assert csp["connect-src"] == ["'self'"] and csp["frame-ancestors"] == ["'none'"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_swagger_page_has_one_inline_bootstrap_without_a_validator(http) -> None:
    html = http.get("/docs").text
    (script,) = INLINE_SCRIPT.findall(html)
    assert "SwaggerUIBundle(" in script and '"validatorUrl": null' in script
    assert "fastapi.tiangolo.com" not in html and "googleapis" not in http.get("/redoc").text


def test_the_api_document_needs_no_key(http) -> None:
    response = http.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["info"]["title"] == "leadscore"
    root = http.get("/")  # the dashboard (issue 13), which asks for a login
    assert root.status_code == 303 and root.headers["location"] == "/leads"


def test_an_unknown_static_file_is_a_404(http) -> None:
    assert http.get("/static/swagger-ui/nothing.js").status_code == 404
    assert http.get("/static/../api/app.py").status_code == 404


def test_the_vendored_files_carry_their_licence_and_ship_in_the_wheel() -> None:
    for folder in ("swagger-ui", "redoc"):
        assert (STATIC / folder / "LICENSE").stat().st_size > 500
    versions = (STATIC / "VERSIONS.md").read_text()
    assert "swagger-ui-dist` | 5." in versions and "`redoc` | 2." in versions
    banner = (STATIC / "redoc" / "redoc.standalone.js").read_text()[:200]
    assert "redoc.standalone.js.LICENSE.txt" in banner
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["leadscore"]
    shipped = {p for pattern in patterns for p in PACKAGE.glob(pattern) if p.is_file()}
    vendored = {p for p in STATIC.rglob("*") if p.is_file()}
    assert vendored and vendored <= shipped, sorted(map(str, vendored - shipped))
