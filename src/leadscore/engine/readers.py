"""Reading leads and events row by row: CSV, JSON Lines and Parquet, optionally gzipped.

Every problem names the file and where in it: `line N` (1-based, the CSV header is line 1;
JSON Lines count every line) or `row N` (Parquet, 1-based). These messages and skip reports
are the contract; the vectorised readers (engine/frames.py) fall back to this one whenever
anything is off.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from leadscore.core.records import EVENT_REQUIRED, Event, Lead
from leadscore.core.timestamps import TimestampError, parse_instant, to_micros

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


class InputError(ValueError):
    """A bad file or row: `str()` names the file, the line or row, and the reason."""

    def __init__(self, file: str | Path, where: str | None, reason: str) -> None:
        self.file, self.where, self.reason = str(file), where, reason
        super().__init__(f"{file}: {where}: {reason}" if where else f"{file}: {reason}")


OnBadRow = Callable[[InputError], None]
"""Called with each bad row when --skip-invalid is on; without it a bad row raises."""


def detect_format(path: str | Path) -> tuple[str, bool]:
    """(csv | jsonl | parquet, gzipped?) from the file name."""
    name = Path(path).name.lower()
    gz = name.endswith(".gz")
    if gz:
        name = name[:-3]
    for suffix, kind in FORMATS.items():
        if name.endswith(suffix):
            return kind, gz
    raise InputError(path, None, "unknown file type: use .csv, .jsonl or .parquet (optionally .gz)")


# --- reading rows ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    where: str
    values: dict[str, Any]
    """The record as decoded: CSV text (None when empty), JSON values or Parquet values."""


def read_rows(
    path: str | Path, required: Iterable[str] = (), delimiter: str = ","
) -> Iterator[Row]:
    """Yield each record with its location; check that the `required` columns exist.
    `delimiter` separates a CSV file's cells (SALESmanago's exports use `;`)."""
    kind, gz = detect_format(path)
    if not Path(path).is_file():
        raise InputError(path, None, "no such file")
    if kind == "csv":
        yield from _csv_rows(path, gz, tuple(required), delimiter)
    elif kind == "jsonl":
        yield from _jsonl_rows(path, gz)
    else:
        yield from _parquet_rows(path, gz, tuple(required))


def _open_text(path: str | Path, gz: bool) -> IO[str]:
    if gz:
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115


def _csv_rows(
    path: str | Path, gz: bool, required: tuple[str, ...], delimiter: str = ","
) -> Iterator[Row]:
    try:
        with _open_text(path, gz) as handle:
            reader = csv.reader(handle, delimiter=delimiter, strict=True)
            header = next(reader, None)
            if header is None:
                raise InputError(path, None, "the file is empty (no header line)")
            header = [h.strip() for h in header]
            _check_header(path, header, required)
            previous = reader.line_num
            for cells in reader:
                where = f"line {previous + 1}"
                previous = reader.line_num
                if not cells:
                    continue
                if len(cells) != len(header):
                    raise InputError(
                        path, where, f"{len(cells)} cells where the header has {len(header)}"
                    )
                yield Row(
                    where, {h: (c if c != "" else None) for h, c in zip(header, cells, strict=True)}
                )
    except csv.Error as exc:
        raise InputError(path, f"line {reader.line_num}", f"malformed CSV: {exc}") from None
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise InputError(path, None, f"cannot be read: {exc}") from None


def _check_header(path: str | Path, header: list[str], required: tuple[str, ...]) -> None:
    seen = set()
    for name in header:
        if name in seen:
            raise InputError(path, "line 1", f"column {name!r} appears twice in the header")
        seen.add(name)
    for name in required:
        if name not in seen:
            raise InputError(path, "line 1", f"missing required column {name!r}")


def _jsonl_rows(path: str | Path, gz: bool) -> Iterator[Row]:
    try:
        with _open_text(path, gz) as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                where = f"line {number}"
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(path, where, f"not valid JSON: {exc.msg}") from None
                if not isinstance(record, dict):
                    raise InputError(path, where, "each line must be a JSON object")
                yield Row(where, record)
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise InputError(path, None, f"cannot be read: {exc}") from None


def _parquet_rows(path: str | Path, gz: bool, required: tuple[str, ...]) -> Iterator[Row]:
    try:
        if gz:
            with gzip.open(path, "rb") as handle:
                source = pa.BufferReader(handle.read())
        else:
            source = str(path)
        parquet = pq.ParquetFile(source)
    except (OSError, pa.ArrowException, EOFError) as exc:
        raise InputError(path, None, f"not a readable Parquet file: {exc}") from None
    names = parquet.schema_arrow.names
    _check_header(path, names, required)
    number = 0
    for batch in parquet.iter_batches(batch_size=65_536):
        columns = [
            _column_values(path, batch.column(i), names[i], number)
            for i in range(batch.num_columns)
        ]
        for values in zip(*columns, strict=True):
            number += 1
            yield Row(f"row {number}", dict(zip(names, values, strict=True)))


def _column_values(path: str | Path, column: pa.Array, name: str, before: int) -> list[object]:
    """Python values of a column; timestamps as aware/naive datetimes at µs precision. A
    date or time Python cannot hold (beyond the years 1-9999) is an InputError naming its
    row (`before`: the rows of the earlier batches) — found by fuzzing (tests/fuzz): it was
    an OverflowError."""
    if pa.types.is_timestamp(column.type) and column.type.unit == "ns":
        column = column.cast(pa.timestamp("us", column.type.tz), safe=False)
    try:
        values: list[object] = column.to_pylist()  # pyarrow is untyped
    except (OverflowError, ValueError, pa.ArrowException):
        for index in range(len(column)):
            try:
                column[index].as_py()
            except (OverflowError, ValueError, pa.ArrowException) as exc:
                where = f"row {before + index + 1}"
                raise InputError(path, where, f"{name}: a value out of range ({exc})") from None
        raise
    return values


# --- leads and events --------------------------------------------------------------------


def text_id(value: object) -> str | None:
    """An id as text (a Parquet integer 7 or a float 7.0 is "7"); None when empty or missing."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    return text if text else None


def read_leads(path: str | Path, on_bad_row: OnBadRow | None = None) -> list[Lead]:
    """Leads in file order: `id` (required), optional `email`, every other column an attribute."""
    leads: list[Lead] = []
    seen: dict[str, str] = {}
    for row in read_rows(path, required=("id",)):
        try:
            lead = _lead(path, row)
            if lead.id in seen:
                raise InputError(path, row.where, f"lead id {lead.id!r} repeats {seen[lead.id]}")
        except InputError as error:
            _bad(error, on_bad_row)
            continue
        seen[lead.id] = row.where
        leads.append(lead)
    return leads


def _lead(path: str | Path, row: Row) -> Lead:
    values = dict(row.values)
    if "id" not in values:
        raise InputError(path, row.where, "no id")
    lead_id = text_id(values.pop("id"))
    if lead_id is None:
        raise InputError(path, row.where, "id is empty")
    email = values.pop("email", None)
    if email is not None and not isinstance(email, str):
        raise InputError(path, row.where, f"email must be text, not {email!r}")
    nested = values.pop("attributes", None)
    if isinstance(nested, dict):
        values = {**nested, **values}
    elif nested is not None:
        values["attributes"] = nested
    return Lead(lead_id, email, values)


def read_events(
    path: str | Path, lead_ids: set[str] | None = None, on_bad_row: OnBadRow | None = None
) -> dict[str, list[Event]]:
    """Events grouped by lead id. A repeated event id keeps its first row; only then are
    events of leads outside `lead_ids` dropped (§3). Rows with an empty id are all distinct.
    """
    by_lead: dict[str, list[Event]] = {}
    seen_ids: set[str] = set()
    for row in read_rows(path, required=EVENT_REQUIRED):
        try:
            lead_id, event = _event(path, row)
        except InputError as error:
            _bad(error, on_bad_row)
            continue
        if event.id is not None:
            if event.id in seen_ids:
                continue
            seen_ids.add(event.id)
        if lead_id is None or (lead_ids is not None and lead_id not in lead_ids):
            continue
        by_lead.setdefault(lead_id, []).append(event)
    return by_lead


def _event(path: str | Path, row: Row) -> tuple[str | None, Event]:
    values = dict(row.values)
    for column in EVENT_REQUIRED:
        if column not in values:
            raise InputError(path, row.where, f"no {column}")
    lead_id = text_id(values.pop("lead_id"))
    event_type = values.pop("type")
    if not isinstance(event_type, str) or not event_type.strip():
        raise InputError(path, row.where, f"type must be a non-empty text, not {event_type!r}")
    occurred_at = _moment(path, row.where, values.pop("occurred_at"))
    event_id = text_id(values.pop("id", None))
    source = values.pop("source", None)
    properties = values.pop("properties", None)
    if isinstance(properties, str):
        try:
            properties = json.loads(properties)
        except json.JSONDecodeError:
            raise InputError(path, row.where, "properties is not a JSON object") from None
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        raise InputError(path, row.where, "properties must be a JSON object")
    properties = {**values, **properties}
    source = None if source is None else str(source)
    return lead_id, Event(event_type, occurred_at, properties, source, event_id)


def _moment(path: str | Path, where: str, value: object) -> int:
    if isinstance(value, datetime | date):
        return to_micros(value)
    if value is None:
        raise InputError(path, where, "occurred_at is empty")
    if not isinstance(value, str):
        raise InputError(path, where, f"occurred_at {value!r} is not an ISO 8601 timestamp")
    try:
        return parse_instant(value)
    except TimestampError as exc:
        raise InputError(path, where, f"occurred_at {exc}") from None


def _bad(error: InputError, on_bad_row: OnBadRow | None) -> None:
    if on_bad_row is None:
        raise error
    on_bad_row(error)
