"""How the kernel sees its inputs: the columns a model reads, lead and event fields as
records.Lead.get and records.Event.get give them, ids, times, and the events as arrays.

Kept apart from kernel.py so that readers (engine/frames.py), the Spark job and the records
conversions share one definition of "what scoring reads".
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from leadscore.core.conditions import walk
from leadscore.core.model import Model
from leadscore.core.records import (
    EVENT_COLUMNS,
    EVENT_REQUIRED,
    FREE_EMAIL_DOMAINS,
    normalise_email,
    property_value,
)
from leadscore.engine import columns as c
from leadscore.engine.compile import (
    Compiler,
    Field,
    NullField,
    TextField,
    field_of,
    lead_fields,
    no_event_nodes,
)
from leadscore.engine.engagement import EventTable, ordered_types
from leadscore.engine.readers import text_id

Frame = pl.DataFrame | pl.LazyFrame


# --- what scoring reads -------------------------------------------------------------------


def schema_of(frame: Frame) -> pl.Schema:
    return frame.collect_schema()


def collect(frame: Frame, names: list[str], categorical: bool = False) -> pl.DataFrame:
    """Only the columns scoring reads (a LazyFrame scan reads no others). With `categorical`,
    a lazy scan reads text other than lead ids straight into categoricals (smaller, and
    factorized once)."""
    if not isinstance(frame, pl.LazyFrame):
        return frame.select(names)
    schema = frame.collect_schema()
    columns = [
        pl.col(name).cast(pl.Categorical(pl.Categories.random()))
        if categorical and schema[name] == pl.String and name != "lead_id"
        else pl.col(name)
        for name in names
    ]
    return frame.select(columns).collect()


def model_lead_fields(model: Model) -> set[str]:
    """Every lead field a model's conditions read (fit rules and stages)."""
    names: set[str] = set()
    for rule in model.fit.rules:
        names |= lead_fields(rule.when)
    for stage in model.stages:
        names |= lead_fields(stage.when)
    return names


def lead_columns(model: Model, names: list[str]) -> list[str]:
    """The columns of a leads table that scoring reads, in table order."""
    wanted = {"id", "email"} | model_lead_fields(model)
    return [name for name in names if name in wanted]


def event_fields(model: Model) -> set[str]:
    """Every event field a model's `where` conditions read (rules and stage no_event)."""
    roots = [rule.where for rule in model.engagement.rules]
    roots += [node.where for stage in model.stages for node in no_event_nodes(stage.when)]
    names: set[str] = set()
    for root in roots:
        for node in walk(root):
            if hasattr(node, "field") and hasattr(node, "op"):
                names.add(node.field)
    return names


def event_types(model: Model) -> list[str]:
    types: dict[str, None] = {}
    for rule in model.engagement.rules:
        types.update(dict.fromkeys(rule.event or ()))
    for stage in model.stages:
        for node in no_event_nodes(stage.when):
            types.update(dict.fromkeys(node.types))
    return list(types)


def event_columns(model: Model, names: list[str]) -> list[str]:
    """The columns of an events table that scoring reads, in table order."""
    wanted = set(EVENT_REQUIRED)
    for name in event_fields(model):
        prop = name.removeprefix("properties.")
        wanted |= {name, prop, f"properties.{prop}", prop.split(".")[0]}
        wanted.add(f"properties.{prop.split('.')[0]}")
    return [n for n in names if n in wanted]


def text_ids(s: pl.Series) -> pl.Series:
    """`readers.text_id` of each value: ids as text, None for an empty or missing one."""
    dtype = s.dtype
    if dtype == pl.String or isinstance(dtype, c.STRINGLIKE):
        s = s.cast(pl.String)
        return pl.select(pl.when(pl.lit(s) == "").then(None).otherwise(pl.lit(s))).to_series()
    if dtype.is_integer() or dtype == pl.Null:
        return s.cast(pl.String)
    return c.map_unique(s, text_id, pl.String)


def event_table(
    events: Frame | None,
    ids: pl.Series,
    model: Model,
    as_of: int,
    leads: np.ndarray | None = None,
) -> EventTable:
    """The model's view of the events of these leads (see EventTable); `leads`, when given,
    is each event's lead index (else it is found from `lead_id`)."""
    types = event_types(model)
    if events is None:
        schema = {"lead_id": pl.String, "type": pl.String, "occurred_at": pl.Int64}
        events = pl.DataFrame(schema=schema)
    frame = collect(events, event_columns(model, schema_of(events).names()), categorical=True)
    for name in ("type", "occurred_at") if leads is not None else EVENT_REQUIRED:
        if name not in frame.columns:
            raise ValueError(f"the events frame has no {name} column")
    if leads is None:
        lead = _lead_index(frame["lead_id"], ids)
    elif len(leads) != frame.height:
        raise ValueError("event_leads must give one lead index per event")
    else:
        lead = np.asarray(leads, dtype=np.int32)
    time = event_times(frame["occurred_at"])
    kind_codes, kind_values = c.factorize(frame["type"])
    known = {name: i for i, name in enumerate(types)}
    kind_of = np.array([known.get(t, -1) for t in kind_values.to_list()] + [-1], dtype=np.int8)
    kind = kind_of[kind_codes]
    keep = (lead >= 0) & (time <= as_of)
    if keep.all():
        rows = None
    else:
        rows = np.flatnonzero(keep)
        lead, time, kind = lead[rows], time[rows], kind[rows]
    return EventTable(
        n_leads=len(ids),
        as_of=as_of,
        lead=lead,
        time=time,
        kind=kind,
        types=types,
        compiler=Compiler(event_lookup(frame), frame.height, as_of),
        rows=rows,
        ordered=ordered_types(model),
    )


def _lead_index(lead_ids: pl.Series, ids: pl.Series) -> np.ndarray:
    """Index (int32) of each event's lead in `ids`; -1 when unknown or empty.

    Exports usually list a lead's events together: then the runs of equal lead ids are
    joined (one per lead), not every row.
    """
    if len(lead_ids) == 0:
        return np.zeros(0, dtype=np.int32)
    if not (lead_ids.dtype == pl.String or isinstance(lead_ids.dtype, c.STRINGLIKE)):
        lead_ids = text_ids(lead_ids)
    runs = lead_ids.rle().struct.unnest()
    lengths = None
    if len(runs) * 4 <= len(lead_ids):
        uniques, lengths = runs["value"], runs["len"].to_numpy()
    else:
        codes, uniques = c.factorize(lead_ids)
    index = pl.DataFrame({"id": ids, "i": np.arange(len(ids), dtype=np.int32)})
    joined = (
        pl.DataFrame({"id": text_ids(uniques)})
        .join(index, on="id", how="left", maintain_order="left")["i"]
        .fill_null(-1)
        .to_numpy()
        .astype(np.int32)
    )
    if lengths is not None:
        return np.repeat(joined, lengths)
    return np.append(joined, np.int32(-1))[codes]


def event_times(s: pl.Series) -> np.ndarray:
    """`occurred_at` as epoch µs; raises ValueError on a missing or invalid time."""
    if s.null_count():
        raise ValueError("occurred_at is empty on some event")
    if s.dtype == pl.String or isinstance(s.dtype, c.STRINGLIKE):
        moments, bad = c.parse_timestamps(s.cast(pl.String), lenient=True)
        if bad.any():
            raise ValueError(f"occurred_at {s.filter(bad)[0]!r} is not an ISO 8601 timestamp")
        out = moments
    elif s.dtype == pl.Date or isinstance(s.dtype, pl.Datetime):
        out = c.temporal_micros(s)
    elif s.dtype.is_integer():
        out = s.cast(pl.Int64)
    else:
        raise ValueError(f"occurred_at must be epoch µs, a datetime or ISO text, not {s.dtype}")
    return out.to_numpy().astype(np.int64, copy=False)


# --- field lookups ------------------------------------------------------------------------


def lead_lookup(frame: pl.DataFrame, ids: pl.Series) -> Callable[[str], Field]:
    """Fields of leads (records.Lead.get): id, the normalised e-mail and the fields derived
    from it, then the attribute columns; a missing one is null."""
    n = len(ids)
    cache: dict[str, Field] = {}
    derived: dict[str, pl.Series] = {}

    def email() -> pl.Series:
        if "email" not in derived:
            if "email" not in frame.columns:
                derived["email"] = pl.Series("email", [None] * n, dtype=pl.String)
            elif frame["email"].dtype != pl.String:
                derived["email"] = c.map_unique(frame["email"], normalise_email, pl.String)
            else:
                folded = c.lower(c.strip(frame["email"]))
                derived["email"] = folded.set(folded == "", None)
        return derived["email"]

    def domain() -> pl.Series:
        if "domain" not in derived:
            e = pl.lit(email())
            derived["domain"] = pl.select(
                pl.when(e.str.contains("@", literal=True)).then(e.str.split("@").list.last())
            ).to_series()
        return derived["domain"]

    def build(name: str) -> Field:
        if name == "id":
            return TextField(ids)
        if name == "email":
            return TextField(email())
        if name == "email_domain":
            return TextField(domain())
        if name == "email_is_free":
            d = domain()
            free = d.is_in(sorted(FREE_EMAIL_DOMAINS)).set(d.is_null(), None)
            return TextField(c.text_form(free))
        if name in frame.columns:
            return field_of(frame[name], n)
        return NullField(n)

    def lookup(name: str) -> Field:
        if name not in cache:
            cache[name] = build(name)
        return cache[name]

    return lookup


def event_lookup(frame: pl.DataFrame) -> Callable[[str], Field]:
    n = frame.height
    cache: dict[str, Field] = {}

    def column(prop: str) -> pl.Series | None:
        if f"properties.{prop}" in frame.columns:
            return frame[f"properties.{prop}"]
        if prop in frame.columns and prop not in EVENT_COLUMNS:
            return frame[prop]
        return None

    def build(name: str) -> Field:
        if name == "type":
            return TextField(frame["type"].cast(pl.String))
        if name == "source":
            if "source" not in frame.columns:
                return NullField(n)
            source = frame["source"]
            if source.dtype == pl.String or source.dtype.is_integer():
                return field_of(source.cast(pl.String), n)
            return field_of(c.map_unique(source, str, pl.String), n)
        prop = name.removeprefix("properties.")
        found = column(prop)
        if found is not None:
            return field_of(found, n)
        return _walk(column, prop, n)

    def lookup(name: str) -> Field:
        if name not in cache:
            cache[name] = build(name)
        return cache[name]

    return lookup


def _walk(column: Callable[[str], pl.Series | None], prop: str, n: int) -> Field:
    """A dotted name that is no column walks nested structs (records.property_value)."""
    parts = prop.split(".")
    if len(parts) < 2:
        return NullField(n)
    base = column(parts[0])
    if base is None:
        return NullField(n)
    if isinstance(base.dtype, pl.Struct):
        series = base
        for part in parts[1:]:
            if not isinstance(series.dtype, pl.Struct):
                return NullField(n)
            if part not in [f.name for f in series.dtype.fields]:
                return NullField(n)
            series = series.struct.field(part)
        return field_of(series, n)
    if base.dtype == pl.Object:
        return field_of(
            pl.Series(
                [property_value({parts[0]: value}, prop) for value in base.to_list()],
                dtype=pl.Object,
            ),
            n,
        )
    return NullField(n)
