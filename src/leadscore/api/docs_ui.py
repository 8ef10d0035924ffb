"""The API documentation pages, served from the package so that they work offline.

`/docs` (Swagger UI) and `/redoc` (ReDoc) are FastAPI's own pages, pointed at the files
vendored in `api/static/` (see its VERSIONS.md) and served at `/static/...`; no page names a
URL outside the app (no CDN, no web fonts, no favicon from elsewhere, no Swagger validator
badge). Each page carries a Content-Security-Policy that allows only the app itself, plus
what the bundles need:

- script: the one inline bootstrap script of the Swagger UI page, by its sha256 hash
  (computed from the page FastAPI renders, so it follows FastAPI's template);
- style: `'unsafe-inline'`, because ReDoc (styled-components) inserts `<style>` elements,
  Swagger UI's syntax highlighter sets inline styles, and the ReDoc page has one `<style>`;
- images and fonts: `data:` URIs, which the Swagger UI stylesheet uses for its icons;
- workers: `blob:`, because ReDoc runs its search index in a worker made from a blob.

The pages, `/openapi.json` and the static files need no API key.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
STATIC_URL = "/static"
FAVICON = f"{STATIC_URL}/swagger-ui/favicon-32x32.png"
SWAGGER_PARAMETERS = {"validatorUrl": None}
"""Swagger UI asks validator.swagger.io for a badge unless told not to."""

INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def csp(page: HTMLResponse, *, workers: bool = False) -> str:
    """The Content-Security-Policy of a docs page: 'self', plus a hash for each of the page's
    inline scripts (and blob: workers when `workers`)."""
    body = bytes(page.body).decode()
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in INLINE_SCRIPT.findall(body)
    ]
    directives = [
        "default-src 'none'",
        " ".join(["script-src 'self'", *hashes]),
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:" if workers else "worker-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def install(app: FastAPI, openapi_url: str) -> None:
    """Serve /static, /docs and /redoc (create the app with docs_url=None, redoc_url=None)."""
    app.mount(STATIC_URL, StaticFiles(directory=STATIC), name="static")
    title = f"{app.title} API"
    swagger = get_swagger_ui_html(
        openapi_url=openapi_url,
        title=title,
        swagger_js_url=f"{STATIC_URL}/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url=f"{STATIC_URL}/swagger-ui/swagger-ui.css",
        swagger_favicon_url=FAVICON,
        oauth2_redirect_url=None,
        swagger_ui_parameters=SWAGGER_PARAMETERS,
    )
    redoc = get_redoc_html(
        openapi_url=openapi_url,
        title=title,
        redoc_js_url=f"{STATIC_URL}/redoc/redoc.standalone.js",
        redoc_favicon_url=FAVICON,
        with_google_fonts=False,
    )
    pages = {"/docs": (swagger, csp(swagger)), "/redoc": (redoc, csp(redoc, workers=True))}

    for path, (page, policy) in pages.items():
        app.add_api_route(path, _page(page, policy), methods=["GET"], include_in_schema=False)


def _page(page: HTMLResponse, policy: str) -> Callable[[], HTMLResponse]:
    body = bytes(page.body)
    headers = {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }

    def serve() -> HTMLResponse:
        return HTMLResponse(body, headers=headers)

    return serve
