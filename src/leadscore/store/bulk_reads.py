"""The bulk recompute's reads (SPEC §5): each chunk of leads, in key order, with the events
up to `as_of` and only the JSON values one scoring model reads, as the kernel's frames.

A chunk's leads are one `store.arrow` select, its events one select per `EVENT_SLICE` leads;
the JSON values are extracted in SQL and decoded once per distinct value, so that every
value has exactly the Python type the live path's `json.loads` gives. The reads take no
locks: service/recompute.py runs them on reader threads, ahead of the scoring, and
store/bulk_writes.py only writes a lead that is still as it was read.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass

import numpy as np
import polars as pl
from sqlalchemy import Connection, func, select

from leadscore.core.conditions import Condition, walk
from leadscore.core.explain import NUMBERS, SCORED
from leadscore.core.model import Model
from leadscore.core.records import property_value
from leadscore.engine.compile import no_event_nodes
from leadscore.engine.fields import event_fields, model_lead_fields
from leadscore.engine.records import SHADOWED, typed_series
from leadscore.engine.schema import SCORE_SCHEMA
from leadscore.store import arrow
from leadscore.store.database import Database
from leadscore.store.tables import leads

EVENT_SLICE = 10_000
"""Leads whose events one query reads (SQLite packs a slice into one text)."""


def count_leads(conn: Connection) -> int:
    return conn.scalar(select(func.count()).select_from(leads)) or 0


def key_ranges(conn: Connection, size: int) -> list[tuple[int, int | None]]:
    """(after, up to) lead key ranges of `size` leads; the last is open, for leads created
    while the run goes on."""
    numbered = select(leads.c.pk, func.row_number().over(order_by=leads.c.pk).label("n")).subquery()
    query = select(numbered.c.pk).where(numbered.c.n % size == 0).order_by(numbered.c.pk)
    bounds = [0, *conn.scalars(query)]
    return [*itertools.pairwise(bounds), (bounds[-1], None)]


@dataclass
class Chunk:
    leads: pl.DataFrame
    """pk, id and the stored snapshot (`ChunkReader.STORED`)."""
    attributes: pl.DataFrame
    """id, email and the attributes the model reads: the kernel's leads frame."""
    events: pl.DataFrame
    event_leads: np.ndarray
    attributes_json: pl.Series | None = None
    """Every attribute, as JSON text: read only when the model blends a probability."""


class ChunkReader:
    """The SQL that reads what one model needs, and the decoding of its JSON values."""

    STORED = {
        "pk": pl.Int64, "id": pl.String, "email": pl.String,
        **{name: SCORE_SCHEMA[name] for name in SCORED},
        "lifecycle_stage": pl.String, "pinned_stage": pl.String,
        "stage_base": pl.String, "stage_base_at": pl.Int64,
        "event_stage": pl.String, "event_stage_at": pl.Int64,
        "model_version": pl.Int64, "scored_at": pl.Int64, "updated_at": pl.Int64,
    }  # fmt: skip

    def __init__(self, db: Database, model: Model) -> None:
        self.db = db
        self.attributes = sorted(model_lead_fields(model) - set(SHADOWED))
        fields = event_fields(model)
        self.with_source = "source" in fields
        self.properties = sorted(
            {f.removeprefix("properties.") for f in fields if f not in ("type", "source")}
        )
        self.property_types = property_types(model)
        self.predictive = model.blend is not None

    def read(self, source: arrow.Source, after: int, up_to: int | None, as_of: int) -> Chunk | None:
        """Leads with `after` < pk ≤ `up_to` (no upper bound when None) and their events,
        from one snapshot."""
        with source.snapshot():
            return self._read(source, after, up_to, as_of)

    def _read(
        self, source: arrow.Source, after: int, up_to: int | None, as_of: int
    ) -> Chunk | None:
        db = self.db
        kinds: dict[str, arrow.Kind] = dict.fromkeys(NUMBERS, "float")
        columns: list[tuple[str, str, arrow.Kind]] = [
            (name, name, "int" if dtype == pl.Int64 else kinds.get(name, "text"))
            for name, dtype in self.STORED.items()
        ]
        columns += [
            (f"a{i}", arrow.json_member(db, "attributes", key), "json")
            for i, key in enumerate(self.attributes)
        ]
        if self.predictive:  # a predictor reads every attribute
            whole = "json(attributes)" if db.is_sqlite else "attributes::text"
            columns.append(("attributes_json", whole, "json"))
        upper = "" if up_to is None else f" AND pk <= {int(up_to)}"
        frame = source.select(columns, f"FROM leads WHERE pk > {int(after)}{upper} ORDER BY pk")
        if frame.height == 0:
            return None
        decoded = [
            arrow.decode_json(key, frame[f"a{i}"], self._pick(key))
            for i, key in enumerate(self.attributes)
        ]
        attributes = frame.select("id", "email").with_columns(decoded)
        events, event_leads = self._events(source, frame["pk"].to_numpy(), as_of)
        every = frame["attributes_json"] if self.predictive else None
        stored = frame.select(list(self.STORED))
        return Chunk(stored, attributes, events, event_leads, every)

    def _pick(self, key: str) -> str | None:
        return key if arrow.is_whole_document(self.db, key) else None

    def _events(
        self, source: arrow.Source, pks: np.ndarray, as_of: int
    ) -> tuple[pl.DataFrame, np.ndarray]:
        types = source.select(
            [("id", "id", "int"), ("name", "name", "text")], "FROM event_types ORDER BY id"
        )
        columns = self.event_columns(types)
        slices = []
        bounds = [int(pks[0]) - 1, *(int(pk) for pk in pks[EVENT_SLICE - 1 :: EVENT_SLICE])]
        if bounds[-1] != int(pks[-1]):
            bounds.append(int(pks[-1]))
        for low, high in itertools.pairwise(bounds):
            slices.append(
                source.select(
                    columns,
                    f"FROM events WHERE lead_pk > {low} AND lead_pk <= {high}"
                    f" AND occurred_at <= {int(as_of)}",
                )
            )
        raw = pl.concat(slices)
        lead_pk = raw["lead_pk"].cast(pl.Int64).to_numpy()
        index = np.searchsorted(pks, lead_pk).astype(np.int32)
        inside = index < len(pks)
        index[inside & (pks[np.minimum(index, len(pks) - 1)] != lead_pk)] = -1
        index[~inside] = -1  # a lead deleted between the two reads
        return self.decode_events(raw, types), index

    def event_columns(self, types: pl.DataFrame) -> list[tuple[str, str, arrow.Kind]]:
        """The columns of an events select that this model reads (`types`: the event types'
        id and name): the lead key, type and time, the source when read, and each property
        the conditions read, extracted only from the events of the types whose conditions
        read it (`property_types`)."""
        db = self.db
        ids_by_name = dict(zip(types["name"].to_list(), types["id"].to_list(), strict=True))

        def member(key: str, prop: str) -> str:
            """`key` of the properties of the events whose conditions read `prop`."""
            expr = arrow.json_member(db, "properties", key)
            readers = self.property_types.get(prop)
            if readers is None:
                return expr
            wanted = ", ".join(str(ids_by_name[t]) for t in sorted(readers) if t in ids_by_name)
            return f"CASE WHEN type_id IN ({wanted or 'NULL'}) THEN {expr} END"

        columns: list[tuple[str, str, arrow.Kind]] = [
            ("lead_pk", "lead_pk", "int"), ("type_id", "type_id", "int"),
            ("occurred_at", "occurred_at", "int"),
        ]  # fmt: skip
        if self.with_source:
            columns.append(("source", "source", "text"))
        for i, prop in enumerate(self.properties):
            columns.append((f"p{i}", member(prop, prop), "json"))
            if "." in prop:
                columns.append((f"r{i}", member(prop.split(".")[0], prop), "json"))
        return columns

    def decode_events(self, raw: pl.DataFrame, types: pl.DataFrame) -> pl.DataFrame:
        """The kernel's events frame from the rows of `event_columns`: the type names as a
        dictionary column, and each JSON value decoded as the live path's `json.loads` would."""
        type_ids = types["id"].to_numpy()
        position = np.full(int(type_ids.max(initial=0)) + 1, -1, dtype=np.int32)
        position[type_ids] = np.arange(len(type_ids), dtype=np.int32)
        codes = position[raw["type_id"].cast(pl.Int64).to_numpy()] if raw.height else []
        decoded = {
            "type": arrow.dictionary_column(np.asarray(codes), types["name"].to_list()),
            "occurred_at": raw["occurred_at"].cast(pl.Int64),
        }
        if self.with_source:
            decoded["source"] = raw["source"].cast(pl.String)
        for i, prop in enumerate(self.properties):
            name = f"properties.{prop}"
            roots = raw[f"r{i}"] if "." in prop else None
            decoded[name] = property_column(self.db, name, prop, raw[f"p{i}"], roots)
        return pl.DataFrame(decoded)


def property_types(model: Model) -> dict[str, set[str] | None]:
    """Per property some condition reads, the event types whose conditions read it (None: a
    rule with a `where` takes events of any type). Only those events' JSON is read for it:
    extracting a member costs SQLite about a quarter of a microsecond per event, and the
    kernel evaluates a rule's `where` on the rule's own types only."""
    roots: list[tuple[Condition | None, tuple[str, ...]]] = [
        (rule.where, tuple(rule.event or ())) for rule in model.engagement.rules
    ]
    roots += [
        (node.where, tuple(node.types))
        for stage in model.stages
        for node in no_event_nodes(stage.when)
    ]
    found: dict[str, set[str] | None] = {}
    for root, kinds in roots:
        for node in walk(root):
            name = getattr(node, "field", None)
            if not hasattr(node, "op") or name is None or name in ("type", "source"):
                continue
            prop = name.removeprefix("properties.")
            before = found.get(prop, set())
            found[prop] = None if before is None or not kinds else before | set(kinds)
    return found


def property_column(
    db: Database, name: str, prop: str, texts: pl.Series, roots: pl.Series | None
) -> pl.Series:
    """`records.property_value` of each event: the key `prop` itself, else a walk from its
    first segment through nested objects."""
    pick = prop if arrow.is_whole_document(db, prop) else None
    if roots is None:
        return arrow.decode_json(name, texts, pick)
    pairs = pl.DataFrame({"t": texts.cast(pl.String), "r": roots.cast(pl.String)})

    def value(t: str | None, r: str | None) -> object:
        if t is not None:
            found = json.loads(t)
            return found.get(prop) if pick is not None and isinstance(found, dict) else found
        if r is None:
            return None
        root = json.loads(r)
        if arrow.is_whole_document(db, prop.split(".")[0]):
            return property_value(root, prop) if isinstance(root, dict) else None
        return property_value({prop.split(".")[0]: root}, prop)

    distinct = pairs.unique(maintain_order=True)
    values = [value(t, r) for t, r in distinct.iter_rows()]
    typed = typed_series(name, values)
    keyed = distinct.with_row_index("k")
    index = pairs.join(keyed, on=["t", "r"], how="left", nulls_equal=True, maintain_order="left")[
        "k"
    ].to_numpy()
    if typed.dtype == pl.Object:
        return pl.Series(name, [values[k] for k in index], dtype=pl.Object)
    return typed.gather(index)
