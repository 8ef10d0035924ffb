"""`leadscore import`: leads, events or outcomes from CSV, JSON Lines or Parquet into the
store, validated row by row with the same models as the API.

Rows are read with `engine.readers.read_rows` (so errors name the file and the line or row), a
column mapping renames the file's columns (`--map email=E-mail`), and every row is checked
before anything is written. Then the whole file is written in one transaction: all or
nothing, unless `skip_invalid` skips (and reports) each bad row. Leads touched by an events
file are rescored once, at the end, not once per event.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Literal, TypeAlias, TypeVar, cast

from pydantic import BaseModel, ValidationError

from leadscore.core.import_mapping import ImportMapping, RowError, apply_row
from leadscore.core.timestamps import format_timestamp, to_micros
from leadscore.engine.readers import InputError, Row, read_rows
from leadscore.service import events as event_ingest
from leadscore.service import metrics
from leadscore.service.context import Context
from leadscore.service.errors import Conflict, Invalid, NotFound
from leadscore.service.input_rules import Limits, value_problems
from leadscore.service.inputs import EventIn, LeadIn, LeadRef, OutcomeIn
from leadscore.service.leads import upsert_in
from leadscore.service.outcomes import record_in
from leadscore.service.resolve import LocOf
from leadscore.service.scoring import Arrival, Cause, rescore
from leadscore.service.suppression import Newcomer, refused
from leadscore.store import Connection
from leadscore.store import leads as stored_leads

Kind = Literal["leads", "events", "outcomes"]
CHUNK = 5_000
"""Rows written per statement batch (all inside the file's one transaction)."""

LEAD_FIELDS = ("id", "email", "owner", "stage")
EVENT_FIELDS = ("id", "lead_id", "email", "type", "occurred_at", "source")
EXTERNAL_PREFIX = "external_ids."

Progress: TypeAlias = Callable[[str, int, int | None], None]
"""`progress(phase, done, total)`: reading, writing or scoring, rows done, rows in all."""
M = TypeVar("M", bound=BaseModel)
R = TypeVar("R", bound=LeadRef)
Writer: TypeAlias = Callable[
    [Connection, Context, str | Path, list[tuple[str, M]], str, int, Progress | None], int
]
"""Writes a file's validated rows (with their locations) in the caller's transaction."""


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    written: int = 0
    skipped: list[InputError] = field(default_factory=list)
    erased: int = 0
    """Rows left out because they would create a person who was erased (docs/privacy.md)."""


class ImportFailed(Exception):
    """Bad rows in a file imported all-or-nothing: nothing was written."""

    def __init__(self, errors: list[InputError]) -> None:
        super().__init__(f"{len(errors)} invalid row(s); nothing was imported")
        self.errors = errors


def parse_mapping(pairs: Iterable[str]) -> dict[str, str]:
    """`target=source` pairs (e.g. `email=E-mail`) → {source column: target field}."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        target, sep, source = pair.partition("=")
        if not sep or not target.strip() or not source.strip():
            raise ValueError(f"--map {pair!r}: write FIELD=COLUMN, e.g. email=E-mail")
        mapping[source.strip()] = target.strip()
    return mapping


def import_file(
    ctx: Context,
    kind: Kind,
    path: str | Path,
    mapping: Mapping[str, str] | None = None,
    *,
    skip_invalid: bool = False,
    actor: str = "import",
    progress: Progress | None = None,
    file_mapping: ImportMapping | None = None,
) -> ImportReport:
    """Validate then write a whole file. `progress(phase, done, total)` reports reading and
    writing. `file_mapping` (a mapping file: core/import_mapping.py) turns each row of a
    tool's export into our columns first. Raises ImportFailed (bad rows, nothing written)
    or InputError (unreadable)."""
    if file_mapping is not None and file_mapping.kind != kind:
        raise InputError(path, None, f"the mapping file is for {file_mapping.kind}, not {kind}")
    columns: Mapping[str, str] | _Mapped | None = mapping
    if file_mapping is not None:
        columns = _Mapped(file_mapping, mapping or {})
    report = ImportReport(kind)
    if kind == "leads":
        leads = _read(ctx, path, _lead, columns, report, progress)
        _refuse_invalid(report, skip_invalid)
        leads = _not_erased(ctx, leads, report, _lead_newcomer)
        report.written = _write(ctx, _write_leads, path, leads, actor, progress)
    elif kind == "events":
        events = _read(ctx, path, _event, columns, report, progress)
        events = _known_leads(ctx, path, events, report, create=True)
        _refuse_invalid(report, skip_invalid)
        events = _not_erased(ctx, events, report, _event_newcomer)
        ctx.event_types.ensure(ctx.db, {item.type for _, item in events})
        report.written = _write(ctx, _write_events, path, events, actor, progress)
        metrics.EVENTS_FROM_IMPORT.inc(report.written)
    elif kind == "outcomes":
        outcomes = _read(ctx, path, _outcome, columns, report, progress)
        outcomes = _known_leads(ctx, path, outcomes, report, create=False)
        _refuse_invalid(report, skip_invalid)
        report.written = _write(ctx, _write_outcomes, path, outcomes, actor, progress)
    else:
        raise KeyError(kind)
    return report


def _read(
    ctx: Context,
    path: str | Path,
    convert: Callable[[str | Path, Row, Limits], M],
    mapping: Mapping[str, str] | _Mapped | None,
    report: ImportReport,
    progress: Progress | None,
) -> list[tuple[str, M]]:
    """Every valid row of the file, with its location; the bad ones go to the report."""
    items: list[tuple[str, M]] = []
    limits = Limits.of(ctx.settings)
    delimiter = mapping.file.delimiter if isinstance(mapping, _Mapped) else ","
    for row in read_rows(path, delimiter=delimiter):
        report.rows += 1
        try:
            items.append((row.where, convert(path, _renamed_row(path, row, mapping), limits)))
        except InputError as error:
            report.skipped.append(error)
        if progress is not None and report.rows % 1000 == 0:
            progress("reading", report.rows, None)
    return items


def _lead_newcomer(item: LeadIn) -> Newcomer:
    given = item.consent.given_at if item.consent is not None else None
    return Newcomer(item.email, list(item.external_ids.items()), given)


def _event_newcomer(item: EventIn) -> Newcomer | None:
    if item.lead_id is not None:
        return None
    external = [(item.external_id.source, item.external_id.id)] if item.external_id else []
    return Newcomer(item.email, external)


def _not_erased(
    ctx: Context,
    items: list[tuple[str, M]],
    report: ImportReport,
    person_of: Callable[[M], Newcomer | None],
) -> list[tuple[str, M]]:
    """The rows without those that would create an erased person (counted in
    `report.erased`, not errors: an import of an old CRM export must not fail on them).
    A row naming a lead that exists is kept: an erased person has none."""
    people = [(index, person_of(item)) for index, (_, item) in enumerate(items)]
    named = [(index, person) for index, person in people if person is not None]
    with ctx.db.read() as conn:
        erased = refused(conn, ctx, [p for _, p in named], ctx.now(), "import", lift=False)
    if not erased:
        return items
    dropped = {named[position][0] for position in erased}
    report.erased += len(dropped)
    return [pair for index, pair in enumerate(items) if index not in dropped]


def _refuse_invalid(report: ImportReport, skip_invalid: bool) -> None:
    if report.skipped and not skip_invalid:
        raise ImportFailed(report.skipped)


def _write(
    ctx: Context,
    writer: Writer[M],
    path: str | Path,
    items: list[tuple[str, M]],
    actor: str,
    progress: Progress | None,
) -> int:
    """Write the whole file in one transaction; the number of rows written."""
    now = ctx.now()

    def work(conn: Connection) -> int:
        return writer(conn, ctx, path, items, actor, now, progress)

    return ctx.db.transact(work)


def _position(where: str | None) -> int:
    """The number of `line N` / `row N`, to report bad rows in file order."""
    return int(where.split()[-1]) if where and where.split()[-1].isdigit() else 0


# --- rows → inputs -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Mapped:
    """A mapping file, then `--map` renames of what it leaves."""

    file: ImportMapping
    renames: Mapping[str, str]


def _renamed_row(path: str | Path, row: Row, mapping: Mapping[str, str] | _Mapped | None) -> Row:
    """The row in our columns: through the mapping file (a bad cell is an InputError naming
    the row and the column), and/or renamed by `--map`."""
    if isinstance(mapping, _Mapped):
        try:
            row = Row(row.where, apply_row(mapping.file, row.values))
        except RowError as exc:
            raise InputError(path, row.where, str(exc)) from None
        return _renamed(row, mapping.renames)
    return _renamed(row, mapping or {})


def _renamed(row: Row, mapping: Mapping[str, str]) -> Row:
    if not mapping:
        return row
    values = {}
    for name, value in row.values.items():
        values[mapping.get(name, name)] = value
    return Row(row.where, values)


def _json_value(value: object) -> object:
    """A file value as JSON: dates and times become ISO 8601 text (UTC)."""
    if isinstance(value, datetime | date):
        return format_timestamp(to_micros(value))
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value


def _validated(
    path: str | Path, row: Row, model: type[M], data: dict[str, object], limits: Limits
) -> M:
    """The row as `model`, under the API's rules: input_rules' text and number rules, the
    LEADSCORE_MAX_* limits and the model's own validation."""
    problems = value_problems(data, ())
    if problems:
        raise InputError(path, row.where, _reasons([(p.loc, p.msg) for p in problems]))
    try:
        return model.model_validate(data, context={"limits": limits})
    except ValidationError as exc:
        reasons = _reasons([(e["loc"], e["msg"]) for e in exc.errors()])
        raise InputError(path, row.where, reasons) from None


def _reasons(problems: Sequence[tuple[Sequence[object], str]]) -> str:
    return "; ".join(f"{'.'.join(map(str, loc)) or 'row'}: {msg}" for loc, msg in problems)


def _lead(path: str | Path, row: Row, limits: Limits) -> LeadIn:
    values = dict(row.values)
    data: dict[str, object] = {k: values.pop(k) for k in LEAD_FIELDS if values.get(k) is not None}
    for key in LEAD_FIELDS:
        values.pop(key, None)
    if "id" in data:
        data["id"] = _text(data["id"])
    external: dict[str, object] = {}
    for name in [n for n in values if n.startswith(EXTERNAL_PREFIX)]:
        value = values.pop(name)
        if value is not None:
            external[name[len(EXTERNAL_PREFIX) :]] = _text(value)
    nested = values.pop("attributes", None)
    if isinstance(nested, dict):
        values = {**nested, **values}
    data["external_ids"] = external
    data["attributes"] = {k: _json_value(v) for k, v in values.items()}
    return _validated(path, row, LeadIn, data, limits)


def _event(path: str | Path, row: Row, limits: Limits) -> EventIn:
    values = dict(row.values)
    data: dict[str, object] = {k: values.pop(k) for k in EVENT_FIELDS if values.get(k) is not None}
    for key in EVENT_FIELDS:
        values.pop(key, None)
    for key in ("id", "lead_id"):
        if key in data:
            data[key] = _text(data[key])
    external = {k: values.pop(k) for k in ("external_id.source", "external_id.id") if k in values}
    if any(v is not None for v in external.values()):
        data["external_id"] = {
            "source": external.get("external_id.source"),
            "id": _text(external.get("external_id.id")),
        }
    properties = values.pop("properties", None)
    if isinstance(properties, str):
        try:
            properties = json.loads(properties)
        except json.JSONDecodeError:
            raise InputError(path, row.where, "properties is not a JSON object") from None
    if properties is not None and not isinstance(properties, dict):
        raise InputError(path, row.where, "properties must be a JSON object")
    merged = {k: v for k, v in values.items() if v is not None}
    merged.update(properties or {})
    data["properties"] = _json_value(merged)
    return _validated(path, row, EventIn, data, limits)


def _outcome(path: str | Path, row: Row, limits: Limits) -> OutcomeIn:
    data = {k: v for k, v in row.values.items() if v is not None}
    if "lead_id" in data:
        data["lead_id"] = _text(data["lead_id"])
    return _validated(path, row, OutcomeIn, data, limits)


def _text(value: object) -> object:
    """An id read from a file as text (a Parquet integer 7 or a float 7.0 is "7").

    Not `engine.readers.text_id` on purpose: only whole numbers are converted; anything else
    ("", True, 7.5, a dict) is left as read for the input schema to accept or reject with
    its own message, where `text_id` would turn it into None or text."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _known_leads(
    ctx: Context,
    path: str | Path,
    items: list[tuple[str, R]],
    report: ImportReport,
    *,
    create: bool,
) -> list[tuple[str, R]]:
    """Drop (and report) the rows naming a lead that does not exist and cannot be created:
    an unknown lead_id (or, for outcomes, an unknown e-mail or external id). The report's
    bad rows are then sorted in file order."""
    with ctx.db.read() as conn:
        ids = stored_leads.pks_by_id(conn, [i.lead_id for _, i in items if i.lead_id])
        externals = stored_leads.pks_by_external(
            conn, [(i.external_id.source, i.external_id.id) for _, i in items if i.external_id]
        )
        emails = stored_leads.pks_by_email(conn, [i.email for _, i in items if i.email])
    kept: list[tuple[str, R]] = []
    for where, item in items:
        if item.lead_id is not None:
            known = item.lead_id in ids
        else:
            external = item.external_id
            known = create or (
                (external is not None and (external.source, external.id) in externals)
                or (item.email is not None and item.email in emails)
            )
        if known:
            kept.append((where, item))
        else:
            name = item.lead_id or item.email
            if not name:  # then the reference is an external id (LeadRef names a lead)
                assert item.external_id is not None
                name = f"{item.external_id.source}:{item.external_id.id}"
            report.skipped.append(InputError(path, where, f"unknown lead {name!r}"))
    report.skipped.sort(key=lambda error: _position(error.where))
    return kept


# --- writing -------------------------------------------------------------------------------


def _located(path: str | Path, items: Sequence[tuple[str, object]], start: int) -> LocOf:
    """loc_of for a chunk: the file location of the item at an index."""
    return lambda index: (items[start + index][0],)


def _write_leads(
    conn: Connection,
    ctx: Context,
    path: str | Path,
    items: list[tuple[str, LeadIn]],
    actor: str,
    now: int,
    progress: Progress | None,
) -> int:
    done = 0
    for start in range(0, len(items), CHUNK):
        chunk = [item for _, item in items[start : start + CHUNK]]
        try:
            upsert_in(conn, ctx, chunk, actor, now, loc_of=_located(path, items, start))
        except Conflict as exc:
            where = cast(str, exc.loc[0]) if exc.loc else None  # _located: the file location
            raise InputError(path, where, str(exc)) from None
        except Invalid as exc:
            first = exc.problems[0]
            where = cast(str, first.loc[0])  # _located: the file location
            reasons = _reasons([(p.loc[1:], p.msg) for p in exc.problems])
            raise InputError(path, where, reasons) from None
        done += len(chunk)
        if progress is not None:
            progress("writing", done, len(items))
    return done


def _write_events(
    conn: Connection,
    ctx: Context,
    path: str | Path,
    items: list[tuple[str, EventIn]],
    actor: str,
    now: int,
    progress: Progress | None,
) -> int:
    type_ids = ctx.event_types.known({item.type for _, item in items})
    touched: dict[int, str] = {}
    arrivals: dict[int, Arrival] = {}
    created: set[int] = set()
    stored: dict[int, list[tuple[str, str]]] = {}
    written = 0
    for start in range(0, len(items), CHUNK):
        chunk = [item for _, item in items[start : start + CHUNK]]
        ids = event_ingest.event_ids(chunk)
        try:
            done = event_ingest.ingest_in(
                conn,
                ctx,
                chunk,
                ids,
                type_ids,
                now,
                _located(path, items, start),
                rescore_leads=False,
            )
        except NotFound as exc:
            where = cast(str, exc.problems[0].loc[0])  # _located: the file location
            raise InputError(path, where, str(exc)) from None
        except Conflict as exc:
            raise InputError(path, cast(str, exc.loc[0]), str(exc)) from None
        touched.update(done.last_stored)
        for pk, arrival in done.arrivals.items():
            event_ingest.earliest(arrivals, pk, arrival)
        created |= done.created
        for pk, pairs in done.stored_events.items():
            stored.setdefault(pk, []).extend(pairs)
        written += done.stored
        if progress is not None:
            progress("writing", start + len(chunk), len(items))
    pks = sorted(touched)
    size = ctx.settings.recompute_batch_size
    for start in range(0, len(pks), size):
        part = pks[start : start + size]
        rows = stored_leads.lock(conn, part)
        cause = Cause("event", touched, arrivals, frozenset(created), stored)
        rescore(conn, ctx, [rows[pk] for pk in part], None, cause)
        if progress is not None:
            progress("scoring", start + len(part), len(pks))
    return written


def _write_outcomes(
    conn: Connection,
    ctx: Context,
    path: str | Path,
    items: list[tuple[str, OutcomeIn]],
    actor: str,
    now: int,
    progress: Progress | None,
) -> int:
    recorded = 0
    for start in range(0, len(items), CHUNK):
        chunk = [item for _, item in items[start : start + CHUNK]]
        written = record_in(conn, ctx, chunk, actor, now, _located(path, items, start))
        recorded += sum(1 for o in written if o["status"] == "recorded")
        if progress is not None:
            progress("writing", start + len(chunk), len(items))
    return recorded
