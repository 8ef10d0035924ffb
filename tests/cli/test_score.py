"""The offline command line of SPEC §3 (cli/score.py), run in this process: exit codes,
stdout and stderr as a user sees them (tests/cli/test_console_script.py runs the real one)."""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from leadscore.cli import app

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "b2b-saas.yaml"

MODEL = """
name: t
fit:
  weight: 0.5
  max: 50
  rules:
    - {id: sw, when: {field: industry, equals: software}, points: 25}
    - {id: big, when: {field: employees, gte: 500}, points: 25}
engagement:
  weight: 0.5
  max: 100
  rules:
    - {id: pricing, event: page_viewed, where: {field: url, contains: /pricing}, points: 30}
    - {id: open, event: email_opened, points: 10, half_life: 10d}
grades: {A: 75, B: 50, C: 0}
tiers: {hot: 70, warm: 40, cold: 0}
stages:
  - {name: sql, min_score: 70}
  - {name: lead}
"""
LEADS = "id,email,industry,employees\nL2,b@x.io,retail,\nL1,a@x.io,Software,1000\nL3,,software,10\n"
EVENTS = (
    "id,lead_id,type,occurred_at,url\n"
    "e1,L1,page_viewed,2026-01-09T00:00:00Z,/pricing\n"
    "e1,L1,page_viewed,2026-01-09T00:00:00Z,/pricing\n"
    ",L1,email_opened,2025-12-31,\n"
    ",L1,email_opened,2025-12-31,\n"
    "e9,L404,page_viewed,2026-01-01,/pricing\n"
    "e2,L3,page_viewed,2026-01-11T00:00:00Z,/pricing\n"
)
EXPECTED = [
    ["lead_id", "score", "fit", "engagement", "grade", "tier", "stage"],
    ["L2", "0.00", "0.00", "0.00", "C", "cold", "lead"],
    ["L1", "75.00", "100.00", "50.00", "A", "hot", "sql"],
    ["L3", "40.00", "50.00", "30.00", "B", "warm", "lead"],
]
AS_OF = "2026-01-10T00:00:00"


@dataclass
class Done:
    """What a run left: the exit code and the two streams, named as subprocess names them."""

    returncode: int
    stdout: str
    stderr: str


def leadscore(*args: str | Path, cwd: Path | None = None) -> Done:
    """`leadscore ARGS` in this process; an exception that is not an exit fails the test."""
    with contextlib.chdir(cwd or Path.cwd()):
        result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    return Done(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "model.yaml").write_text(MODEL)
    (tmp_path / "leads.csv").write_text(LEADS)
    (tmp_path / "events.csv").write_text(EVENTS)
    return tmp_path


def score_args(folder: Path, *extra: str, leads="leads.csv", events="events.csv"):
    return (
        "score", "--model", folder / "model.yaml", "--leads", folder / leads,
        "--events", folder / events, "--as-of", AS_OF, *extra,
    )  # fmt: skip


def test_score_csv_to_stdout_in_leads_order(files: Path) -> None:
    done = leadscore(*score_args(files))
    assert done.returncode == 0, done.stderr
    # L1: fit 50/50 → 100; engagement: pricing once (repeated id e1 kept once) 30 + two opens
    # 10 days old (empty ids are distinct) 2 × 5 = 40 → 40; L3's pricing view is after as_of.
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows[:2] == EXPECTED[:2]
    assert rows[2][:4] == ["L1", "70.00", "100.00", "40.00"]
    assert rows[3][:4] == ["L3", "25.00", "50.00", "0.00"]


def test_every_format_gives_the_same_scores(files: Path) -> None:
    leads = list(csv.DictReader(io.StringIO(LEADS)))
    events = list(csv.DictReader(io.StringIO(EVENTS)))

    def clean(row):
        return {k: v for k, v in row.items() if v != ""}

    with open(files / "leads.jsonl", "w") as handle:
        for row in leads:
            handle.write(json.dumps(clean(row)) + "\n")
    with gzip.open(files / "events.jsonl.gz", "wt") as handle:
        for row in events:
            row = clean(row)
            url = row.pop("url", None)
            handle.write(json.dumps({**row, "properties": {"url": url} if url else {}}) + "\n")
    nulls = [{k: (v if v != "" else None) for k, v in row.items()} for row in leads]
    pq.write_table(pa.Table.from_pylist(nulls), files / "leads.parquet")
    table = pa.Table.from_pylist(events)
    ts = pa.array([r["occurred_at"] for r in events]).cast(pa.string())
    table = table.set_column(3, "occurred_at", ts)
    pq.write_table(table, files / "events.parquet")
    reference = leadscore(*score_args(files)).stdout
    for leads_file, events_file in [
        ("leads.jsonl", "events.jsonl.gz"),
        ("leads.parquet", "events.parquet"),
        ("leads.csv", "events.parquet"),
    ]:
        done = leadscore(*score_args(files, leads=leads_file, events=events_file))
        assert done.returncode == 0, done.stderr
        assert done.stdout == reference, (leads_file, events_file)


def test_event_times_as_crms_send_them_score_as_the_api_reads_them(files: Path) -> None:
    """`+0000`, `.000+0000`, 9 fraction digits and lowercase t/z in an events file: the same
    instants as the canonical file, on the vectorised path (CSV) and the row reader (JSONL,
    whose `properties` objects it reads), as the API's `occurred_at` accepts them."""
    crm = (
        EVENTS.replace("2026-01-09T00:00:00Z", "2026-01-09T01:00:00.000000000+0100")
        .replace(",2025-12-31,", ",2025-12-31t00:00:00.000z,")
        .replace("2026-01-11T00:00:00Z", "2026-01-11T00:00:00+0000")
    )
    (files / "crm.csv").write_text(crm)
    with open(files / "crm.jsonl", "w") as handle:
        for row in csv.DictReader(io.StringIO(crm)):
            url = row.pop("url")
            row = {k: v for k, v in row.items() if v != ""}
            handle.write(json.dumps({**row, "properties": {"url": url} if url else {}}) + "\n")
    reference = leadscore(*score_args(files))
    assert reference.returncode == 0, reference.stderr
    for name in ("crm.csv", "crm.jsonl"):
        done = leadscore(*score_args(files, events=name))
        assert done.returncode == 0, done.stderr
        assert done.stdout == reference.stdout, name


def test_parquet_timestamps_are_read_as_instants(files: Path) -> None:
    from datetime import UTC, datetime

    table = pa.table(
        {
            "lead_id": ["L1", "L1"],
            "type": ["page_viewed", "email_opened"],
            "occurred_at": pa.array(
                [datetime(2026, 1, 9, tzinfo=UTC), datetime(2025, 12, 31, tzinfo=UTC)],
                pa.timestamp("ns", tz="UTC"),
            ),
            "url": ["/pricing", None],
        }
    )
    pq.write_table(table, files / "events.parquet")
    done = leadscore(*score_args(files, events="events.parquet"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[2].startswith("L1,67.50,100.00,35.00")


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".jsonl", ".parquet"])
def test_out_file_by_extension(files: Path, suffix: str) -> None:
    out = files / f"scores{suffix}"
    done = leadscore(*score_args(files, "--out", str(out)))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    if suffix == ".parquet":
        rows = pq.read_table(out).to_pylist()
        assert [r["lead_id"] for r in rows] == ["L2", "L1", "L3"]
        assert rows[1]["score"] == 70.0 and rows[1]["stage"] == "sql"
    elif suffix == ".jsonl":
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert rows[1]["score"] == 70.0 and rows[1]["contributions"]
    else:
        text = (
            gzip.decompress(out.read_bytes()).decode()
            if suffix.endswith(".gz")
            else out.read_text()
        )
        assert text.splitlines()[2].startswith("L1,70.00")


def test_explain_prints_json_lines_whose_contributions_add_up(files: Path) -> None:
    done = leadscore(*score_args(files, "--explain"))
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["lead_id"] for r in rows] == ["L2", "L1", "L3"]
    l1 = rows[1]
    by_id = {c["id"]: c for c in l1["contributions"]}
    assert by_id["pricing"]["occurrences"] == 1 and by_id["open"]["occurrences"] == 2
    assert by_id["open"]["raw"] == 10.0
    assert abs(sum(c["score"] for c in l1["contributions"]) - l1["score"]) < 0.01


def test_as_of_without_zone_is_utc_and_with_offset_is_converted(files: Path) -> None:
    plain = leadscore(*score_args(files)).stdout
    zoned = leadscore(
        "score", "--model", files / "model.yaml", "--leads", files / "leads.csv",
        "--events", files / "events.csv", "--as-of", "2026-01-10T01:00:00+01:00",
    ).stdout  # fmt: skip
    assert zoned == plain
    default = leadscore("score", "--model", files / "model.yaml", "--leads", files / "leads.csv")
    assert default.returncode == 0 and default.stdout.count("\n") == 4


def test_validate(files: Path) -> None:
    done = leadscore("validate", files / "model.yaml")
    assert (done.returncode, done.stdout.strip()) == (0, "ok")
    assert leadscore("validate", EXAMPLE).stdout.strip() == "ok"


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            ("half_life: 10d", "half_life: 10 days"),
            "engagement.rules[1].half_life: '10 days' is not a duration",
        ),
        (("weight: 0.5\n  max: 100", "weight: 0.6\n  max: 100"), "must be 1"),
        (("equals: software", "equal: software"), "fit.rules[0].when.equal: unknown operator"),
        (("contains: /pricing", "matches: '[/pricing'"), "engagement.rules[0].where.matches:"),
        (
            ("points: 25}\n    - {id: big", "pts: 25}\n    - {id: big"),
            "fit.rules[0].points: required",
        ),
    ],
)
def test_invalid_models_exit_2_naming_the_key(files: Path, edit, expected: str) -> None:
    bad = MODEL.replace(*edit)
    assert bad != MODEL
    (files / "bad.yaml").write_text(bad)
    done = leadscore("validate", files / "bad.yaml")
    assert done.returncode == 2
    assert expected in done.stderr and "bad.yaml" in done.stderr
    scored = leadscore("score", "--model", files / "bad.yaml", "--leads", files / "leads.csv")
    assert scored.returncode == 2 and expected in scored.stderr and scored.stdout == ""


@pytest.mark.parametrize(
    ("leads", "events", "expected"),
    [
        (
            LEADS.replace("id,email", "key,email"),
            EVENTS,
            "leads.csv: line 1: missing required column 'id'",
        ),
        (LEADS + "L1,dup@x.io,x,1\n", EVENTS, "leads.csv: line 5: lead id 'L1' repeats line 3"),
        (
            LEADS,
            EVENTS.replace("2025-12-31,\n,L1", "31/12/2025,\n,L1"),
            "events.csv: line 4: occurred_at '31/12/2025' is not an ISO 8601",
        ),
        (
            LEADS,
            EVENTS + "e7,L1,,2026-01-01,\n",
            "events.csv: line 8: type must be a non-empty text",
        ),
        (
            LEADS,
            EVENTS + "e7,L1,x,2026-01-01\n",
            "events.csv: line 8: 4 cells where the header has 5",
        ),
        (
            LEADS,
            EVENTS.replace("lead_id,", "lead,"),
            "events.csv: line 1: missing required column 'lead_id'",
        ),
        (LEADS + ",c@x.io,x,1\n", EVENTS, "leads.csv: line 5: id is empty"),
    ],
)
def test_bad_input_exits_2_naming_file_and_line_without_partial_output(
    files: Path, leads: str, events: str, expected: str
) -> None:
    (files / "leads.csv").write_text(leads)
    (files / "events.csv").write_text(events)
    out = files / "out.csv"
    done = leadscore(*score_args(files, "--out", str(out)))
    assert done.returncode == 2
    assert expected in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()
    assert [p.name for p in files.iterdir() if p.name.startswith(".out")] == []


def test_skip_invalid_skips_and_reports_each_bad_row(files: Path) -> None:
    (files / "events.csv").write_text(EVENTS + "e7,L1,page_viewed,yesterday,/pricing\n")
    (files / "leads.csv").write_text(LEADS + "L1,dup@x.io,x,1\n")
    done = leadscore(*score_args(files, "--skip-invalid"))
    assert done.returncode == 0, done.stderr
    assert "events.csv: line 8" in done.stderr and "leads.csv: line 5" in done.stderr
    assert "2 invalid row(s) skipped" in done.stderr
    assert done.stdout.splitlines()[2].startswith("L1,70.00")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--leads", "missing.csv"), "missing.csv: no such file"),
        (("--leads", "leads.txt"), "unknown file type"),
        (("--leads", "leads.csv", "--as-of", "tomorrow"), "--as-of"),
        (("--leads", "leads.csv", "--out", "x.xlsx"), "--out"),
    ],
)
def test_bad_arguments_exit_2(files: Path, args, expected: str) -> None:
    (files / "leads.txt").write_text(LEADS)
    done = leadscore("score", "--model", "model.yaml", *args, cwd=files)
    assert done.returncode == 2
    assert expected in done.stderr


def test_unreadable_parquet_and_bad_jsonl(files: Path) -> None:
    (files / "leads.parquet").write_text("not parquet")
    done = leadscore("score", "--model", "model.yaml", "--leads", "leads.parquet", cwd=files)
    assert done.returncode == 2 and "leads.parquet: not a readable Parquet file" in done.stderr
    (files / "leads.jsonl").write_text('{"id": "a"}\n\n[1, 2]\n')
    done = leadscore("score", "--model", "model.yaml", "--leads", "leads.jsonl", cwd=files)
    assert (
        done.returncode == 2
        and "leads.jsonl: line 3: each line must be a JSON object" in done.stderr
    )


def test_parquet_rows_are_named(files: Path) -> None:
    pq.write_table(pa.Table.from_pylist([{"id": "a"}, {"id": None}]), files / "leads.parquet")
    done = leadscore("score", "--model", "model.yaml", "--leads", "leads.parquet", cwd=files)
    assert done.returncode == 2 and "leads.parquet: row 2: id is empty" in done.stderr


def test_schema_prints_json_schema() -> None:
    done = leadscore("schema")
    assert done.returncode == 0
    assert json.loads(done.stdout)["title"] == "Model"


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_output_files_get_the_users_umask(files: Path, umask: int) -> None:
    """Scores and suggested models are written through a private temporary file; the result
    has the permissions any other tool would give it (issue 10: it was always 0600)."""
    previous = os.umask(umask)
    try:
        for name in ("scores.csv", "scores.parquet", "scores.jsonl"):
            done = leadscore(*score_args(files, "--out", files / name))
            assert done.returncode == 0, done.stderr
            assert stat.S_IMODE((files / name).stat().st_mode) == 0o666 & ~umask, name
    finally:
        os.umask(previous)
