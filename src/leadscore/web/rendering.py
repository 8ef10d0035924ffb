"""The Jinja2 environment of the dashboard's templates, with the i18n extension speaking the
page's language: every string is wrapped for translation (`{% trans %}`, `_()`) and looked up
in the catalogue of the language `page` picks — the user's own, or the browser's
(`Accept-Language`) when they have chosen none or nobody is logged in — and the number and
date filters format in its locale. Messages written in Python for pages (`N_`) are
translated as they are output (the environment's `finalize`)."""

from __future__ import annotations

import json
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from babel import dates as babel_dates
from babel import numbers as babel_numbers
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context as TemplateContext
from markupsafe import Markup
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from leadscore.core.languages import DEFAULT, LANGUAGES, babel_locale, best_language
from leadscore.locales import Text, translations

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
        "style-src 'self'",  # uPlot sets styles through the CSSOM, which CSP allows; htmx's own
        # indicator style is off (base.html's htmx-config)
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


PAGE_LANGUAGE: ContextVar[str] = ContextVar("page_language", default=DEFAULT)
"""The language of the page being rendered (set by `page`): read by the gettext callables
and filters, so that macros imported without context speak it too."""


def _locale(context: TemplateContext) -> str:
    """The page's locale (a `locale` variable in the render context), else the language's."""
    return str(context.get("locale") or babel_locale(PAGE_LANGUAGE.get()))


def _gettext(message: str) -> str:
    return translations(PAGE_LANGUAGE.get()).gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return translations(PAGE_LANGUAGE.get()).ngettext(singular, plural, n)


def _finalize(value: Any) -> Any:
    """A message marked in Python (`N_`) is shown in the page's language."""
    if isinstance(value, Text):
        return value.translated(translations(PAGE_LANGUAGE.get()))
    return value


BROWSER_LANGUAGE: ContextVar[str] = ContextVar("browser_language", default=DEFAULT)
"""The language the current request's browser prefers (set by `BrowserLanguage`)."""


class BrowserLanguage:
    """ASGI middleware noting the language of each request's `Accept-Language`, for the
    pages of people who have chosen none (and the login page)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope["headers"] if k == b"accept-language"), b"")
        token = BROWSER_LANGUAGE.set(best_language(header.decode("latin-1")))
        try:
            await self.app(scope, receive, send)
        finally:
            BROWSER_LANGUAGE.reset(token)


def page_language(user: Any) -> str:
    """The user's chosen language (one we ship), else the browser's."""
    chosen = getattr(user, "language", None)
    return str(chosen) if chosen in LANGUAGES else BROWSER_LANGUAGE.get()


@pass_context
def number(
    context: TemplateContext, value: float | int | None, digits: int = 0, upto: int = 0
) -> str:
    """A number in the page's locale (grouping and decimal signs) with `digits` decimals, or
    up to `upto` when more (`number(0, 2)`: 87, 87.5, 87.25); "–" for none."""
    if value is None:
        return "–"
    decimals = "0" * digits + "#" * max(0, upto - digits)
    pattern = "#,##0" + ("." + decimals if decimals else "")
    return babel_numbers.format_decimal(value, format=pattern, locale=_locale(context))


@pass_context
def percent(context: TemplateContext, value: float | None, digits: int = 1) -> str:
    """A share (0.123) as a percentage in the page's locale ("12.3%", "12,3%")."""
    if value is None:
        return "–"
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return babel_numbers.format_percent(value, format=pattern, locale=_locale(context))


@pass_context
def money(context: TemplateContext, value: float | None, currency: str) -> str:
    """An amount with its currency in the page's locale ("€1,234.50", "1 234,50 zł")."""
    if value is None:
        return "–"
    return babel_numbers.format_currency(value, currency, locale=_locale(context))


@pass_context
def datetime_text(context: TemplateContext, value: str | None) -> str:
    """An RFC 3339 timestamp (as the API gives them) as a medium date and time, UTC."""
    if not value:
        return "–"
    moment = _parse_rfc3339(value)
    return babel_dates.format_datetime(moment, "medium", tzinfo=UTC, locale=_locale(context))


@pass_context
def date_text(context: TemplateContext, value: str | None) -> str:
    """An RFC 3339 timestamp or ISO date as a medium date in the page's locale."""
    if not value:
        return "–"
    moment = _parse_rfc3339(value if "T" in value else value + "T00:00:00Z")
    return babel_dates.format_date(moment.date(), "medium", locale=_locale(context))


def _parse_rfc3339(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        finalize=_finalize,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]  # by the i18n extension
        _gettext, _ngettext, newstyle=True
    )
    env.filters["json_script"] = json_script
    env.filters["number"] = number
    env.filters["percent"] = percent
    env.filters["money"] = money
    env.filters["datetime"] = datetime_text
    env.filters["date"] = date_text
    env.globals["vendor"] = VENDOR
    env.globals["assets"] = ASSETS_URL
    return env


ENV = environment()


def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A rendered template with the dashboard's security headers, in the language of the
    `user` in `context` (or of the browser)."""
    lang = context.pop("lang", None) or page_language(context.get("user"))
    context.setdefault("locale", babel_locale(lang))
    token = PAGE_LANGUAGE.set(lang)
    try:
        body = ENV.get_template(name).render(lang=lang, **context)
    finally:
        PAGE_LANGUAGE.reset(token)
    return HTMLResponse(body, status, headers=security_headers())


def security_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }
