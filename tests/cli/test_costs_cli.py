"""`leadscore costs import` and `costs list` on SQLite and PostgreSQL: a file loads with a Rich
summary and replaces rows by key on a re-import; a bad file names its file, row, field and
reason, exits 2 and writes nothing, not even its good rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.api.conftest import database_url, postgres_url, sqlite_url
from typer.testing import CliRunner

from leadscore.cli import app
from leadscore.service import costs
from leadscore.service.context import Context
from leadscore.settings import Settings
from leadscore.testing import scratch

__all__ = ["database_url", "postgres_url", "sqlite_url"]

GOOD = """source,campaign,month,amount,currency
ads,spring,2026-01,1200.50,EUR
ads,,2026-01,300,EUR
seo,,2026-02, 99.90 ,PLN
"""


@pytest.fixture
def run(database_url: str):
    ctx = Context.open(Settings(database_url=database_url))
    scratch.empty(ctx.db)
    ctx.close()
    runner = CliRunner()

    def invoke(*args: str):
        env = {"LEADSCORE_DATABASE_URL": database_url, "COLUMNS": "200"}
        return runner.invoke(app, list(args), env=env)

    return invoke


def stored(url: str) -> list[dict]:
    ctx = Context.open(Settings(database_url=url))
    try:
        return costs.list_costs(ctx)
    finally:
        ctx.close()


def test_import_list_and_reimport(run, database_url: str, tmp_path: Path) -> None:
    file = tmp_path / "costs.csv"
    file.write_text(GOOD)
    done = run("costs", "import", str(file))
    assert done.exit_code == 0, done.output
    assert "3 rows" in done.stdout and "1500.50" in done.stdout and "99.90" in done.stdout
    assert "3 added, 0 replaced" in done.stdout
    rows = stored(database_url)
    assert [(r["source"], r["campaign"], r["amount"], r["currency"]) for r in rows] == [
        ("ads", None, "300.00", "EUR"),
        ("ads", "spring", "1200.50", "EUR"),
        ("seo", None, "99.90", "PLN"),
    ]
    file.write_text("source,campaign,month,amount,currency\nads,spring,2026-01,1000,EUR\n")
    again = run("costs", "import", str(file))
    assert "0 added, 1 replaced" in again.stdout, again.output
    listed = run("costs", "list", "--source", "ads", "--currency", "EUR").stdout
    assert "1000.00" in listed and "1200.50" not in listed and "(whole source)" in listed
    assert "seo" not in listed


def test_a_bad_file_names_file_row_field_and_reason(run, database_url: str, tmp_path: Path) -> None:
    file = tmp_path / "bad.csv"
    file.write_text(
        "source,campaign,month,amount,currency\n"
        "ads,spring,2026-01,1200.50,EUR\n"  # good, yet not written
        "ads,,2026-1,300,EUR\n"
        ",x,2026-01,1,EUR\n"
        "seo,,2026-02,-4,PLN\n"
        "seo,,2026-02,5,GBP\n"
        "ads,spring,2026-01,7,EUR\n"
    )
    bad = run("costs", "import", str(file))
    assert bad.exit_code == 2
    lines = bad.stderr.splitlines()
    assert lines[0].startswith("error: ")
    text = "\n".join(lines)
    assert f"{file}: row 2: month: '2026-1' is not a month written YYYY-MM" in text
    assert f"{file}: row 3: source: " in text
    assert f"{file}: row 4: amount: '-4' is not an amount" in text
    assert f"{file}: row 5: currency: 'GBP' is not one of EUR, PLN, RON, RSD, USD" in text
    assert f"{file}: row 6: repeats the source, campaign, month and currency of row 1" in text
    assert stored(database_url) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("source,month,amount,currency\nads,2026-01,1,EUR\n", "missing column(s) campaign"),
        ("source,campaign,month,amount,currency,note\n", "unknown column(s) 'note'"),
        ("source,campaign,month,amount,currency\nads,,2026-01,1,EUR,extra\n", "row 1: more values"),
    ],
)
def test_a_bad_header_or_row_shape(run, tmp_path: Path, content: str, message: str) -> None:
    file = tmp_path / "costs.csv"
    file.write_text(content)
    bad = run("costs", "import", str(file))
    assert bad.exit_code == 2 and message in bad.stderr, bad.output


def test_a_missing_file(run, tmp_path: Path) -> None:
    bad = run("costs", "import", str(tmp_path / "nope.csv"))
    assert bad.exit_code == 2 and "nope.csv: No such file" in bad.stderr
