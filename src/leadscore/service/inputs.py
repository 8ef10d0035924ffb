"""What may be written: leads, events, outcomes and overrides, validated by pydantic.

The API validates request bodies with these models and `leadscore import` validates file rows
with the same ones, so both accept exactly the same data. Unknown keys are errors (a typo
such as `ocurred_at` must not be dropped silently). Times are ISO 8601 text (§2.1: no zone
means UTC) and become epoch microseconds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from leadscore.core.records import normalise_email
from leadscore.core.timestamps import (
    EXAMPLE,
    INSTANT_PATTERN,
    SPACE,
    TimestampError,
    parse_instant,
    to_micros,
)
from leadscore.service import input_rules as rules

MAX_BATCH_EVENTS = 10_000
MAX_BATCH_LEADS = 1_000


def _timestamp(value: object) -> int:
    if isinstance(value, datetime | date):
        return to_micros(value)
    if isinstance(value, str):
        try:
            return parse_instant(value)
        except TimestampError as exc:
            raise ValueError(str(exc)) from None
    raise ValueError(f"must be an ISO 8601 timestamp (RFC 3339) such as {EXAMPLE}")


Timestamp = Annotated[
    int,
    BeforeValidator(_timestamp),
    WithJsonSchema({"type": "string", "pattern": INSTANT_PATTERN, "examples": [EXAMPLE]}),
]
"""RFC 3339 / ISO 8601 text in (core.timestamps.parse_instant), epoch microseconds out; the
schema's pattern is exactly the grammar parse_instant accepts."""

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


def email_address(value: str) -> str:
    """An e-mail address normalised (trimmed, lower case), or ValueError."""
    email = normalise_email(value)
    if email is None or not _EMAIL.fullmatch(email):
        raise ValueError(f"{value!r} is not an e-mail address")
    return email


EMAIL_PATTERN = f"^[{SPACE}]*[^@{SPACE}\\x00]+@[^@{SPACE}\\x00]+[{SPACE}]*$"
"""What `email_address` accepts (before the 320-character limit), as a schema pattern."""
Email = Annotated[
    str,
    StringConstraints(max_length=320),
    AfterValidator(email_address),
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": 320,
            "pattern": EMAIL_PATTERN,
            "examples": ["ada@example.com"],
        }
    ),
]
Id = Annotated[str, StringConstraints(min_length=1, max_length=200)]


def whole(value: object) -> object:
    """A float with no fraction (`3.0`) is the integer it spells: JSON Schema's `integer`
    admits it, and strict validation otherwise refuses it. Booleans and text stay refused."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    return value


def _trimmed(max_length: int) -> Callable[[str], str]:
    """A validator of text that is trimmed (`str.strip`) and then 1 to `max_length`
    characters: a name, a stage, a reason."""

    def trimmed(value: str) -> str:
        text = value.strip()
        if not text:
            raise ValueError("must hold a character other than white space")
        if len(text) > max_length:
            raise ValueError(f"at most {max_length} characters (after trimming), not {len(text)}")
        return text

    return trimmed


def _trimmed_schema(max_length: int) -> dict[str, Any]:
    """`_trimmed(max_length)` as a pattern: optional spaces, a non-space, at most
    `max_length - 2` more characters and a closing non-space, spaces."""
    body = f"[^{SPACE}\\x00]"
    pattern = f"^[{SPACE}]*{body}(?:[^\\x00]{{0,{max_length - 2}}}{body})?[{SPACE}]*$"
    return {"type": "string", "pattern": pattern}


Name = Annotated[str, AfterValidator(_trimmed(200)), WithJsonSchema(_trimmed_schema(200))]
Stage = Annotated[str, AfterValidator(_trimmed(100)), WithJsonSchema(_trimmed_schema(100))]


def _lead_id(value: str) -> str:
    if "/" in value or value in (".", ".."):
        raise ValueError(
            "a lead id cannot contain '/' or be '.' or '..': it must fit in one URL path segment"
        )
    return value


LeadId = Annotated[
    Id,
    AfterValidator(_lead_id),
    WithJsonSchema(
        {"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"^(?!\.\.?$)[^/\x00]+$"}
    ),
]
"""The id of a new lead: it names the lead in URL paths (/leads/{id}), so no '/' (see
docs/api.md#leads)."""


def _source(value: str) -> str:
    if ":" in value:
        raise ValueError("a source name cannot contain ':' (lookups write source:id)")
    return value


Source = Annotated[
    str,
    AfterValidator(_trimmed(100)),
    AfterValidator(_source),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": f"^[{SPACE}]*[^:{SPACE}\\x00]"
            f"(?:[^:\\x00]{{0,98}}[^:{SPACE}\\x00])?[{SPACE}]*$",
        }
    ),
]
"""The name of another system in an external id (`hubspot`, `salesforce`)."""
SourceKey = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100),
    AfterValidator(_source),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[^:\\x00]+$"}),
]
"""The same, as a key of `external_ids` (kept as sent)."""


def _attribute(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise ValueError("an attribute must be a string, number, boolean, date text or null")


_LIMITS = rules.DEFAULT_LIMITS
DOCUMENTED_DEPTH = 8
"""How deep the schema of event properties is written out; `api.openapi` cuts it at the
configured LEADSCORE_MAX_DEPTH and writes the configured limits where `x-limit` says."""
_TEXT = {"type": "string", "maxLength": _LIMITS.value_length, "x-limit": "value_length"}
_NUMBER = {"type": "number", "minimum": rules.INT64[0], "exclusiveMaximum": 2**63}
_SCALARS: list[dict[str, Any]] = [_TEXT, _NUMBER, {"type": "boolean"}, {"type": "null"}]


def _property_schema(level: int) -> dict[str, Any]:
    """The schema of a property value at `level` (the properties object is level 1): what
    `input_rules.checked_property` accepts (with the default limits until `api.openapi`
    writes the configured ones; `x-level` marks where LEADSCORE_MAX_DEPTH cuts)."""
    if level > DOCUMENTED_DEPTH:
        return {"anyOf": _SCALARS}
    inner = _property_schema(level + 1)
    return {
        "x-level": level,
        "anyOf": [
            *_SCALARS,
            {"type": "array", "maxItems": _LIMITS.keys, "x-limit": "keys", "items": inner},
            {
                "type": "object",
                "maxProperties": _LIMITS.keys,
                "x-limit": "keys",
                "propertyNames": {"maxLength": _LIMITS.value_length, "x-limit": "value_length"},
                "additionalProperties": inner,
            },
        ],
    }


Attribute = Annotated[
    Any,
    AfterValidator(_attribute),
    AfterValidator(rules.checked_text),
    WithJsonSchema({"anyOf": _SCALARS}),
]
_NAME = {"type": "string", "minLength": 1, "maxLength": rules.NAME_LENGTH}
AttributeName = Annotated[
    str, StringConstraints(min_length=1), AfterValidator(rules.checked_name), WithJsonSchema(_NAME)
]
PropertyName = Annotated[
    str,
    AfterValidator(rules.checked_name),
    WithJsonSchema({"type": "string", "maxLength": rules.NAME_LENGTH}),
]
Property = Annotated[
    Any, AfterValidator(rules.checked_property), WithJsonSchema(_property_schema(2))
]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=100_000)


class ExternalRef(Input):
    """A lead's id in another system, e.g. `{"source": "hubspot", "id": "1234"}`."""

    source: Source
    id: Id


class LeadRef(Input):
    """Names a lead by our id, an external id or an e-mail (looked up in that order)."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": [name], "properties": {name: {"not": {"type": "null"}}}}
                for name in ("lead_id", "external_id", "email")
            ]
        }
    )

    lead_id: Id | None = None
    external_id: ExternalRef | None = None
    email: Email | None = None

    @model_validator(mode="after")
    def _names_a_lead(self) -> LeadRef:
        if self.lead_id is None and self.external_id is None and self.email is None:
            raise ValueError("name the lead: lead_id, external_id or email")
        return self


class EventIn(LeadRef):
    """One event (§1): something a lead did."""

    id: Id | None = Field(None, description="Idempotency key; generated when absent.")
    type: Annotated[
        str,
        StringConstraints(min_length=1, max_length=200, pattern=f"[^{SPACE}]"),
        WithJsonSchema(
            {
                "type": "string",
                "minLength": 1,
                "maxLength": 200,
                "pattern": f"^[^\\x00]*[^{SPACE}\\x00][^\\x00]*$",
            }
        ),
    ]
    occurred_at: Timestamp | None = Field(None, description="Default: when it is received.")
    properties: Annotated[dict[PropertyName, Property], AfterValidator(rules.checked_count)] = (
        Field(
            default_factory=dict,
            json_schema_extra={"maxProperties": _LIMITS.keys, "x-limit": "keys"},
        )
    )
    source: Name | None = None


class EventBatch(Input):
    events: list[EventIn] = Field(min_length=1, max_length=MAX_BATCH_EVENTS)


class ConsentIn(Input):
    """The lawful basis for processing (GDPR, §9)."""

    basis: (
        Literal[
            "consent",
            "legitimate_interest",
            "contract",
            "legal_obligation",
            "vital_interests",
            "public_task",
        ]
        | None
    ) = None
    given_at: Timestamp | None = None
    withdrawn_at: Timestamp | None = None
    source: Name | None = None


class LeadIn(Input):
    """Create a lead, or update the one with this id, e-mail or external id (upsert).

    On update only the keys sent change: attributes and external ids are merged key by key,
    `owner: null` clears the owner.
    """

    id: LeadId | None = Field(None, description="Generated when absent and no lead matches.")
    email: Email | None = None
    external_ids: dict[SourceKey, Id] = Field(default_factory=dict, examples=[{"hubspot": "1234"}])
    attributes: Annotated[dict[AttributeName, Attribute], AfterValidator(rules.checked_count)] = (
        Field(
            default_factory=dict,
            examples=[{"industry": "software", "employees": 250}],
            json_schema_extra={"maxProperties": _LIMITS.keys, "x-limit": "keys"},
        )
    )
    owner: Name | None = None
    stage: Stage | None = Field(
        None, description="Set by a person or the CRM (e.g. opportunity); scoring keeps it."
    )
    consent: ConsentIn | None = None


class LeadBatch(Input):
    leads: list[LeadIn] = Field(min_length=1, max_length=MAX_BATCH_LEADS)


class OutcomeIn(LeadRef):
    """A lead converted (won) or was lost, at a time (§1)."""

    outcome: Literal["converted", "lost"]
    occurred_at: Timestamp | None = Field(None, description="Default: when it is received.")
    value: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    set_stage: bool = Field(True, description="Move the lead to `customer` or `lost`.")


class OutcomeBatch(Input):
    outcomes: list[OutcomeIn] = Field(min_length=1, max_length=MAX_BATCH_EVENTS)


MAX_REASON = 2_000
"""An override's reason is a note for the next reader, not a document: 2,000 characters."""


class OverrideIn(Input):
    """A person's override (§4): points added to the score, or a pinned stage."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": [name], "properties": {name: {"not": {"type": "null"}}}}
                for name in ("points", "stage")
            ]
        }
    )

    points: Annotated[float, Field(allow_inf_nan=False)] | None = None
    stage: Stage | None = None
    reason: Annotated[
        str,
        AfterValidator(_trimmed(MAX_REASON)),
        WithJsonSchema(
            {
                "type": "string",
                "maxLength": MAX_REASON,
                "pattern": f"^[^\\x00]*[^{SPACE}\\x00][^\\x00]*$",
            }
        ),
    ]
    author: Name | None = Field(None, description="Default: the API key's name.")
    expires_at: Timestamp | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> OverrideIn:
        if (self.points is None) == (self.stage is None):
            raise ValueError("give exactly one of points or stage")
        return self
