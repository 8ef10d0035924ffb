"""Leads and events files → Polars frames, vectorised, with the §3 rules of engine/readers.py.

The fast path reads Parquet with Polars and CSV as plain lines (only when the file has no
quotes, carriage returns or NUL bytes, so that a line is a row), checks every rule of the row
reader at once — required columns, empty or repeated lead ids, empty event types, timestamps
in the ISO grammar — and applies the event id rule (a repeated id keeps its first row; rows
without an id are all distinct). Whenever anything is off, or rows are to be skipped, it
returns None and the caller reads with the row-by-row reader, whose messages and skip reports
are the contract; its records are then turned into frames (engine/records.py).
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from leadscore.core.model import Model
from leadscore.core.records import EVENT_REQUIRED
from leadscore.engine import columns as c
from leadscore.engine.fields import event_fields, model_lead_fields, text_ids
from leadscore.engine.readers import OnBadRow, detect_format, read_events, read_leads
from leadscore.engine.records import events_frame, leads_frame

_SEPARATOR = "\x1f"


def read_inputs(
    model: Model,
    leads_path: str | Path,
    events_path: str | Path | None,
    on_bad_row: OnBadRow | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """(leads, events) frames of two files, as the row reader would read them (§3)."""
    leads = events = None
    if on_bad_row is None:
        leads = read_leads_frame(leads_path, model)
        if leads is not None and events_path is not None:
            events = read_events_frame(events_path, model)
    if leads is None:
        records = read_leads(leads_path, on_bad_row)
        leads = leads_frame(records)
    if events_path is not None and events is None:
        ids = set(leads["id"].to_list())
        by_lead = read_events(events_path, ids, on_bad_row)
        events = events_frame(by_lead, event_fields(model))
    return leads, events


# --- leads --------------------------------------------------------------------------------


def read_leads_frame(path: str | Path, model: Model | None = None) -> pl.DataFrame | None:
    """The leads file as a frame (only the columns `model` reads), or None: use the row
    reader."""
    frame = _read(path, required=("id",), banned=("attributes",), columns=_lead_columns(model))
    if frame is None:
        return None
    if not _is_text_or_int(frame["id"]):
        return None
    ids = text_ids(frame["id"])
    if ids.null_count() or ids.is_duplicated().any():
        return None
    if "email" in frame.columns and not _is_text(frame["email"]):
        return None
    return frame.with_columns(ids.alias("id"))


def _lead_columns(model: Model | None) -> set[str] | None:
    if model is None:
        return None
    return {"id", "email"} | model_lead_fields(model)


# --- events -------------------------------------------------------------------------------


def read_events_frame(path: str | Path, model: Model | None = None) -> pl.DataFrame | None:
    """The events file as a frame, repeated event ids removed, or None: use the row reader."""
    frame = _read(
        path, required=EVENT_REQUIRED, banned=("properties",), columns=_event_columns(model)
    )
    if frame is None:
        return None
    if not (_is_text(frame["type"]) and _is_text_or_int(frame["lead_id"])):
        return None
    if "id" in frame.columns and not _is_text_or_int(frame["id"]):
        return None
    codes, kinds = c.factorize(frame["type"])
    if len(kinds) and (c.strip(kinds) == "").any():
        return None  # an empty (or blank) type on some row
    if (codes == len(kinds)).any():
        return None  # a missing type
    if not _valid_times(frame["occurred_at"]):
        return None
    if "id" in frame.columns:
        first = first_rows(frame["id"])
        if first is not None:
            frame = frame.filter(first)
        frame = frame.drop("id")
    return frame


def _event_columns(model: Model | None) -> set[str] | None:
    if model is None:
        return None
    names = set(EVENT_REQUIRED) | {"id"}
    for name in event_fields(model):
        prop = name.removeprefix("properties.")
        root = prop.split(".")[0]
        names |= {name, prop, root, f"properties.{prop}", f"properties.{root}"}
    return names


def _valid_times(s: pl.Series) -> bool:
    if s.null_count():
        return False
    if s.dtype == pl.Date or isinstance(s.dtype, pl.Datetime):
        return True
    if not _is_text(s):
        return False
    codes, texts = c.factorize(s)
    _, bad = c.parse_timestamps(texts, python=False, lenient=True)
    return not bad.any()


def first_rows(ids: pl.Series) -> pl.Series | None:
    """Rows to keep under the event id rule (None: every id is distinct already)."""
    texts = (text_ids(ids) if not _is_text(ids) else ids).cast(pl.String)
    if texts.null_count() == 0 and texts.is_sorted():
        n = len(texts)
        if n < 2 or not (texts.slice(1) == texts.slice(0, n - 1)).any():
            return None  # sorted without repeats
    present = texts.is_not_null() & (texts != "")
    hashes = texts.hash(seed=0)
    clash = (hashes.is_duplicated() & present).fill_null(False)
    if not clash.any():
        return None
    # Only rows whose hash repeats can repeat an id: compare their text exactly, in order.
    index = clash.arg_true()
    repeated = ~texts.gather(index).is_first_distinct()
    keep = np.ones(len(texts), dtype=bool)
    keep[index.filter(repeated).to_numpy()] = False
    return pl.Series(keep)


# --- files --------------------------------------------------------------------------------


def _read(
    path: str | Path, required: tuple[str, ...], banned: tuple[str, ...], columns: set[str] | None
) -> pl.DataFrame | None:
    try:
        kind, gz = detect_format(path)
    except ValueError:
        return None
    if not Path(path).is_file() or kind == "jsonl":
        return None
    try:
        read = _parquet if kind == "parquet" else _csv
        frame = read(path, gz, columns)
    except (OSError, pl.exceptions.PolarsError, pa.ArrowException, ValueError, EOFError):
        return None
    if frame is None:
        return None
    names = frame.columns
    if any(name not in names for name in required) or any(name in names for name in banned):
        return None
    return frame


def _parquet(path: str | Path, gz: bool, columns: set[str] | None) -> pl.DataFrame | None:
    source = io.BytesIO(_bytes(path, gz)) if gz else str(path)
    schema = pq.read_schema(source)
    if isinstance(source, io.BytesIO):
        source.seek(0)
    names = schema.names
    if len(set(names)) != len(names):
        return None
    wanted = [n for n in names if columns is None or n in columns or n in ("attributes",)]
    wanted += [n for n in ("properties",) if n in names and n not in wanted]
    lazy = pl.scan_parquet(source).select(wanted)
    frame_schema = lazy.collect_schema()
    # Text other than ids is read straight into categoricals: factorized once, and small.
    lazy = lazy.with_columns(
        pl.col(n).cast(pl.Categorical(pl.Categories.random()))
        for n in wanted
        if frame_schema[n] == pl.String and n not in ("id", "lead_id", "email")
    )
    return lazy.collect()


def _csv(path: str | Path, gz: bool, columns: set[str] | None) -> pl.DataFrame | None:
    """A CSV without quotes, CRs or NULs, where a row is a line: cut each line at its commas."""
    data = _bytes(path, gz)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.startswith(b"\n") or any(ch in data for ch in (b'"', b"\r", b"\x00", b"\x1f")):
        return None  # the row reader takes a blank first line as an empty header
    lines = pl.read_csv(
        data,
        has_header=False,
        separator=_SEPARATOR,
        quote_char=None,
        new_columns=["line"],
        infer_schema=False,
        schema={"line": pl.String},
        empty_string_is_null=True,
    )["line"].drop_nulls()
    if len(lines) == 0:
        return None
    header = [name.strip(c.PY_WHITESPACE) for name in lines[0].split(",")]
    if len(set(header)) != len(header):
        return None
    body = lines.slice(1)
    if (body.str.count_matches(",", literal=True) != len(header) - 1).any():
        return None
    parts = body.str.split_exact(",", len(header) - 1).struct.unnest()
    parts.columns = header
    keep = [n for n in header if columns is None or n in columns]
    frame = parts.select(keep)
    return frame.with_columns(
        pl.when(pl.col(n) == "").then(None).otherwise(pl.col(n)).alias(n) for n in keep
    )


def _bytes(path: str | Path, gz: bool) -> bytes:
    if not gz:
        return Path(path).read_bytes()
    with gzip.open(path, "rb") as handle:
        return handle.read()


def _is_text(s: pl.Series) -> bool:
    return s.dtype in (pl.String, pl.Null) or isinstance(s.dtype, c.STRINGLIKE)


def _is_text_or_int(s: pl.Series) -> bool:
    return _is_text(s) or s.dtype.is_integer()
