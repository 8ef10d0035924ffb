"""The score record (core/explain.py SCORE_COLUMNS) as the engine writes it: a Polars schema
for the kernel's frames, an Arrow schema for Parquet, a DDL string for Spark.

Derived here rather than restated, so that a column added to the record reaches every output.
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from leadscore.core.explain import SCORE_COLUMNS, ScoreKind

_POLARS: dict[ScoreKind, pl.DataType] = {
    "id": pl.String(),
    "number": pl.Float64(),
    "label": pl.String(),
}
_ARROW: dict[ScoreKind, pa.DataType] = {
    "id": pa.string(),
    "number": pa.float64(),
    "label": pa.string(),
}
_SPARK: dict[ScoreKind, str] = {"id": "string", "number": "double", "label": "string"}

SCORE_SCHEMA: dict[str, pl.DataType] = {name: _POLARS[kind] for name, kind in SCORE_COLUMNS}
"""The kernel's output columns (score_frame), in order."""

SCORE_ARROW = pa.schema([(name, _ARROW[kind]) for name, kind in SCORE_COLUMNS])
"""The columns of a Parquet scores file."""

SCORE_DDL = ", ".join(f"{name} {_SPARK[kind]}" for name, kind in SCORE_COLUMNS)
"""The columns of the Spark job's output, as Spark DDL."""
