"""Writing scores: CSV, JSON Lines and Parquet, optionally gzipped, or CSV (JSON Lines with
explanations) on stdout.

Output goes to a temporary file that replaces the target only when everything was written
(`atomic`), so a failed run leaves no partial file behind. The kernel's results
(engine/results.py) are written straight from their frame when the output allows it.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from leadscore.core.explain import SCORE_COLUMNS, SCORE_NAMES, ScoreResult
from leadscore.engine.readers import detect_format
from leadscore.engine.results import FrameResults
from leadscore.engine.schema import SCORE_ARROW

_SPECIAL = r'[,"\r\n]'
_TEXTS = tuple(name for name, kind in SCORE_COLUMNS if kind != "number")
_NUMBERS = tuple(name for name, kind in SCORE_COLUMNS if kind == "number")


def write_scores(results: Iterable[ScoreResult], out: str | Path | None, explain: bool) -> None:
    """Write results to `out` by extension, or to stdout (CSV; JSON Lines with `explain`)."""
    if write_fast(results, out, explain):
        return
    if out is None:
        if explain:
            _write_jsonl(results, sys.stdout)
        else:
            _write_csv(results, sys.stdout, explain=False)
        sys.stdout.flush()
        return
    kind, gz = detect_format(out)
    with atomic(out) as tmp:
        if kind == "parquet":
            table = _table(results, explain)
            if gz:
                with gzip.open(tmp, "wb") as handle:
                    pq.write_table(table, handle)
            else:
                pq.write_table(table, tmp)
            return
        opener = gzip.open if gz else open
        with opener(tmp, "wt", encoding="utf-8", newline="") as handle:
            if kind == "jsonl":
                _write_jsonl(results, handle)
            else:
                _write_csv(results, handle, explain)


def current_umask() -> int:
    """The process's umask (reading it means setting it; it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic(target: str | Path) -> Iterator[str]:
    """A temporary file beside `target` that replaces it only when the block succeeds, so
    that a failed run leaves no partial file behind. The file gets the permissions a plain
    `open` would give it (0666 less the umask), not mkstemp's private 0600."""
    target = Path(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~current_umask())
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_csv(results: Iterable[ScoreResult], handle: IO[str], explain: bool) -> None:
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(SCORE_NAMES + (("explanation",) if explain else ()))
    for result in results:
        row = [_cell(kind, getattr(result, name)) for name, kind in SCORE_COLUMNS]
        if explain:
            row.append(json.dumps(result.explained()["contributions"]))
        writer.writerow(row)


def _cell(kind: str, value: object) -> object:
    """A CSV cell: numbers with 2 decimals, an absent label empty."""
    if kind == "number":
        return f"{value:.2f}"
    if kind == "label":
        return value or ""
    return value


def _write_jsonl(results: Iterable[ScoreResult], handle: IO[str]) -> None:
    for result in results:
        handle.write(json.dumps(result.explained(), ensure_ascii=False) + "\n")


def _table(results: Iterable[ScoreResult], explain: bool) -> pa.Table:
    rows = list(results)
    columns = {
        column.name: pa.array([getattr(r, column.name) for r in rows], column.type)
        for column in SCORE_ARROW
    }
    if explain:
        columns["explanation"] = pa.array(
            [json.dumps(r.explained()["contributions"]) for r in rows], pa.string()
        )
    return pa.table(columns)


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
        assert out is not None  # standard output is written as CSV (above)
        table = frame.select(SCORE_NAMES).to_arrow().cast(SCORE_ARROW)
        with atomic(out) as tmp:
            if gz:
                with gzip.open(tmp, "wb") as handle:
                    pq.write_table(table, handle)
            else:
                pq.write_table(table, tmp)
        return True
    if not _plain_csv(frame):
        return False
    buffer = io.BytesIO()
    frame.select(SCORE_NAMES).write_csv(buffer, float_precision=2, line_terminator="\n")
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
    with atomic(out) as tmp, gzip.open(tmp, "wb") if gz else open(tmp, "wb") as handle:
        handle.write(data)
    return True


def _plain_csv(frame: pl.DataFrame) -> bool:
    """Text that Python's csv module and Polars write alike (nothing to quote, no empty
    text), and finite numbers."""
    checks = [
        pl.col(name).str.contains(_SPECIAL).any() | (pl.col(name) == "").any() for name in _TEXTS
    ]
    checks += [~pl.col(name).is_finite().all() for name in _NUMBERS]
    flags = frame.select(pl.any_horizontal(checks).alias("x"))["x"]
    return not bool(flags[0])
