"""The events of a set of scattered leads as the kernel's frames, read inside the caller's
transaction (the live path's batches, SPEC §4/§5, issue 14).

The bulk recompute (store/bulk_reads.py) reads whole key ranges on connections of its own; a
batch of live events touches leads scattered over the table, already locked by the caller,
whose new events only the caller's transaction can see. So the select here names the leads'
keys and runs on the caller's connection: on SQLite through `store.arrow`'s packed reader on
the same driver connection; on PostgreSQL the rows are packed the same way by `string_agg`
(ADBC would need a connection of its own). Only the JSON values the model reads are
extracted, and decoded as the recompute decodes them (`bulk_reads.property_column`), so each
value has exactly the type the reference scorer's `json.loads` gives.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
from sqlalchemy import Connection

from leadscore.store import arrow
from leadscore.store.bulk_reads import EVENT_SLICE, ChunkReader
from leadscore.store.database import Database

_DTYPES = {"int": pl.Int64, "float": pl.Float64, "text": pl.String, "json": pl.String}


def select(
    db: Database, conn: Connection, columns: Sequence[tuple[str, str, arrow.Kind]], tail: str
) -> pl.DataFrame:
    """`SELECT <expr AS name, …> <tail>` on the caller's connection, into a frame typed by
    each column's kind (`store.arrow.Source.select`'s contract)."""
    if db.is_sqlite:
        return arrow.Source(db, conn.connection.driver_connection).select(columns, tail)
    schema = {name: _DTYPES[kind] for name, _, kind in columns}
    parts = []
    for name, _expr, kind in columns:
        if kind == "text":
            value = f"to_json(t.{name})::text"  # no raw separators inside; null stays null
        elif kind == "float":
            raise ValueError("no float columns are read here")
        else:
            value = f"(t.{name})::text"
        parts.append(f"coalesce({value}, '')")
    row = " || chr(31) || ".join(parts)
    inner = ", ".join(f"{expr} AS {name}" for name, expr, _ in columns)
    query = f"SELECT string_agg({row}, chr(10)) FROM (SELECT {inner} {tail}) AS t"
    return arrow.packed_frame(conn.exec_driver_sql(query).scalar(), columns, schema)


def events_of(
    db: Database, conn: Connection, reader: ChunkReader, pks: np.ndarray
) -> tuple[pl.DataFrame, np.ndarray]:
    """Every event of the leads `pks` (sorted, distinct, not empty), whatever its time, with the
    columns `reader`'s model reads (`ChunkReader._events`' frame), and per event the index
    of its lead in `pks`."""
    types = select(
        db, conn, [("id", "id", "int"), ("name", "name", "text")], "FROM event_types ORDER BY id"
    )
    columns = reader.event_columns(types)
    slices = []
    for start in range(0, len(pks), EVENT_SLICE):
        keys = ",".join(str(int(pk)) for pk in pks[start : start + EVENT_SLICE])
        where = f"lead_pk IN ({keys})" if db.is_sqlite else f"lead_pk = ANY('{{{keys}}}'::bigint[])"
        slices.append(select(db, conn, columns, f"FROM events WHERE {where}"))
    raw = pl.concat(slices)
    lead_pk = raw["lead_pk"].cast(pl.Int64).to_numpy()
    index = np.searchsorted(pks, lead_pk).astype(np.int32)
    return reader.decode_events(raw, types), index
