"""Mapped inbound webhooks (§8): the `webhooks:` section of the sources file, and the pure
mapping of a parsed delivery onto submissions (docs/sources.md, "Mapped webhooks").

An endpoint is a ready `preset` (Calendly, Intercom, Mailchimp, SendGrid, Brevo: data files
read by the service) and/or an explicit `mapping`, plus a `verify` check (an HMAC over the
body or over a timestamp and the body, a token, or SendGrid's ECDSA signature) and its
`secret` (`env:NAME`). Fields of an endpoint's own `mapping` override the preset's.

The mapping reads JSON paths (core/json_paths.py) of each item of a delivery. A tool's event
names are mapped onto ours by `event_type.values`; a name not in the map is skipped and
counted (`unmapped: skip`, the default: tools send events nobody scores, such as SendGrid's
`processed`, and would retry a refused delivery for days) or refuses the delivery with a 400
(`unmapped: refuse`). `create` says which events may create a lead for an unknown e-mail:
an e-mail tool's open must not (it would turn mailing lists into leads), a booking should.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from leadscore.core.json_paths import PathError, check_path, check_time_format, parse_path
from leadscore.core.json_paths import read_time as _read_time
from leadscore.core.model import Strict
from leadscore.core.submissions import Submission

PRESETS = ("calendly", "intercom", "mailchimp", "sendgrid", "brevo")
"""The ready presets (service/webhook_presets/NAME.yaml)."""

PathText = Annotated[str, AfterValidator(check_path)]
TimeFormat = Annotated[str, AfterValidator(check_time_format)]
Header = Annotated[str, Field(min_length=1, max_length=200)]


class HmacCheck(Strict):
    """An HMAC of the body (`signed: body`), or of `{t}.{body}` with the header written
    `t=<seconds>,v1=<signature>` as Calendly does (`signed: timestamp_body`), where a
    timestamp further than `tolerance` seconds from now is refused (a replay)."""

    kind: Literal["hmac"]
    header: Header
    algorithm: Literal["sha1", "sha256", "sha512"] = "sha256"
    encoding: Literal["hex", "base64"] = "hex"
    prefix: str = ""
    signed: Literal["body", "timestamp_body"] = "body"
    tolerance: Annotated[int, Field(ge=1, le=86_400)] = 180


class TokenCheck(Strict):
    """A shared token in a header (after an optional `prefix` such as `Bearer `) or in a
    query parameter of the URL pasted into the tool."""

    kind: Literal["token"]
    header: Header | None = None
    query: Header | None = None
    prefix: str = ""

    @model_validator(mode="after")
    def _one_place(self) -> TokenCheck:
        if (self.header is None) == (self.query is None):
            raise ValueError("a token check names either a header or a query parameter")
        return self


class EcdsaCheck(Strict):
    """SendGrid's signed Event Webhook: an ECDSA (P-256, SHA-256) signature, base64 DER in
    `header`, over the timestamp header's text followed by the body; the secret is the
    public key SendGrid shows (base64 DER, or PEM)."""

    kind: Literal["ecdsa"]
    header: Header
    timestamp_header: Header
    tolerance: Annotated[int, Field(ge=1, le=86_400)] | None = None


Verify = Annotated[HmacCheck | TokenCheck | EcdsaCheck, Field(discriminator="kind")]


class EventTypes(Strict):
    """The tool's event name at `path`, mapped onto ours by `values`."""

    path: PathText
    values: dict[str, Annotated[str, Field(min_length=1, max_length=200)]]
    unmapped: Literal["skip", "refuse"] = "skip"


class When(Strict):
    path: PathText
    format: TimeFormat = "iso"


class ExternalRef(Strict):
    source: Annotated[str, Field(min_length=1, max_length=100)]
    path: PathText


class WebhookMapping(Strict):
    """Where a delivery's items are and what each field of an item means."""

    items: PathText | None = None
    """The list of events in a delivery; none: the delivery is one item, or a top-level
    JSON array is the list."""
    email: PathText | None = None
    external_id: ExternalRef | None = None
    event_type: Annotated[str, Field(min_length=1, max_length=200)] | EventTypes | None = None
    occurred_at: When | None = None
    event_id: PathText | None = None
    """The tool's id of the event; none: a digest of the item, so a replay is a duplicate."""
    properties: dict[str, PathText] = Field(default_factory=dict)
    attributes: dict[str, PathText] = Field(default_factory=dict)
    create: bool | list[str] = True
    """Whether an unknown person becomes a lead: for every event, or for those types."""


class WebhookEndpoint(Strict):
    """One endpoint of the `webhooks:` section: POST /api/v1/sources/webhooks/{name}."""

    preset: Literal["calendly", "intercom", "mailchimp", "sendgrid", "brevo"] | None = None
    verify: Verify | None = None
    secret: Annotated[str, Field(min_length=1)]
    """The shared secret, token or public key: `env:NAME` in production."""
    mapping: WebhookMapping | None = None
    body: Literal["json", "form"] | None = None
    source: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    """The events' `source` (default: the preset's name, else the endpoint's)."""

    @model_validator(mode="after")
    def _complete(self) -> WebhookEndpoint:
        if self.preset is None:
            if self.verify is None:
                raise ValueError("an endpoint without a preset needs verify (hmac or token)")
            if self.mapping is None or self.mapping.event_type is None:
                raise ValueError("an endpoint without a preset needs mapping.event_type")
            if self.mapping.email is None and self.mapping.external_id is None:
                raise ValueError("mapping needs email or external_id")
        return self


class Preset(Strict):
    """A ready preset as shipped (service/webhook_presets/NAME.yaml)."""

    title: str
    docs: list[str]
    setup: str
    body: Literal["json", "form"] = "json"
    verify: Verify
    mapping: WebhookMapping


@dataclass(frozen=True)
class Resolved:
    """An endpoint with its preset applied: what a delivery is checked and mapped with."""

    name: str
    source: str
    body: str
    verify: HmacCheck | TokenCheck | EcdsaCheck
    mapping: WebhookMapping


def resolve(name: str, endpoint: WebhookEndpoint, preset: Preset | None) -> Resolved:
    """The endpoint over its preset: its own verify, body and mapping fields win."""
    mapping = endpoint.mapping
    if preset is not None:
        mapping = preset.mapping
        if endpoint.mapping is not None:
            own = {k: getattr(endpoint.mapping, k) for k in endpoint.mapping.model_fields_set}
            mapping = mapping.model_copy(update=own)
    verify = endpoint.verify or (preset.verify if preset is not None else None)
    assert mapping is not None and verify is not None  # WebhookEndpoint._complete
    body = endpoint.body or (preset.body if preset is not None else "json")
    return Resolved(name, endpoint.source or endpoint.preset or name, body, verify, mapping)


# --- mapping a delivery -----------------------------------------------------------------------


class MappingError(ValueError):
    """A delivery the mapping cannot read: `field` is the path in the delivery."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class Mapped:
    submissions: list[Submission] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    """The tool's event names not in the map, with how many items had each."""


def apply(resolved: Resolved, delivery: object) -> Mapped:
    """The submissions of one parsed delivery (all or nothing: MappingError on the first
    item that cannot be read, naming its path)."""
    mapping = resolved.mapping
    items, base = _items(mapping, delivery)
    out = Mapped()
    for index, item in enumerate(items):
        where = f"{base}[{index}]" if base is not None else ""
        submission = _one(resolved, item, where, out)
        if submission is not None:
            out.submissions.append(submission)
    return out


def _items(mapping: WebhookMapping, delivery: object) -> tuple[list[object], str | None]:
    if mapping.items is None:
        if isinstance(delivery, list):
            return delivery, ""
        return [delivery], None
    path = parse_path(mapping.items)
    try:
        found = path.read(delivery)
    except PathError as exc:
        raise MappingError(f"items: {exc}", mapping.items) from None
    if found is None:
        return [], mapping.items
    if not isinstance(found, list):
        raise MappingError(f"items: {mapping.items} is not a list", mapping.items)
    return found, mapping.items.rstrip("?")


def _read(item: object, path_text: str, where: str) -> object:
    path = parse_path(path_text)
    try:
        return path.read(item)
    except PathError as exc:
        full = _join(where, path_text.rstrip("?"))
        raise MappingError(f"{full}: {exc}", full) from None


def _join(where: str, path: str) -> str:
    if not where:
        return path
    return f"{where}.{path}" if path != "$" else where


def _text(value: object, path: str, where: str, what: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        full = _join(where, path.rstrip("?"))
        raise MappingError(f"{full}: {what} must be text, not {type(value).__name__}", full)
    text = str(value).strip()
    return text or None


def _one(resolved: Resolved, item: object, where: str, out: Mapped) -> Submission | None:
    mapping = resolved.mapping
    rule = mapping.event_type
    if isinstance(rule, EventTypes):
        name = _text(_read(item, rule.path, where), rule.path, where, "the event name")
        ours = rule.values.get(name) if name is not None else None
        if ours is None:
            if rule.unmapped == "refuse":
                full = _join(where, rule.path.rstrip("?"))
                raise MappingError(f"{full}: {name!r} is not a mapped event name", full)
            key = name or ""
            out.skipped[key] = out.skipped.get(key, 0) + 1
            return None
        event_type = ours
    else:
        assert rule is not None  # resolve: a preset or the endpoint gives it
        event_type = rule
    email = None
    if mapping.email is not None:
        email = _text(_read(item, mapping.email, where), mapping.email, where, "the e-mail")
    externals: dict[str, str] = {}
    if mapping.external_id is not None:
        ref = mapping.external_id
        found = _text(_read(item, ref.path, where), ref.path, where, "the external id")
        if found is not None:
            externals[ref.source] = found
    if email is None and not externals:
        named = mapping.email or (mapping.external_id.path if mapping.external_id else "email")
        full = _join(where, named.rstrip("?"))
        raise MappingError(f"{full}: no e-mail address or external id", full)
    occurred_at = None
    if mapping.occurred_at is not None:
        when = mapping.occurred_at
        value = _read(item, when.path, where)
        if value is not None:
            full = _join(where, when.path.rstrip("?"))
            try:
                occurred_at = _read_time(value, when.format, full)
            except PathError as exc:
                raise MappingError(str(exc), full) from None
    if mapping.event_id is not None:
        own = _text(_read(item, mapping.event_id, where), mapping.event_id, where, "the id")
        event_id = f"{resolved.source}:{event_type}:{own}" if own else _digest(resolved, item)
    else:
        event_id = _digest(resolved, item)
    properties = _values(item, mapping.properties, where)
    attributes = _values(item, mapping.attributes, where)
    create = mapping.create if isinstance(mapping.create, bool) else event_type in mapping.create
    return Submission(
        source=resolved.source,
        event_type=event_type,
        event_id=event_id[:200],
        occurred_at=occurred_at,
        email=email,
        external_ids=externals,
        attributes=attributes,
        properties=properties,
        create=create,
    )


def _values(item: object, paths: Mapping[str, str], where: str) -> dict[str, object]:
    out: dict[str, object] = {}
    for name, path in paths.items():
        value = _read(item, path, where)
        if value is not None:
            out[name] = value
    return out


def _digest(resolved: Resolved, item: object) -> str:
    """An item's own digest (canonical JSON): the same delivery again is a duplicate."""
    text = json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{resolved.source}:{hashlib.sha256(text.encode()).hexdigest()[:40]}"


def form_tree(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """A form-encoded body (`type=subscribe&data[email]=a@b&data[merges][FNAME]=A`) as the
    nested object Mailchimp means, so that paths read it like JSON (`data.merges.FNAME`)."""
    tree: dict[str, Any] = {}
    for key, value in pairs:
        head, _, rest = key.partition("[")
        parts = [head] + ([p.rstrip("]") for p in ("[" + rest).split("[")[1:]] if rest else [])
        node = tree
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
    return tree
