"""Kernel results that behave as the list of ScoreResult the offline API always returned, and
that `write_scores` writes straight from the frame.

Scores are computed once, without explanations; the explanation (and ScoreResult objects with
their contributions) is computed only when something asks for it: `--explain`, JSON Lines
output, or a caller that iterates the results (the `top` command).
"""

from __future__ import annotations

import gzip
import io
import sys
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from leadscore.core.explain import ScoreResult
from leadscore.core.model import Model
from leadscore.engine.explain import to_results
from leadscore.engine.io import OUTPUT_COLUMNS, _atomic, detect_format
from leadscore.engine.kernel import score_frame

_SPECIAL = r'[,"\r\n]'


class FrameResults(Sequence[ScoreResult]):
    """The scores of a leads frame, in its order."""

    def __init__(
        self,
        leads: pl.DataFrame,
        events: pl.DataFrame | None,
        model: Model,
        as_of: int,
        probabilities: np.ndarray | None = None,
    ) -> None:
        self._inputs = (leads, events, model, as_of, probabilities)
        self.frame = score_frame(leads, events, model, as_of, probabilities=probabilities)

    @cached_property
    def explained(self) -> pl.DataFrame:
        """The scores with fit_points, engagement_points and the explanation column."""
        leads, events, model, as_of, probabilities = self._inputs
        return score_frame(leads, events, model, as_of, explain=True, probabilities=probabilities)

    @cached_property
    def _results(self) -> list[ScoreResult]:
        return to_results(self.explained)

    def __len__(self) -> int:
        return self.frame.height

    def __getitem__(self, index):  # type: ignore[override]
        return self._results[index]

    def __iter__(self) -> Iterator[ScoreResult]:
        return iter(self._results)


def write_fast(results: object, out: str | Path | None, explain: bool) -> bool:
    """Write kernel results without building Python objects when the output allows it;
    False when `write_scores` must write them (explanations, JSON Lines, unusual text)."""
    if not isinstance(results, FrameResults) or explain:
        return False
    frame = results.frame
    kind, gz = ("csv", False) if out is None else detect_format(out)
    if kind == "jsonl":
        return False
    if kind == "parquet":
        table = frame.select(OUTPUT_COLUMNS).to_arrow()
        schema = pa.schema(
            [
                (name, pa.float64() if name in ("score", "fit", "engagement") else pa.string())
                for name in OUTPUT_COLUMNS
            ]
        )
        table = table.cast(schema)
        with _atomic(out) as tmp:
            if gz:
                with gzip.open(tmp, "wb") as handle:
                    pq.write_table(table, handle)
            else:
                pq.write_table(table, tmp)
        return True
    if not _plain_csv(frame):
        return False
    buffer = io.BytesIO()
    frame.select(OUTPUT_COLUMNS).write_csv(buffer, float_precision=2, line_terminator="\n")
    data = buffer.getvalue()
    if out is None:
        sys.stdout.flush()
        binary = getattr(sys.stdout, "buffer", None)
        if binary is None:
            sys.stdout.write(data.decode("utf-8"))
        else:
            binary.write(data)
        sys.stdout.flush()
        return True
    with _atomic(out) as tmp, gzip.open(tmp, "wb") if gz else open(tmp, "wb") as handle:
        handle.write(data)
    return True


def _plain_csv(frame: pl.DataFrame) -> bool:
    """Text that Python's csv module and Polars write alike (nothing to quote, no empty
    text), and finite numbers."""
    checks = [
        pl.col(name).str.contains(_SPECIAL).any() | (pl.col(name) == "").any()
        for name in ("lead_id", "grade", "tier", "stage")
    ]
    checks += [~pl.col(name).is_finite().all() for name in ("score", "fit", "engagement")]
    flags = frame.select(pl.any_horizontal(checks).alias("x"))["x"]
    return not bool(flags[0])
