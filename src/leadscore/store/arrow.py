"""Bulk reads from the store into Polars frames, for the batch recompute (SPEC §5).

Reading a million leads and twenty million events through Python row objects costs minutes;
ADBC's PostgreSQL driver hands back Arrow columns straight from binary COPY, and on SQLite
`group_concat` packs a slice of rows into one text that Polars parses in Rust. Only the JSON
values a scoring model reads are extracted, in SQL, as JSON text (`->`), and decoded here once
per distinct value with `json.loads`, so that every value has exactly the Python type the
live path's `json.loads` of the whole document gives.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np
import polars as pl
import pyarrow as pa
from sqlalchemy.engine import make_url

from leadscore.engine.records import typed_series
from leadscore.store.database import Database

Kind = Literal["int", "float", "text", "json"]
"""How a selected column travels: integers, doubles, text, or JSON text (from `->`)."""

_DTYPES = {"int": pl.Int64, "float": pl.Float64, "text": pl.String, "json": pl.String}


class Source:
    """Bulk reads: ADBC on PostgreSQL; on SQLite, Python's own driver (a second SQLite
    library in the same process would break SQLite's file locks), with the rows packed into
    one text per slice by `group_concat` and parsed by Polars' CSV reader."""

    def __init__(self, db: Database, conn: Any) -> None:
        """`conn`: the DB-API connection (ADBC's on PostgreSQL, sqlite3's on SQLite)."""
        self.db = db
        self.conn = conn

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """One read transaction on SQLite, for the selects of one chunk. A snapshot held for
        a whole run would keep SQLite from checkpointing its write-ahead log: the log grows
        by every chunk written (about 1 GB for a million leads) and every page read, the
        reads' and the writer's, looks it up there. PostgreSQL's reads need nothing here."""
        if not self.db.is_sqlite:
            yield
            return
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("COMMIT")

    def select(self, columns: Sequence[tuple[str, str, Kind]], tail: str) -> pl.DataFrame:
        """`SELECT <expr AS name, …> <tail>` into a frame typed by each column's kind."""
        schema = {name: _DTYPES[kind] for name, _, kind in columns}
        if self.db.is_sqlite:
            return self._packed(columns, tail, schema)
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT {', '.join(f'{e} AS {n}' for n, e, _ in columns)} {tail}")
            frame = pl.DataFrame(pl.from_arrow(cur.fetch_arrow_table()))
        return frame.with_columns(pl.col(n).cast(t) for n, t in schema.items())

    def _packed(
        self,
        columns: Sequence[tuple[str, str, Kind]],
        tail: str,
        schema: dict[str, type[pl.DataType]],
    ) -> pl.DataFrame:
        parts = []
        for _name, expr, kind in columns:
            if kind == "text":
                expr = f"json_quote({expr})"  # no raw separators inside; null → 'null'
            elif kind == "float":
                expr = f"printf('%!.17g', {expr})"  # every double survives the trip
            parts.append(f"ifnull({expr}, '')")
        row = " || char(31) || ".join(parts)
        text = self.conn.execute(f"SELECT group_concat({row}, char(10)) {tail}").fetchone()[0]
        return packed_frame(text, columns, schema)


def packed_frame(
    text: str | None, columns: Sequence[tuple[str, str, Kind]], schema: dict[str, Any]
) -> pl.DataFrame:
    """The frame of rows packed into one text (fields split by U+001F, rows by newlines, text
    as JSON literals), as both databases' packed selects return them."""
    if not text:
        return pl.DataFrame(schema=schema)
    frame = pl.read_csv(
        io.StringIO(text),
        has_header=False,
        separator="\x1f",
        quote_char=None,
        new_columns=list(schema),
        schema=schema,
    )
    texts = [name for name, _, kind in columns if kind == "text"]
    return frame.with_columns(json_strings(frame[name]) for name in texts)


def json_strings(s: pl.Series) -> pl.Series:
    """JSON string literals (and `null`) → text. Only a literal with an escape goes through
    `json.loads` (once per distinct one); the rest lose their quotes in Rust."""
    fast = pl.when(s == "null").then(None).otherwise(s.str.slice(1, s.str.len_chars() - 2))
    escaped = s.filter(s.str.contains("\\", literal=True)).unique()
    if escaped.len() == 0:
        return pl.select(fast).to_series().alias(s.name)
    decoded = pl.Series([json.loads(t) for t in escaped.to_list()], dtype=pl.String)
    slow = s.replace_strict(escaped, decoded, default=None, return_dtype=pl.String)
    picked = pl.when(s.str.contains("\\", literal=True)).then(slow).otherwise(fast)
    return pl.select(picked).to_series().alias(s.name)


@contextmanager
def connect(db: Database) -> Iterator[Source]:
    """A connection for bulk reads of the same database, outside any transaction: each
    `Source.snapshot` is one."""
    if db.is_sqlite:
        with db.engine.connect() as conn:
            yield Source(db, conn.connection.driver_connection)
        return
    import adbc_driver_postgresql.dbapi as driver

    url = make_url(db.url)
    uri = url.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = driver.connect(uri)
    try:
        yield Source(db, conn)
    finally:
        conn.close()


def json_member(db: Database, column: str, key: str) -> str:
    """SQL for the JSON text of `column`'s member `key` (NULL when absent)."""
    if db.is_sqlite:
        if '"' in key:
            # SQLite's path grammar cannot quote this key: read the whole document.
            return f"CAST({column} AS TEXT)"
        path = literal(f'$."{key}"')
        return f"CAST({column} -> {path} AS TEXT)"
    return f"({column} -> {literal(key)})::text"


def is_whole_document(db: Database, key: str) -> bool:
    """Whether `json_member` returned the whole document (the caller then picks `key`)."""
    return db.is_sqlite and '"' in key


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def decode_json(name: str, texts: pl.Series, pick: str | None = None) -> pl.Series:
    """JSON texts → the values `json.loads` gives, as `engine.records.typed_series` types
    them (native when every value shares one plain type, else Object). With `pick`, each
    text is a whole object and its member `pick` is taken."""
    texts = texts.cast(pl.String)
    distinct = texts.drop_nulls().unique(maintain_order=True)
    values = [json.loads(t) for t in distinct.to_list()]
    if pick is not None:
        values = [v.get(pick) if isinstance(v, dict) else None for v in values]
    typed = typed_series(name, values)
    if typed.dtype != pl.Object:
        return texts.replace_strict(distinct, typed, default=None, return_dtype=typed.dtype).alias(
            name
        )
    lookup = dict(zip(distinct.to_list(), values, strict=True))
    return pl.Series(name, [lookup.get(t) for t in texts.to_list()], dtype=pl.Object)


def dictionary_column(codes: np.ndarray, names: Sequence[str]) -> pl.Series:
    """Small-vocabulary text (event types) from integer codes, as a categorical column."""
    array = pa.DictionaryArray.from_arrays(pa.array(codes, type=pa.int32()), pa.array(names))
    return pl.Series(pl.from_arrow(array))
