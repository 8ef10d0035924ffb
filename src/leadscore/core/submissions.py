"""What every lead source produces (§8): a person and one thing they did.

An ad platform's lead form, a mapped webhook and a tracked form submission all end as a
`Submission`: who (e-mail, external ids, attributes, consent) and the event (type, its
idempotency id, time and properties). The service writes it as an upsert plus an event in
one transaction (service/sources.py); nothing here does I/O.

`apply_fields` is the one field mapping every source shares: a platform's answer keys are
mapped onto lead targets, and answers left unmapped are kept as event properties, so that
nothing a person typed is lost.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

TARGETS = ("email", "consent", "external_id", "ignore")
"""Field-map targets besides `attribute:NAME` / a bare attribute name and `property:NAME`."""

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
YES = frozenset({"1", "true", "yes", "y", "on", "checked", "agree", "agreed", "i agree", "ja"})


@dataclass(frozen=True)
class SubmittedConsent:
    """A consent answer of a form: given (or refused) at the submission's time."""

    given: bool
    source: str


@dataclass(frozen=True)
class Submission:
    """One person and one event from a source. `event_id` makes a replayed delivery a
    duplicate: it is derived from the platform's own id (a leadgen id, a delivery id)."""

    source: str
    event_type: str
    event_id: str
    occurred_at: int | None
    email: str | None = None
    external_ids: Mapping[str, str] = field(default_factory=dict)
    attributes: Mapping[str, object] = field(default_factory=dict)
    properties: Mapping[str, object] = field(default_factory=dict)
    consent: SubmittedConsent | None = None
    create: bool = True
    """Whether an unknown person becomes a lead (an e-mail tool's open of an unknown address
    does not: it would create leads from mailing lists)."""


@dataclass(frozen=True)
class Mapped:
    email: str | None
    attributes: dict[str, object]
    properties: dict[str, object]
    consent: bool | None
    external_id: str | None


class FieldMapError(ValueError):
    """A target of a field map that names nothing we can write."""


def check_target(target: str) -> str:
    """`target` when it is a valid field-map target, else FieldMapError saying why."""
    if target in TARGETS:
        return target
    kind, _, name = target.partition(":")
    if kind in ("attribute", "property") and _NAME.match(name):
        return target
    if not name and _NAME.match(target):
        return target
    raise FieldMapError(
        f"{target!r} is not a target: use email, consent, external_id, ignore, an attribute"
        " name, attribute:NAME or property:NAME"
    )


def apply_fields(answers: Mapping[str, object], fields: Mapping[str, str]) -> Mapped:
    """Map a form's answers (question key → value) onto a lead. Keys are matched exactly,
    then case-insensitively; an unmapped answer becomes an event property of its own key."""
    folded = {key.casefold(): target for key, target in fields.items()}
    email: str | None = None
    external_id: str | None = None
    consent: bool | None = None
    attributes: dict[str, object] = {}
    properties: dict[str, object] = {}
    for key, value in answers.items():
        target = fields.get(key) or folded.get(key.casefold())
        if target is None:
            properties[key] = value
        elif target == "ignore":
            continue
        elif target == "email":
            email = str(value).strip() or None if value is not None else None
        elif target == "external_id":
            external_id = str(value) if value not in (None, "") else None
        elif target == "consent":
            consent = is_yes(value)
        elif target.startswith("property:"):
            properties[target.split(":", 1)[1]] = value
        else:
            attributes[target.split(":", 1)[-1]] = value
    return Mapped(email, attributes, properties, consent, external_id)


def is_yes(value: object) -> bool:
    """A checkbox or consent answer as platforms send it (true, "Yes", "1", ["I agree"])."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (list, tuple)):
        return any(is_yes(v) for v in value)
    if isinstance(value, (int, float)):
        return value != 0
    return str(value).strip().casefold() in YES
