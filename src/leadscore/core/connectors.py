"""The connectors file (§8): which CRMs to sync, how their fields map onto leads, and what
is written back — and the pure rules that apply it.

A connector's mapping has a direction per field: `in` fields copy a CRM field into a lead
attribute (the CRM owns firmographics); `out` fields write one of leadscore's values
(score, fit, engagement, grade, tier, stage, owner, url) into a CRM field. The CRM's stage
field maps its values onto SPEC §4 stages (opportunity, customer, lost, …), and its deals
become §1 outcomes. Every vendor has a default mapping (docs/connectors.md); a file only
states what differs. Nothing here does I/O: the service reads records through the
connectors and writes leads through the store.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from leadscore.core.durations import DurationError, parse_duration
from leadscore.core.loader import FileError, located, pydantic_problems, read_yaml
from leadscore.core.model import Strict

VENDORS = ("hubspot", "salesforce", "pipedrive")
OUT_VALUES = ("score", "fit", "engagement", "grade", "tier", "stage", "owner", "url")
"""What leadscore can write to a CRM field."""
NUMERIC_OUT = frozenset({"score", "fit", "engagement"})
RESERVED_ATTRIBUTES = frozenset(
    {"id", "email", "owner", "stage", "score", "fit", "engagement", "grade", "tier"}
)
"""Lead names an `in` field cannot write: they are the lead's own columns or its score."""
PARDOT_SCORE = "pi__score__c"
"""Account Engagement (Pardot) keeps its own score here; written only when mapped on purpose."""
STAGES = ("opportunity", "customer", "lost", "disqualified")
"""The stages a CRM may set: the ones scoring never changes (§4), so the CRM and leadscore's
automatic stages never fight."""

_ATTRIBUTE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

Name = Annotated[str, Field(min_length=1, max_length=200)]


class FieldMap(Strict):
    """One mapped field: the CRM's field name, the lead's name and the direction."""

    crm: Name
    lead: Name
    direction: Literal["in", "out"]
    object: Name | None = None
    """The CRM object it applies to (Lead, Contact, …); every person object when absent."""
    type: Literal["auto", "number", "text", "boolean"] = "auto"
    """How an `in` value is read: as the CRM gives it, or converted (HubSpot sends every
    property as text, so `numemployees` is declared a number)."""

    @model_validator(mode="after")
    def _names(self) -> FieldMap:
        if self.direction == "out" and self.lead not in OUT_VALUES:
            raise ValueError(
                f"an out field writes one of {', '.join(OUT_VALUES)}, not {self.lead!r}"
            )
        if self.direction == "in":
            if not _ATTRIBUTE.match(self.lead):
                raise ValueError(f"{self.lead!r} is not an attribute name (letters, digits, _)")
            if self.lead in RESERVED_ATTRIBUTES:
                raise ValueError(
                    f"{self.lead!r} is the lead's own field, not an attribute: in fields write"
                    " attributes (the stage comes in through `stages`, e-mail always)"
                )
        return self


class StageMap(Strict):
    """The CRM's lifecycle field and which of its values are leadscore stages."""

    field: Name
    values: dict[str, Literal[STAGES]] = {}  # type: ignore[valid-type]
    object: Name | None = None
    """The object that has the field (Salesforce: Lead); every person object when absent."""


class ConnectorConfig(Strict):
    enabled: bool = True
    base_url: Name | None = None
    """The vendor's API (or a sandbox, or a local fake); the vendor's default when absent."""
    login_url: Name | None = None
    """Salesforce: where OAuth tokens are asked for (login.salesforce.com, a My Domain)."""
    auth: Literal["client_credentials", "jwt"] = "client_credentials"
    """Salesforce's OAuth flow."""
    objects: list[Name] | None = None
    """Person objects synced; the vendor's default (contacts; Lead, Contact; persons, leads)."""
    deals: bool = True
    """Read deals: open ones move their people to `opportunity`, closed ones are outcomes."""
    sync_every: str | None = "15m"
    """How often `serve` syncs; null for never (sync on demand only)."""
    push: bool = True
    """Each sync also writes changed out fields of every linked lead."""
    create_leads: bool = True
    """A CRM person leadscore does not know becomes a lead; otherwise only known ones sync."""
    default_fields: bool = True
    """Start from the vendor's default mapping; `fields` then adds or replaces by CRM name."""
    fields: list[FieldMap] = []
    stages: StageMap | None = None
    """The vendor's default stage field and values when absent."""
    page_size: int | None = Field(None, ge=1, le=2_000)
    """Records per read page; the vendor's default when absent."""
    bulk_threshold: int = Field(10_000, ge=1)
    """Salesforce: updates above this many go through Bulk API 2.0."""
    allow_pardot_score: bool = False
    """Salesforce: allow an out field to name Account Engagement's pi__score__c."""
    max_wait_seconds: float = Field(60.0, ge=0)
    """The longest Retry-After waited in line; beyond it the work is rescheduled."""

    @field_validator("sync_every")
    @classmethod
    def _every(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            if parse_duration(value) < 60_000_000:
                raise ValueError("sync at most once a minute")
        except DurationError as exc:
            raise ValueError(str(exc)) from None
        return value


class ConnectorsFile(Strict):
    hubspot: ConnectorConfig | None = None
    salesforce: ConnectorConfig | None = None
    pipedrive: ConnectorConfig | None = None

    def configured(self) -> dict[str, ConnectorConfig]:
        """The enabled connectors by name, in the vendors' order."""
        found = {name: getattr(self, name) for name in VENDORS}
        return {name: c for name, c in found.items() if c is not None and c.enabled}


KNOWN_KEYS = (
    *VENDORS,
    *ConnectorConfig.model_fields,
    *FieldMap.model_fields,
    "values",
)
"""Keys a "did you mean" may suggest (not StageMap's `field`, which would shadow `fields`)."""


class ConnectorsError(FileError):
    """An invalid connectors file; `problems` lists every error found."""

    default_source = "connectors"


def load_connectors_text(text: str, source: str = "connectors") -> ConnectorsFile:
    """Load and validate a connectors YAML file: every problem with its key path and line."""
    data, lines, problems = read_yaml(
        text, what="a connectors file must be a mapping (hubspot, salesforce, pipedrive)"
    )
    if data is None:
        raise ConnectorsError(problems, source)
    found: dict[str, str] = {p.path: p.message for p in problems}
    parsed: ConnectorsFile | None = None
    try:
        parsed = ConnectorsFile.model_validate(data)
    except ValidationError as exc:
        for path, message in pydantic_problems(exc, KNOWN_KEYS):
            found.setdefault(path, message)
    checked = parsed if parsed is not None else _valid_sections(data)
    for path, message in _cross_checks(checked):
        found.setdefault(path, message)
    if parsed is not None and not found:
        return parsed
    raise ConnectorsError(located(found, problems, lines), source)


def _valid_sections(data: object) -> ConnectorsFile:
    """The sections that validate on their own, so that their cross-checks are reported
    beside another section's errors."""
    sections: dict[str, ConnectorConfig] = {}
    if isinstance(data, dict):
        for name in VENDORS:
            try:
                sections[name] = ConnectorConfig.model_validate(data.get(name))
            except ValidationError:
                continue
    return ConnectorsFile.model_construct(None, **sections)


def _cross_checks(parsed: ConnectorsFile) -> Iterator[tuple[str, str]]:
    for name in VENDORS:
        config: ConnectorConfig | None = getattr(parsed, name)
        if config is None:
            continue
        objects = config.objects or list(DEFAULTS[name].objects)
        for i, wanted in enumerate(config.objects or []):
            if wanted not in DEFAULTS[name].objects:
                known = ", ".join(DEFAULTS[name].objects)
                yield f"{name}.objects[{i}]", f"{name} syncs {known}, not {wanted!r}"
        seen: dict[tuple[str, str | None, str], int] = {}
        for i, f in enumerate(config.fields):
            where = f"{name}.fields[{i}]"
            if f.object is not None and f.object not in objects:
                yield f"{where}.object", f"{f.object!r} is not synced ({', '.join(objects)})"
            key = (f.crm.lower(), f.object, f.direction)
            if key in seen:
                yield f"{where}.crm", f"{f.crm!r} is already mapped at {name}.fields[{seen[key]}]"
            seen.setdefault(key, i)
            if (
                f.direction == "out"
                and f.crm.lower() == PARDOT_SCORE
                and not (name == "salesforce" and config.allow_pardot_score)
            ):
                yield (
                    f"{where}.crm",
                    f"{PARDOT_SCORE} is Account Engagement's own score: set"
                    " allow_pardot_score: true to overwrite it on purpose",
                )
        if name != "salesforce" and config.allow_pardot_score:
            yield f"{name}.allow_pardot_score", "only Salesforce has Account Engagement scores"


# --- each vendor's defaults ----------------------------------------------------------------


@dataclass(frozen=True)
class VendorDefaults:
    objects: tuple[str, ...]
    fields: tuple[FieldMap, ...]
    stages: StageMap
    url_label: str = "leadscore"


def _in(crm: str, lead: str, *, object: str | None = None, type: str = "auto") -> FieldMap:
    return FieldMap.model_validate(
        {"crm": crm, "lead": lead, "direction": "in", "object": object, "type": type}
    )


def _out(crm: str, lead: str, *, object: str | None = None) -> FieldMap:
    return FieldMap.model_validate({"crm": crm, "lead": lead, "direction": "out", "object": object})


def _scores(name: str) -> tuple[FieldMap, ...]:
    return tuple(_out(name.format(v), v) for v in OUT_VALUES if v != "owner")


DEFAULTS: dict[str, VendorDefaults] = {
    "hubspot": VendorDefaults(
        objects=("contacts",),
        fields=(
            _in("firstname", "first_name"),
            _in("lastname", "last_name"),
            _in("company", "company"),
            _in("jobtitle", "job_title"),
            _in("industry", "industry"),
            _in("numemployees", "employees", type="number"),
            _in("country", "country"),
            _in("city", "city"),
            _in("phone", "phone"),
            _in("website", "website"),
            *_scores("leadscore_{}"),
            _out("hubspot_owner_id", "owner"),
        ),
        stages=StageMap(
            field="lifecyclestage",
            values={
                "opportunity": "opportunity",
                "customer": "customer",
                "evangelist": "customer",
            },
        ),
    ),
    "salesforce": VendorDefaults(
        objects=("Lead", "Contact"),
        fields=(
            _in("FirstName", "first_name"),
            _in("LastName", "last_name"),
            _in("Company", "company", object="Lead"),
            _in("Title", "job_title"),
            _in("Industry", "industry", object="Lead"),
            _in("NumberOfEmployees", "employees", object="Lead", type="number"),
            _in("Country", "country", object="Lead"),
            _in("MailingCountry", "country", object="Contact"),
            _in("LeadSource", "lead_source"),
            *(
                _out(f"Leadscore_{v.capitalize() if v != 'url' else 'URL'}__c", v)
                for v in OUT_VALUES
                if v != "owner"
            ),
            _out("OwnerId", "owner"),
        ),
        stages=StageMap(
            field="Status",
            object="Lead",
            values={
                "Closed - Converted": "opportunity",
                "Closed - Not Converted": "disqualified",
            },
        ),
    ),
    "pipedrive": VendorDefaults(
        objects=("persons", "leads"),
        fields=(
            _in("first_name", "first_name", object="persons"),
            _in("last_name", "last_name", object="persons"),
            _in("org_name", "company", object="persons"),
            _in("job_title", "job_title", object="persons"),
            *(_out(f"leadscore_{v}", v, object="persons") for v in OUT_VALUES if v != "owner"),
            _out("owner_id", "owner", object="persons"),
        ),
        stages=StageMap(field="label", values={}),
    ),
}


# --- a connector's effective mapping -------------------------------------------------------


@dataclass(frozen=True)
class Effective:
    """The effective mapping of one connector: defaults merged with the file's fields."""

    vendor: str
    objects: tuple[str, ...]
    fields: tuple[FieldMap, ...]
    stages: StageMap

    def inbound(self, obj: str) -> list[FieldMap]:
        return [f for f in self.fields if f.direction == "in" and f.object in (None, obj)]

    def outbound(self, obj: str) -> list[FieldMap]:
        return [f for f in self.fields if f.direction == "out" and f.object in (None, obj)]

    def read_fields(self, obj: str) -> list[str]:
        """CRM fields to read for `obj`: the in fields and the stage field."""
        names = [f.crm for f in self.inbound(obj)]
        if self.stages.object in (None, obj):
            names.append(self.stages.field)
        return list(dict.fromkeys(names))


def mapping(vendor: str, config: ConnectorConfig) -> Effective:
    """Defaults, then the file's fields (a field replaces the default of the same CRM name,
    object and direction)."""
    defaults = DEFAULTS[vendor]
    objects = tuple(config.objects or defaults.objects)
    given = {(f.crm.lower(), f.object, f.direction) for f in config.fields}
    base = [
        f
        for f in (defaults.fields if config.default_fields else ())
        if (f.crm.lower(), f.object, f.direction) not in given
        and (f.object is None or f.object in objects)
    ]
    return Effective(vendor, objects, (*base, *config.fields), config.stages or defaults.stages)


# --- applying it ---------------------------------------------------------------------------


def read_value(value: object, type: str) -> object:
    """A CRM value as a lead attribute: blanks are null; declared numbers and booleans
    converted when they read as such (otherwise kept as text, never guessed)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if type == "number":
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return value
        try:
            number = float(str(value).replace(",", "").strip())
        except ValueError:
            return value
        if not math.isfinite(number):
            return value
        return int(number) if number.is_integer() else number
    if type == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        return {"true": True, "false": False}.get(text, value)
    if type == "text":
        return str(value)
    return value


def attributes_of(fields: Mapping[str, object], obj: str, m: Effective) -> dict[str, object]:
    """The lead attributes a CRM record gives through the in fields (absent fields are left
    alone; a blank CRM field clears the attribute)."""
    found: dict[str, object] = {}
    lower = {k.lower(): k for k in fields}
    for f in m.inbound(obj):
        key = f.crm if f.crm in fields else lower.get(f.crm.lower())
        if key is None:
            continue
        found[f.lead] = read_value(fields[key], f.type)
    return found


def stage_of(fields: Mapping[str, object], obj: str, m: Effective) -> str | None:
    """The leadscore stage the CRM's stage field names, or None (not a stage we take)."""
    if m.stages.object not in (None, obj):
        return None
    value = fields.get(m.stages.field)
    if value is None:
        return None
    return m.stages.values.get(str(value))


DEAL_STAGE = {"open": "opportunity", "won": "customer", "lost": "lost"}


def deal_stage(status: str) -> str:
    """The stage a deal's people move to: open deals are opportunities (§4)."""
    return DEAL_STAGE[status]


def out_values(
    lead: Mapping[str, object],
    obj: str,
    m: Effective,
    owner_ids: Mapping[str, str],
) -> dict[str, object]:
    """What the out fields say for a lead: `lead` holds score, fit, engagement, grade, tier,
    stage, url and `owner_email`; an owner without a CRM user (by e-mail) is left out."""
    values: dict[str, object] = {}
    for f in m.outbound(obj):
        if f.lead == "owner":
            email = lead.get("owner_email")
            crm_id = owner_ids.get(str(email).lower()) if email else None
            if crm_id is not None:
                values[f.crm] = crm_id
            continue
        value = lead.get(f.lead)
        if f.lead in NUMERIC_OUT and isinstance(value, int | float):
            value = round(float(value), 2)
        values[f.crm] = value
    return values


def changed(values: Mapping[str, object], written: Mapping[str, object]) -> dict[str, object]:
    """Only the fields whose value differs from what was last written (numbers to the cent)."""

    def same(a: object, b: object) -> bool:
        if isinstance(a, int | float) and isinstance(b, int | float):
            return round(float(a), 2) == round(float(b), 2)
        return a == b

    return {k: v for k, v in values.items() if k not in written or not same(v, written[k])}


def selected(
    values: Mapping[str, object], wanted: Sequence[str], obj: str, m: Effective
) -> dict[str, object]:
    """The out values of the leadscore names `wanted` (a crm_update action's `fields`)."""
    crm = {f.crm for f in m.outbound(obj) if f.lead in wanted}
    return {k: v for k, v in values.items() if k in crm}


def json_schema() -> dict[str, Any]:
    """The connectors file's JSON Schema (`leadscore schema --connectors`)."""
    schema = ConnectorsFile.model_json_schema()
    schema["title"] = "leadscore connectors file"
    return schema
