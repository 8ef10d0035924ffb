"""Writing a data set: Parquet row groups or CSV, appended chunk by chunk on a second thread.

Files are written under a temporary name and renamed into place at the end, so that a failed
run leaves no half-written file; Arrow types are pinned so that the bytes never depend on
what polars prefers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from leadscore.demo.tables import DemoData

CSV_TIME = "%Y-%m-%dT%H:%M:%S%.6fZ"
TABLES = ("leads", "events", "outcomes")
ARROW_TYPES: dict[pl.DataType | type[pl.DataType], pa.DataType] = {
    pl.String: pa.string(),
    pl.Int64: pa.int64(),
    pl.Float64: pa.float64(),
}


def _arrow(frame: pl.DataFrame) -> pa.Table:
    """Plain Arrow types (string, not large_string), the same whatever polars prefers."""
    fields = [
        pa.field(
            name,
            pa.timestamp("us", tz="UTC")
            if dtype == pl.Datetime("us", "UTC")
            else ARROW_TYPES[dtype],
        )
        for name, dtype in frame.schema.items()
    ]
    return frame.to_arrow().cast(pa.schema(fields))


class _Sink:
    """Writes the three tables of a data set; a failed run leaves no half-written file."""

    def __init__(self, out_dir: Path, fmt: str) -> None:
        if fmt not in ("parquet", "csv"):
            raise ValueError(f"unknown format {fmt!r}: use parquet or csv")
        self.fmt = fmt
        out_dir.mkdir(parents=True, exist_ok=True)
        self.paths = {t: out_dir / f"{t}.{fmt}" for t in TABLES}
        self.temps = {t: p.with_name(f".{p.name}.partial") for t, p in self.paths.items()}
        self.writers: dict[str, Any] = {}
        self.rows = dict.fromkeys(TABLES, 0)

    def add(self, data: DemoData) -> None:
        for table in TABLES:
            frame = getattr(data, table)
            self.rows[table] += frame.height
            if self.fmt == "csv":
                self._add_csv(table, frame)
            else:
                arrow = _arrow(frame)
                if table not in self.writers:
                    self.writers[table] = pq.ParquetWriter(
                        self.temps[table], arrow.schema, compression="zstd"
                    )
                self.writers[table].write_table(arrow, row_group_size=max(1, frame.height))

    def _add_csv(self, table: str, frame: pl.DataFrame) -> None:
        first = table not in self.writers
        if first:
            self.writers[table] = open(self.temps[table], "wb")  # noqa: SIM115
        frame.write_csv(
            self.writers[table], include_header=first, datetime_format=CSV_TIME, float_precision=2
        )

    def close(self, ok: bool) -> None:
        for writer in self.writers.values():
            writer.close()
        for table, temp in self.temps.items():
            if ok:
                os.replace(temp, self.paths[table])
            else:
                temp.unlink(missing_ok=True)


def write(data: DemoData, out_dir: Path | str, fmt: str = "parquet") -> dict[str, Path]:
    """Write an in-memory data set as DIR/leads.<fmt>, events.<fmt> and outcomes.<fmt>."""
    return write_all([data], Path(out_dir), fmt)[0]


def _reporting(progress: Callable[[int], None], rows: int) -> Callable[[Future[None]], None]:
    """A done-callback reporting `rows`, bound now (the next chunk replaces `data`)."""
    return lambda _: progress(rows)


def write_all(
    chunks: Iterable[DemoData],
    out_dir: Path,
    fmt: str,
    progress: Callable[[int], None] | None = None,
) -> tuple[dict[str, Path], dict[str, int]]:
    """Write each chunk on a second thread while the next one is generated (2 cores)."""
    sink, ok = _Sink(out_dir, fmt), False
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending: Future[None] | None = None
            for data in chunks:
                if pending is not None:
                    pending.result()
                pending = pool.submit(sink.add, data)
                if progress is not None:
                    pending.add_done_callback(_reporting(progress, data.leads.height))
            if pending is not None:
                pending.result()
        ok = True
    finally:
        sink.close(ok)
    return sink.paths, sink.rows
