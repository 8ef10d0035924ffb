"""Reading training and scoring tables (CSV, JSON Lines, Parquet, optionally gzipped).

CSV cells are read as text and typed later by `features`, so the same column is understood
the same way whatever format it arrives in; the delimiter is detected from the header line.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import polars as pl

from leadscore.ml.errors import MLInputError

FORMATS = (".csv", ".tsv", ".txt", ".jsonl", ".ndjson", ".json", ".parquet")
DELIMITERS = (",", ";", "\t", "|")


def table_format(path: Path) -> str:
    """The format named by the extension, ignoring a trailing `.gz`."""
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    for ext in FORMATS:
        if name.endswith(ext):
            return {".tsv": "csv", ".txt": "csv", ".ndjson": "jsonl", ".json": "jsonl"}.get(
                ext, ext[1:]
            )
    raise MLInputError(
        f"{path}: unknown file type (expected .csv, .jsonl or .parquet, optionally .gz)"
    )


def _raw_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise MLInputError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise MLInputError(f"{path}: is a folder, not a file") from None
    except OSError as exc:
        raise MLInputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if path.name.lower().endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise MLInputError(f"{path}: not a valid gzip file ({exc})") from None
    return data


def detect_delimiter(header: str) -> str:
    """The candidate delimiter that occurs most often outside quotes in the header line."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _read_csv(path: Path, data: bytes) -> pl.DataFrame:
    text_head = data[:65536].decode("utf-8", errors="replace").lstrip("\ufeff")
    header = text_head.splitlines()[0] if text_head.strip() else ""
    if not header.strip():
        raise MLInputError(f"{path}: no header line")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return pl.read_csv(
            io.BytesIO(data),
            separator=detect_delimiter(header),
            quote_char='"',
            infer_schema=False,
            encoding="utf8-lossy",
            truncate_ragged_lines=False,
        )
    except (pl.exceptions.PolarsError, ValueError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MLInputError(f"{path}: not a readable CSV file ({first})") from None


def read_table(path: str | Path) -> pl.DataFrame:
    """Read a table by extension; every failure is an `MLInputError` naming the file."""
    path = Path(path)
    fmt = table_format(path)
    data = _raw_bytes(path)
    if not data.strip():
        raise MLInputError(f"{path}: file is empty")
    try:
        if fmt == "csv":
            frame = _read_csv(path, data)
        elif fmt == "jsonl":
            frame = pl.read_ndjson(io.BytesIO(data), infer_schema_length=None)
        else:
            frame = pl.read_parquet(io.BytesIO(data))
    except MLInputError:
        raise
    except (pl.exceptions.PolarsError, ValueError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MLInputError(f"{path}: not a readable {fmt} file ({first})") from None
    if frame.height == 0:
        raise MLInputError(f"{path}: no data rows")
    dupes = {c for c in frame.columns if frame.columns.count(c) > 1}
    if dupes:
        raise MLInputError(f"{path}: repeated column names: {', '.join(sorted(dupes))}")
    return frame
