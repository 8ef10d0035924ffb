"""The installed `leadscore` console script, end to end in a real process: the one CLI test
that pays for starting an interpreter (the others run the app in this process)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.cli.test_score import leadscore

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "b2b-saas.yaml"
LEADS = "id,email,industry,employees,country\nL1,a@x.io,software,1000,US\nL2,,retail,5,FR\n"


def run(*command: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, cwd=cwd, timeout=120
    )


@pytest.mark.slow
def test_console_script_scores_and_exits_2_on_a_user_error(tmp_path: Path) -> None:
    script = shutil.which("leadscore", path=Path(sys.executable).parent) or shutil.which(
        "leadscore"
    )
    assert script, "no `leadscore` console script: install the package (make venv)"
    (tmp_path / "leads.csv").write_text(LEADS)

    done = run(script, "validate", EXAMPLE, cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, "ok\n", "")

    args = ("score", "--model", EXAMPLE, "--leads", "leads.csv", "--as-of", "2026-01-01")
    done = run(script, *args, cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "lead_id,score,fit,engagement,grade,tier,stage"
    assert [line.split(",")[0] for line in lines[1:]] == ["L1", "L2"]
    assert done.stdout == leadscore(*args, cwd=tmp_path).stdout  # in process: the same

    # `python -m leadscore.cli` (what bench/batch.py runs) reports a user error the same way.
    done = run(
        sys.executable, "-m", "leadscore.cli", *args[:3], "--leads", "none.csv", cwd=tmp_path
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: none.csv: no such file"), done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path) -> None:
    """`leadscore score … --explain | head -1` prints its line and no error (issue 10)."""
    script = shutil.which("leadscore", path=Path(sys.executable).parent)
    assert script
    rows = "".join(f"L{i},,software,{i}\n" for i in range(20_000))
    (tmp_path / "leads.csv").write_text("id,email,industry,employees\n" + rows)
    command = f"'{script}' score --model '{EXAMPLE}' --leads leads.csv --as-of 2026-01-01 --explain"
    done = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {command} | head -1"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.stdout.startswith('{"lead_id": "L0"') and done.stdout.count("\n") == 1
    assert done.stderr == ""  # before: "error: None: Broken pipe" and exit 2
    assert done.returncode in (0, 141)  # 141: ended by SIGPIPE, as `yes | head -1` is
