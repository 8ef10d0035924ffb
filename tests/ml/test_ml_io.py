"""Reading tables: formats, delimiters, compression, and clean errors for bad files."""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl
import pytest

from leadscore.ml.errors import MLInputError
from leadscore.ml.io import detect_delimiter, read_table


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('"age";"job";"y"', ";"),
        ("a,b,c", ","),
        ("a\tb\tc", "\t"),
        ('"a;b",c,d', ","),
        ("single", ","),
    ],
)
def test_delimiter_is_detected_outside_quotes(header: str, expected: str) -> None:
    assert detect_delimiter(header) == expected


def test_semicolon_quoted_crlf_csv_like_the_bank_file(tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    path.write_bytes(b'"age";"job";"y"\r\n56;"house;maid";"no"\r\n57;"services";"yes"\r\n')
    frame = read_table(path)
    assert frame.columns == ["age", "job", "y"]
    assert frame["job"].to_list() == ["house;maid", "services"]


def test_gzip_jsonl_and_parquet(tmp_path: Path) -> None:
    frame = pl.DataFrame({"a": [1, 2], "b": ["x", None]})
    frame.write_ndjson(tmp_path / "t.jsonl")
    (tmp_path / "t.jsonl.gz").write_bytes(gzip.compress((tmp_path / "t.jsonl").read_bytes()))
    frame.write_parquet(tmp_path / "t.parquet")
    (tmp_path / "t.csv.gz").write_bytes(gzip.compress(b"a,b\n1,x\n2,\n"))
    for name in ("t.jsonl.gz", "t.parquet", "t.csv.gz"):
        got = read_table(tmp_path / name)
        assert got.height == 2 and got.columns == ["a", "b"], name


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "file is empty"),
        ("header.csv", b"a,b\n", "no data rows"),
        ("bad.parquet", b"not parquet at all", "not a readable parquet file"),
        ("bad.csv.gz", b"not gzip", "not a valid gzip file"),
        ("x.xlsx", b"PK", "unknown file type"),
    ],
)
def test_bad_files_raise_one_clear_error(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(MLInputError, match=message) as err:
        read_table(path)
    assert name in str(err.value)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(MLInputError, match="nope.csv: file not found"):
        read_table(tmp_path / "nope.csv")
