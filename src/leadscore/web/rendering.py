"""The Jinja2 environment of the dashboard's templates, with the i18n extension and null
translations installed: every string is wrapped for translation (`{% trans %}`, `_()`), so
Babel catalogues can be plugged in later without touching the templates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.responses import HTMLResponse

HERE = Path(__file__).parent
STATIC = HERE / "static"
ASSETS_URL = "/assets"
VENDOR = {
    "htmx": f"{ASSETS_URL}/vendor/htmx-2.0.11/htmx.min.js",
    "uplot_js": f"{ASSETS_URL}/vendor/uplot-1.6.32/uPlot.iife.min.js",
    "uplot_css": f"{ASSETS_URL}/vendor/uplot-1.6.32/uPlot.min.css",
}
"""The vendored files the pages load (static/vendor/VERSIONS.md)."""
CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",  # uPlot and htmx set inline styles
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
"""Only the app's own files run: no inline script (the chart's data is JSON, not code)."""


def json_script(value: Any) -> Markup:
    """JSON safe inside <script type="application/json">: `<`, `>` and `&` escaped."""
    text = json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e")
    return Markup(text.replace("&", "\\u0026"))


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]  # by the i18n extension
    env.filters["json_script"] = json_script
    env.globals["vendor"] = VENDOR
    env.globals["assets"] = ASSETS_URL
    return env


ENV = environment()


def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A rendered template with the dashboard's security headers."""
    body = ENV.get_template(name).render(**context)
    return HTMLResponse(body, status, headers=security_headers())


def security_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }
