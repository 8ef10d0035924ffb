"""Mapped inbound webhooks (§8): verify a delivery, parse it, map it onto submissions and
write them (service/sources.py `receive`: all or nothing, replays duplicates).

The presets are data files shipped in the package (service/webhook_presets/NAME.yaml), read
with importlib.resources once. The order of the checks is the safety contract: the
signature or token first (401, nothing parsed), then the body (400 naming the path), then
the writes (one transaction).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from urllib.parse import parse_qsl

from pydantic import ValidationError

from leadscore.core.loader import read_yaml
from leadscore.core.webhook_mapping import (
    PRESETS,
    Mapped,
    MappingError,
    Preset,
    Resolved,
    WebhookEndpoint,
    apply,
    form_tree,
    resolve,
)
from leadscore.core.webhook_signatures import SignatureError, verify
from leadscore.service.context import Context
from leadscore.service.sources import (
    Malformed,
    Received,
    Unsigned,
    Write,
    configured,
    receive,
)


@cache
def preset(name: str) -> Preset:
    """A shipped preset (a packaging error, not a user's, when it does not load)."""
    if name not in PRESETS:
        raise KeyError(name)
    text = (resources.files("leadscore.service") / "webhook_presets" / f"{name}.yaml").read_text(
        encoding="utf-8"
    )
    data, _, problems = read_yaml(text, what="a webhook preset is a mapping")
    if data is None or problems:
        raise RuntimeError(f"the {name} preset does not load: {problems}")
    try:
        return Preset.model_validate(data)
    except ValidationError as exc:
        raise RuntimeError(f"the {name} preset is invalid: {exc}") from None


def resolved(name: str, endpoint: WebhookEndpoint) -> Resolved:
    """An endpoint of the sources file with its preset applied."""
    return resolve(name, endpoint, preset(endpoint.preset) if endpoint.preset else None)


def endpoint(ctx: Context, name: str) -> tuple[Resolved, str] | None:
    """The configured endpoint `name` and its resolved secret, or None."""
    found = configured(ctx)
    own = found.file.webhooks.get(name)
    if own is None:
        return None
    secret = found.secret(own.secret, f"webhooks.{name}.secret")
    assert secret is not None  # the field is required
    return resolved(name, own), secret


def parse(resolved: Resolved, body: bytes) -> object:
    """The delivery as JSON (or a form's fields as a nested object), or Malformed."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Malformed(f"the delivery is not UTF-8 (byte {exc.start})") from None
    if resolved.body == "form":
        return form_tree(parse_qsl(text, keep_blank_values=True))
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise Malformed(f"the delivery is not JSON: {exc.msg} (line {exc.lineno})") from None
    except RecursionError:
        raise Malformed("the delivery is nested too deeply") from None


def mapped(resolved: Resolved, body: bytes) -> Mapped:
    """What a delivery becomes (no check, no write): `leadscore webhooks test` shows it."""
    try:
        return apply(resolved, parse(resolved, body))
    except MappingError as exc:
        raise Malformed(str(exc), exc.field) from None


@dataclass
class Delivered:
    results: list[Received] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)


def check_token(
    ctx: Context,
    resolved: Resolved,
    secret: str,
    headers: Mapping[str, str],
    query: Mapping[str, str],
) -> None:
    """A GET's token (a tool's URL check), or Unsigned: nothing else is read."""
    try:
        verify(resolved.verify, secret, b"", headers, query, ctx.now() / 1_000_000)
    except SignatureError as exc:
        raise Unsigned(f"webhooks.{resolved.name}: {exc}") from None


def deliver(
    ctx: Context,
    resolved: Resolved,
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    query: Mapping[str, str],
    write: Write = receive,
) -> Delivered:
    """Verify, map and write one delivery (see the module's docstring); `write` is how (the
    API's SourceWriter, or `receive`)."""
    try:
        verify(resolved.verify, secret, body, headers, query, ctx.now() / 1_000_000)
    except SignatureError as exc:
        raise Unsigned(f"webhooks.{resolved.name}: {exc}") from None
    found = mapped(resolved, body)
    results = write(ctx, found.submissions, f"webhook:{resolved.name}") if found.submissions else []
    return Delivered(results, found.skipped)
