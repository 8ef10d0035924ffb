"""A mapping file for recurring imports (§8, `leadscore import --mapping FILE`): which
column of a tool's export is the e-mail, the id, each attribute or property, the event type
and time (in the export's own time format), constants added to every row, and columns left
out. Written once per export (GetResponse, SALESmanago: examples/imports/), used on every
new file; the import stays all or nothing, a bad value naming its row and column.

`apply_row` turns one row of the export into the row the plain import reads (leads: email,
id, external_ids.SOURCE, attributes by name; events: email, type, occurred_at, id, source,
properties by name), so the API's validation and limits apply unchanged. Pure.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationError, model_validator

from leadscore.core.json_paths import PathError, check_time_format, read_time
from leadscore.core.loader import FileError, Problem, line_of, pydantic_problems, read_yaml
from leadscore.core.model import Strict
from leadscore.core.timestamps import format_timestamp

Column = Annotated[str, Field(min_length=1, max_length=500)]
Scalar = str | int | float | bool


class Times(Strict):
    column: Column
    format: Annotated[str, AfterValidator(check_time_format)] = "iso"


class TypeColumn(Strict):
    """The event type from a column, the export's names mapped onto ours (a name not in
    `values` is a bad row: the import is all or nothing)."""

    column: Column
    values: dict[str, Annotated[str, Field(min_length=1, max_length=200)]]


class ExternalColumn(Strict):
    source: Annotated[str, Field(min_length=1, max_length=100)]
    column: Column


class ImportMapping(Strict):
    kind: Literal["leads", "events"]
    delimiter: Annotated[str, Field(min_length=1, max_length=1)] = ","
    email: Column | None = None
    id: Column | None = None
    """The lead's id (leads) or the event's idempotency id (events; none: a digest of the
    row's mapped values, so re-importing an overlapping export adds no event twice)."""
    external_id: ExternalColumn | None = None
    attributes: dict[str, Column] = Field(default_factory=dict)
    properties: dict[str, Column] = Field(default_factory=dict)
    type: Annotated[str, Field(min_length=1, max_length=200)] | TypeColumn | None = None
    occurred_at: Times | None = None
    source: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    constants: dict[str, Scalar] = Field(default_factory=dict)
    """Values added to every row: attributes (leads) or properties (events)."""
    skip: list[Column] = Field(default_factory=list)
    others: Literal["keep", "skip"] = "keep"
    """Columns named nowhere above: kept under their own name (as the plain import does), or
    left out."""

    @model_validator(mode="after")
    def _fits(self) -> ImportMapping:
        if self.kind == "events" and self.type is None:
            raise ValueError("an events mapping needs type (a constant or {column, values})")
        if self.kind == "leads" and (self.type or self.occurred_at or self.properties):
            raise ValueError("type, occurred_at and properties are for events mappings")
        if self.kind == "events" and self.attributes:
            raise ValueError("attributes are for leads mappings (events carry properties)")
        if self.email is None and self.id is None and self.external_id is None:
            raise ValueError("name the column of email, id or external_id")
        return self


class ImportMappingError(FileError):
    """An invalid mapping file; `problems` lists each with its key path and line."""

    default_source = "mapping"


def load_import_mapping(text: str, source: str = "mapping") -> ImportMapping:
    data, lines, problems = read_yaml(text, what="a mapping file is a mapping (kind, email, …)")
    if data is None or problems:
        raise ImportMappingError(problems, source)
    try:
        return ImportMapping.model_validate(data)
    except ValidationError as exc:
        found = [
            Problem(path, message, line_of(path, lines))
            for path, message in pydantic_problems(exc, tuple(ImportMapping.model_fields))
        ]
        raise ImportMappingError(found, source) from None


class RowError(ValueError):
    """A row the mapping cannot read: `column` names the cell."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(f"{column}: {message}")
        self.column = column


def _cell(values: Mapping[str, object], column: str) -> object:
    if column not in values:
        raise RowError(column, "no such column in the file")
    return values[column]


def apply_row(mapping: ImportMapping, values: Mapping[str, object]) -> dict[str, object]:
    """One row of the export as the plain import's row (see the module's docstring)."""
    out: dict[str, object] = {}
    used: set[str] = set(mapping.skip)

    def take(target: str, column: str) -> None:
        used.add(column)
        value = _cell(values, column)
        if value is not None:
            out[target] = value

    if mapping.email is not None:
        take("email", mapping.email)
    if mapping.id is not None:
        take("id", mapping.id)
    if mapping.external_id is not None:
        ref = mapping.external_id
        target = "external_ids." if mapping.kind == "leads" else "external_id."
        if mapping.kind == "leads":
            take(f"{target}{ref.source}", ref.column)
        else:
            used.add(ref.column)
            found = _cell(values, ref.column)
            if found is not None:
                out["external_id.source"], out["external_id.id"] = ref.source, found
    for name, column in {**mapping.attributes, **mapping.properties}.items():
        take(name, column)
    if isinstance(mapping.type, TypeColumn):
        used.add(mapping.type.column)
        given = _cell(values, mapping.type.column)
        ours = mapping.type.values.get(str(given)) if given is not None else None
        if ours is None:
            known = ", ".join(sorted(mapping.type.values))
            raise RowError(mapping.type.column, f"{given!r} is not a mapped type ({known})")
        out["type"] = ours
    elif mapping.type is not None:
        out["type"] = mapping.type
    if mapping.occurred_at is not None:
        when = mapping.occurred_at
        used.add(when.column)
        value = _cell(values, when.column)
        if value is not None:
            try:
                out["occurred_at"] = format_timestamp(read_time(value, when.format, when.column))
            except PathError as exc:
                raise RowError(when.column, str(exc).split(": ", 1)[-1]) from None
    if mapping.source is not None:
        out["source"] = mapping.source
    for name, constant in mapping.constants.items():
        out.setdefault(name, constant)
    if mapping.others == "keep":
        for column, value in values.items():
            if column not in used and column not in out and value is not None:
                out[column] = value
    if mapping.kind == "events" and "id" not in out:
        out["id"] = _digest(mapping, out)
    return out


def _digest(mapping: ImportMapping, row: Mapping[str, object]) -> str:
    """An event's id from what it says: the next export, overlapping this one, imports the
    same events again as duplicates, not twice."""
    text = json.dumps(row, sort_keys=True, default=str, ensure_ascii=False)
    return f"{mapping.source or 'import'}:{hashlib.sha256(text.encode()).hexdigest()[:40]}"
