"""`leadscore batch --engine polars` (SPEC §5), in this process."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from leadscore import demo
from leadscore.cli import app
from leadscore.core.timestamps import parse_timestamp
from leadscore.engine.frames import read_inputs
from leadscore.engine.kernel import score_frame
from leadscore.engine.model_file import load_model_file

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "b2b-saas.yaml"
AS_OF = "2026-01-01"


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    demo.write(demo.generate(300, seed=5, end=AS_OF), folder)
    return folder


def test_batch_with_the_polars_engine_writes_the_kernels_scores(data: Path) -> None:
    out = data / "scores.parquet"
    args = ["batch", "--leads", data / "leads.parquet", "--events", data / "events.parquet",
            "--model", EXAMPLE, "--out", out, "--as-of", AS_OF]  # fmt: skip
    done = CliRunner().invoke(app, [str(a) for a in args])
    assert done.exit_code == 0, done.output
    assert "scored 300 leads with polars" in done.output
    model = load_model_file(EXAMPLE)
    leads, events = read_inputs(model, data / "leads.parquet", data / "events.parquet")
    expected = score_frame(leads, events, model, parse_timestamp(AS_OF))
    assert pl.read_parquet(out).equals(expected)
    assert expected["stage"].n_unique() > 1 and expected["score"].max() > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "soon"], "--as-of"),
        (["--leads", "missing.parquet"], "missing.parquet: no such file"),
        (["--model", "nope.yaml"], "cannot read the model"),
    ],
)
def test_bad_arguments_exit_2(data: Path, args: list[str], message: str) -> None:
    base = {"--leads": str(data / "leads.parquet"), "--model": str(EXAMPLE),
            "--out": str(data / "x.parquet")}  # fmt: skip
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    done = CliRunner().invoke(app, ["batch", *[x for kv in base.items() for x in kv]])
    assert done.exit_code == 2
    assert message in done.output
