"""Reading files into frames: the fast path reads what the row reader reads, and hands every
file it cannot read the same way to the row reader (SPEC §3)."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings

from leadscore.core.evaluate import score_lead
from leadscore.core.loader import load_model_text, validate_model_data
from leadscore.core.timestamps import parse_timestamp
from leadscore.engine.files import score_files
from leadscore.engine.frames import first_rows, read_events_frame, read_inputs, read_leads_frame
from leadscore.engine.readers import read_events, read_leads
from leadscore.engine.results import FrameResults
from leadscore.engine.writers import write_scores
from leadscore.testing.conformance import assert_same_as_reference
from leadscore.testing.strategies import AS_OF, models, scenarios

MODEL = load_model_text(
    "fit: {weight: 0.5, max: 100, rules: [{id: a, when: {field: x, equals: '1'}, points: 50}]}\n"
    "engagement: {weight: 0.5, max: 100, rules: [{id: v, event: seen, points: 10}]}\n"
)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("name", "text", "fast"),
    [
        ("plain.csv", "id,x\nA,1\nB,\n", True),
        ("quoted.csv", 'id,x\nA,"1"\n', False),
        ("crlf.csv", "id,x\r\nA,1\r\n", False),
        ("ragged.csv", "id,x\nA\n", False),
        ("blank-first.csv", "\nid,x\nA,1\n", False),
        ("dup.csv", "id,x\nA,1\nA,2\n", False),
        ("empty-id.csv", "id,x\n,1\n", False),
        ("leads.jsonl", '{"id": "A"}\n', False),
    ],
)
def test_fast_path_or_row_reader(tmp_path: Path, name: str, text: str, fast: bool) -> None:
    path = write(tmp_path / name, text)
    assert (read_leads_frame(path) is not None) is fast


def test_csv_cells_stay_text_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = write(tmp_path / "leads.csv", "\ufeff id , x ,y\nA, 007 ,\n\nB,1e3,z\n")
    frame = read_leads_frame(path)
    assert frame is not None
    assert frame.rows() == [("A", " 007 ", None), ("B", "1e3", "z")]
    assert frame.columns == ["id", "x", "y"]


def test_repeated_event_ids_keep_the_first_row_before_unknown_leads_go(tmp_path: Path) -> None:
    events = write(
        tmp_path / "events.csv",
        "id,lead_id,type,occurred_at\n"
        "e1,ZZ,seen,2026-01-01\n"  # the first e1 belongs to an unknown lead…
        "e1,A,seen,2026-01-02\n"  # …so this repeat is dropped, not counted for A
        ",A,seen,2026-01-03\n,A,seen,2026-01-03\n"  # rows without an id are all distinct
        "e2,A,seen,2026-01-04\n",
    )
    frame = read_events_frame(events, MODEL)
    assert frame is not None
    assert frame["lead_id"].to_list() == ["ZZ", "A", "A", "A"]
    leads = write(tmp_path / "leads.csv", "id,x\nA,1\n")
    (result,) = score_files(MODEL, leads, events, parse_timestamp("2026-02-01"))
    assert result.engagement == 30.0


@pytest.mark.parametrize(
    "ids",
    [
        ["a", "b", "c"],
        ["c", "a", "c", None, None, "", "", "a"],
        [None, None],
        [],
    ],
)
def test_first_rows(ids: list) -> None:
    s = pl.Series(ids, dtype=pl.String)
    keep = first_rows(s)
    seen, want = set(), []
    for value in ids:
        want.append(not value or value not in seen)
        if value:
            seen.add(value)
    assert (keep.to_list() if keep is not None else [True] * len(ids)) == want


def _files(tmp_path: Path, people, by_lead, kind: str) -> tuple[Path, Path]:
    """Leads and events as the row reader and the fast path both read them."""
    names = sorted({k for p in people for k in p.attributes})
    lead_rows = [{"id": p.id, "email": p.email, **{n: p.attributes.get(n) for n in names}}
                 for p in people]  # fmt: skip
    event_rows = [
        {"id": f"e{i % 7}" if i % 3 else None, "lead_id": lead, "type": e.type,
         "occurred_at": e.occurred_at, "source": e.source, "url": e.properties.get("url")}
        for lead, evs in by_lead.items() for i, e in enumerate(evs)
    ]  # fmt: skip
    event_rows.append({"id": None, "lead_id": "nobody", "type": "x", "occurred_at": AS_OF,
                       "source": None, "url": None})  # fmt: skip
    if kind == "parquet":
        leads = pa.Table.from_pylist([{k: _text(v) for k, v in r.items()} for r in lead_rows])
        events = pa.Table.from_pylist(event_rows)
        events = events.set_column(
            3, "occurred_at", events.column(3).cast(pa.timestamp("us", tz="UTC"))
        )
        pq.write_table(leads, tmp_path / "leads.parquet")
        pq.write_table(events, tmp_path / "events.parquet")
        return tmp_path / "leads.parquet", tmp_path / "events.parquet"
    for name, rows in (("leads", lead_rows), ("events", event_rows)):
        with gzip.open(tmp_path / f"{name}.csv.gz", "wt", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            for row in rows:
                if "occurred_at" in row:
                    row = {**row, "occurred_at": _iso(row["occurred_at"])}
                writer.writerow({k: "" if x is None else _text(x) for k, x in row.items()})
    return tmp_path / "leads.csv.gz", tmp_path / "events.csv.gz"


def _text(value):
    return None if value is None else str(value)


def _iso(micros: int) -> str:
    from leadscore.core.timestamps import format_timestamp

    return format_timestamp(micros)


@settings(deadline=None, suppress_health_check=list(HealthCheck), max_examples=40)
@given(scenarios(max_leads=4), models())
def test_files_score_as_the_row_reader_and_the_reference_do(tmp_path_factory, example, raw):
    _, people, by_lead = example
    model = validate_model_data(raw)
    folder = tmp_path_factory.mktemp("files")
    for kind in ("parquet", "csv"):
        leads_path, events_path = _files(folder, people, by_lead, kind)
        frames = read_inputs(model, leads_path, events_path)
        results = FrameResults(*frames, model, AS_OF)
        records = read_leads(leads_path)
        events = read_events(events_path, {p.id for p in records})
        for person, row in zip(records, results.frame.iter_rows(named=True), strict=True):
            reference = score_lead(model, person, events.get(person.id, ()), AS_OF)
            assert_same_as_reference(model, reference, row)


def test_frame_results_act_as_a_list_and_write_like_the_reference(tmp_path: Path) -> None:
    leads = write(tmp_path / "leads.csv", "id,x\nB,1\nA,\n")
    events = write(tmp_path / "events.csv", "lead_id,type,occurred_at\nA,seen,2025-12-01\n")
    results = score_files(MODEL, leads, events, AS_OF)
    assert len(results) == 2 and [r.lead_id for r in results] == ["B", "A"]
    assert results[1].contributions[0].id == "v"
    reference = [score_lead(MODEL, lead, (), AS_OF) for lead in read_leads(leads)]
    for suffix in (".csv", ".csv.gz", ".parquet", ".jsonl"):
        write_scores(results, tmp_path / f"fast{suffix}", explain=False)
        write_scores(list(results), tmp_path / f"slow{suffix}", explain=False)
        fast, slow = (tmp_path / f"{k}{suffix}" for k in ("fast", "slow"))
        if suffix == ".parquet":
            assert pq.read_table(fast).equals(pq.read_table(slow))
        else:
            assert fast.read_bytes() == slow.read_bytes() or suffix == ".csv.gz"
    assert reference[0].score == results[0].score


def test_csv_that_python_would_quote_is_written_by_python(tmp_path: Path, capsys) -> None:
    leads = write(tmp_path / "leads.jsonl", '{"id": "a,b"}\n{"id": "q\\"x"}\n')
    results = score_files(MODEL, leads, None, AS_OF)
    write_scores(results, None, explain=False)
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert [r[0] for r in rows[1:]] == ["a,b", 'q"x']
