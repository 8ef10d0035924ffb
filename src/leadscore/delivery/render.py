"""Messages from templates: an e-mail's subject, text and HTML, or a Slack-style message.

A template is a set of Jinja2 files named after it: `notify.subject.txt`, `notify.txt`,
`notify.html` and `notify.slack.txt` (`digest.…` alike). The built-in ones live in
`delivery/templates/`; a file of the same name in the user's folder (LEADSCORE_TEMPLATES_DIR)
replaces the built-in one, file by file, and a new name there is a new template. HTML is
escaped, Slack text has `&`, `<` and `>` escaped (so a lead called `<!channel>` pings no one),
and an undefined variable is an error, never an empty string: a broken template fails the
delivery permanently with the file, the line and the missing name.

Templates are written in English with their texts wrapped for translation (`_()` and
`ngettext()`, new-style: `%(name)s` placeholders); `language` (`en`, `pl`, `ro`, `sr-Latn`)
picks the catalogue, the decimal sign of `num` and `<html lang>` (the `lang` variable).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any

from babel.numbers import get_decimal_symbol
from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    UndefinedError,
    select_autoescape,
)

from leadscore.core.languages import DEFAULT, babel_locale, language_tag
from leadscore.delivery.errors import DeliveryError, permanent
from leadscore.locales import translations

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


@dataclass(frozen=True)
class Rendered:
    """An e-mail ready to send: a one-line subject, a plain-text body and an HTML body."""

    subject: str
    text: str
    html: str


def render(
    template: str,
    payload: Mapping[str, Any],
    *,
    templates_dir: str | None = None,
    language: str = DEFAULT,
) -> Rendered:
    """The e-mail of `template` (`notify`, `digest` or one of the user's) for `payload`, in
    `language`."""
    _check_name(template)
    env = _environment(templates_dir, slack=False, language=_language(language))
    subject = _render(env, templates_dir, f"{template}.subject.txt", payload)
    return Rendered(
        subject=" ".join(subject.split()),
        text=_render(env, templates_dir, f"{template}.txt", payload).strip() + "\n",
        html=_render(env, templates_dir, f"{template}.html", payload).strip() + "\n",
    )


def render_slack(
    template: str,
    payload: Mapping[str, Any],
    templates_dir: str | None = None,
    language: str = DEFAULT,
) -> str:
    """The Slack-style message (mrkdwn text) of `template` for `payload`, in `language`."""
    _check_name(template)
    env = _environment(templates_dir, slack=True, language=_language(language))
    return _render(env, templates_dir, f"{template}.slack.txt", payload).strip()


def _language(language: str) -> str:
    try:
        return language_tag(language)
    except ValueError as exc:
        raise permanent(str(exc)) from None


def _check_name(template: str) -> None:
    if not _NAME.fullmatch(template):
        raise permanent(
            f"template name {template!r}: lowercase letters, digits, '-' and '_' (e.g. notify)"
        )


def _render(
    env: Environment, templates_dir: str | None, name: str, payload: Mapping[str, Any]
) -> str:
    try:
        compiled = env.get_template(name)
    except TemplateNotFound:
        where = f"in {templates_dir} or " if templates_dir else ""
        raise permanent(
            f"template {name}: no such file {where}among the built-in templates"
        ) from None
    except TemplateSyntaxError as exc:
        raise permanent(
            f"template {_file(exc.filename, name)} line {exc.lineno}: {exc.message}"
        ) from None
    except (UnicodeDecodeError, OSError) as exc:
        raise permanent(f"template {name}: cannot be read: {exc}") from None
    try:
        return compiled.render({**payload, "payload": payload})
    except UndefinedError as exc:
        raise _failed(
            compiled, name, exc, f"{exc.message} (the payload has no such value)"
        ) from exc
    except (
        TemplateError,
        TypeError,
        ValueError,
        ArithmeticError,
        LookupError,
        RecursionError,
    ) as exc:
        raise _failed(compiled, name, exc, f"{type(exc).__name__}: {exc}") from exc


def _failed(compiled: Template, name: str, exc: BaseException, reason: str) -> DeliveryError:
    line = _line_in(compiled, exc.__traceback__)
    at = f" line {line}" if line else ""
    return permanent(f"template {_file(compiled.filename, name)}{at}: {reason}")


def _line_in(compiled: Template, tb: TracebackType | None) -> int | None:
    """The template line an error was raised at (Jinja2 rewrites its traceback so that
    template frames carry the template's file name and line)."""
    line = None
    while tb is not None:
        if compiled.filename and tb.tb_frame.f_code.co_filename == compiled.filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _file(filename: str | None, name: str) -> str:
    if filename and Path(filename).parent == BUILT_IN:
        return name
    return f"{name} ({filename})" if filename else name


BUILT_IN = Path(__file__).parent / "templates"


@lru_cache(maxsize=64)
def _environment(templates_dir: str | None, *, slack: bool, language: str = DEFAULT) -> Environment:
    loaders: list[BaseLoader] = []
    if templates_dir:
        if not Path(templates_dir).is_dir():
            raise permanent(f"templates folder {templates_dir}: not a folder")
        loaders.append(FileSystemLoader(templates_dir))
    loaders.append(PackageLoader("leadscore.delivery", "templates"))
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(["html"], default_for_string=False, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=slack_escape if slack else None,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(  # type: ignore[attr-defined]  # by the i18n extension
        translations(language), newstyle=True
    )
    env.filters.update(FILTERS)
    if language != DEFAULT:
        env.filters["num"] = _localised(number, get_decimal_symbol(babel_locale(language)))
        env.filters["signed"] = _localised(signed, get_decimal_symbol(babel_locale(language)))
    env.globals["lang"] = language
    return env


def _localised(format_: Callable[[object], str], decimal: str) -> Callable[[object], str]:
    """A number filter writing the language's decimal sign (87,5 in Polish)."""

    def localised(value: object) -> str:
        text = format_(value)
        return text.replace(".", decimal) if isinstance(value, int | float) else text

    return localised


def slack_escape(value: object) -> str:
    """The three characters Slack's mrkdwn gives meaning to, escaped as Slack asks."""
    text = "" if value is None else str(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def number(value: object) -> str:
    """A score or points as people write them: 87.5, 40, 12.25 (at most two decimals)."""
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def signed(value: object) -> str:
    """Points with their sign: +30, -12.5, 0."""
    text = number(value)
    return f"+{text}" if isinstance(value, int | float) and value > 0 else text


def when(value: object) -> str:
    """An RFC 3339 time of the payload as `2026-12-07 10:00 UTC` (other values unchanged)."""
    if not isinstance(value, str):
        return "–" if value is None else str(value)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    offset = moment.utcoffset()
    if offset is None or not offset:
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M %z")


FILTERS: dict[str, Callable[..., str]] = {"num": number, "signed": signed, "when": when}
