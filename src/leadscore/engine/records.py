"""Lead and Event records ↔ Polars frames, without changing what a condition sees.

Records come from the row-by-row reader (engine/readers.py) and from tests; frames are what the
kernel scores. A column gets a native type only when every value has that exact Python type
(so that `5` and `5.0`, whose text differs, never share a float column); anything else is an
Object column, which the kernel evaluates with the reference conditions value by value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import cast

import polars as pl

from leadscore.core.records import EVENT_COLUMNS, Event, Lead, property_value
from leadscore.engine.columns import Dtype
from leadscore.engine.fields import event_times, text_ids

INT64 = (-(2**63), 2**63 - 1)
SHADOWED = ("id", "email", "email_domain", "email_is_free")
"""Lead fields that `Lead.get` answers before looking at the attributes."""


def typed_series(name: str, values: Sequence[object]) -> pl.Series:
    """A column of Python values: native when they share one plain type, else Object."""
    kinds = {type(value) for value in values if value is not None}
    dtype: Dtype | None = None
    if not kinds or kinds == {str}:
        dtype = pl.String
    elif kinds == {bool}:
        dtype = pl.Boolean
    elif kinds == {int}:
        ints = cast("Sequence[int | None]", values)  # every value is an int or None
        if all(INT64[0] <= value <= INT64[1] for value in ints if value is not None):
            dtype = pl.Int64
    elif kinds == {float}:
        dtype = pl.Float64
    elif kinds == {date}:
        dtype = pl.Date
    elif kinds == {datetime} and all(
        v.tzinfo is None
        for v in cast("Sequence[datetime | None]", values)  # datetimes or None
        if v is not None
    ):
        dtype = pl.Datetime("us")
    if dtype is not None:
        try:
            return pl.Series(name, values, dtype=dtype, strict=True)
        except Exception:  # noqa: BLE001 - e.g. text with lone surrogates: keep the objects
            pass
    return pl.Series(name, values, dtype=pl.Object)


def leads_frame(leads: Sequence[Lead]) -> pl.DataFrame:
    """`id`, `email` (normalised) and one column per attribute, in first-seen order."""
    names: dict[str, None] = {}
    for lead in leads:
        names.update(dict.fromkeys(k for k in lead.attributes if k not in SHADOWED))
    columns = [
        pl.Series("id", [lead.id for lead in leads], dtype=pl.String),
        typed_series("email", [lead.email for lead in leads]),
    ]
    for name in names:
        columns.append(typed_series(name, [lead.attributes.get(name) for lead in leads]))
    return pl.DataFrame(columns)


def events_frame(
    events: Mapping[str, Sequence[Event]] | Iterable[tuple[str, Event]],
    fields: Iterable[str] = (),
) -> pl.DataFrame:
    """Events with their lead id; each property as `properties.NAME`.

    `fields` adds the dotted names a model reads that are not top-level keys, resolved per
    event as `Event.get` resolves them (walking nested mappings).
    """
    pairs = (
        [(lead_id, e) for lead_id, evs in events.items() for e in evs]
        if isinstance(events, Mapping)
        else list(events)
    )
    keys: dict[str, None] = {}
    for _, event in pairs:
        keys.update(dict.fromkeys(event.properties))
    for name in fields:
        if name not in ("type", "source"):
            keys.setdefault(name.removeprefix("properties."), None)
    columns = [
        pl.Series("lead_id", [lead_id for lead_id, _ in pairs], dtype=pl.String),
        typed_series("type", [e.type for _, e in pairs]),
        pl.Series("occurred_at", [e.occurred_at for _, e in pairs], dtype=pl.Int64),
        pl.Series("id", [e.id for _, e in pairs], dtype=pl.String),
        pl.Series("source", [e.source for _, e in pairs], dtype=pl.String),
    ]
    for key in keys:
        values = [property_value(e.properties, key) for _, e in pairs]
        columns.append(typed_series(f"properties.{key}", values))
    return pl.DataFrame(columns)


# --- frames → records (for the reference scorer) -----------------------------------------


def frame_leads(frame: pl.DataFrame) -> list[Lead]:
    """The leads of a frame as the row reader would build them."""
    ids = text_ids(frame["id"]).to_list()
    emails = frame["email"].to_list() if "email" in frame.columns else [None] * len(ids)
    others = [name for name in frame.columns if name not in ("id", "email")]
    values = [frame[name].to_list() for name in others]
    return [
        Lead(lead_id, email, dict(zip(others, row, strict=True)))
        for lead_id, email, *row in zip(ids, emails, *values, strict=True)
    ]


def frame_events(frame: pl.DataFrame | None) -> dict[str, list[Event]]:
    """Events of a frame grouped by lead id, as the row reader would build them."""
    if frame is None or frame.height == 0:
        return {}
    lead_ids = text_ids(frame["lead_id"]).to_list()
    types = frame["type"].to_list()
    times = event_times(frame["occurred_at"]).tolist()
    n = frame.height
    ids = text_ids(frame["id"]).to_list() if "id" in frame.columns else [None] * n
    sources = frame["source"].to_list() if "source" in frame.columns else [None] * n
    others = [name for name in frame.columns if name not in EVENT_COLUMNS]
    keys = [name.removeprefix("properties.") for name in others]
    values = [frame[name].to_list() for name in others]
    by_lead: dict[str, list[Event]] = {}
    for i, lead_id in enumerate(lead_ids):
        if lead_id is None:
            continue
        properties = {key: column[i] for key, column in zip(keys, values, strict=True)}
        source = None if sources[i] is None else str(sources[i])
        event = Event(types[i], times[i], properties, source, ids[i])
        by_lead.setdefault(lead_id, []).append(event)
    return by_lead
