"""Every shell and Python example of the README and docs/ runs, as written (issue 9).

Each document's examples run in order in one working folder that holds what a reader of the
docs has at hand: `examples/`, the demo files `make demo` writes (`demo/`), `my-model.yaml`,
`model.yaml`, `leads.parquet` and `events.parquet`, and a demo database behind a live server
(`$KEY` is its admin key). A `console` block is a sequence of `$ command` lines (a trailing
`\\` continues one); lines after a command that do not start with `$` are its expected output.
A block the tests cannot run says why in an HTML comment right above it
(`<!-- not run: reason -->`); a block that fails, or a command whose output differs, fails
the test with the document, the line and what it printed.

What the harness rewrites, and only this: the server address `127.0.0.1:8000` becomes the
test server's; the key `leadscore init-demo` prints becomes `$KEY`, as a reader would
copy it; `curl` fails on an HTTP error (`--fail-with-body`); `leadscore serve` runs in the background on a free port until the block ends;
the placeholder PostgreSQL URL of docs/deploying-postgres.md becomes a scratch database;
`make demo` does not reinstall the virtual environment (`-o .venv/.installed`) and runs from
the repository, like every `make` and `.venv/bin/` command. docs/cli.md is generated from the
app and checked by tests/cli/test_reference.py.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.conftest import skip_or_fail

REPO = Path(__file__).resolve().parents[1]
DOCUMENTS = [REPO / "README.md", *sorted(p for p in (REPO / "docs").glob("*.md"))]
SKIPPED_DOCUMENTS = {"cli.md"}
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)
NOT_RUN = re.compile(r"<!-- not run: (.+?) -->\s*\Z", re.S)
PLACEHOLDER_POSTGRES = "postgresql://leadscore:…@db.internal:5432/leadscore"
POSTGRES_URL = os.environ.get(
    "LEADSCORE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Block:
    document: Path
    line: int
    language: str
    text: str
    not_run: str | None

    def __str__(self) -> str:
        return f"{self.document.relative_to(REPO)}:{self.line}"


def blocks(document: Path) -> list[Block]:
    text = document.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()]
        reason = NOT_RUN.search(before)
        found.append(
            Block(
                document,
                before.count("\n") + 1,
                match.group(1),
                match.group(2),
                reason.group(1) if reason else None,
            )
        )
    return found


def runnable(document: Path) -> list[Block]:
    return [b for b in blocks(document) if b.language in ("console", "python") and not b.not_run]


@dataclass(frozen=True)
class Command:
    text: str
    expected: tuple[str, ...]


def commands(block: Block) -> list[Command]:
    """The `$ …` commands of a console block, each with the output lines written under it."""
    found: list[Command] = []
    lines = block.text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        assert line.startswith("$ "), f"{block}: a console block starts with `$ `: {line!r}"
        command = line[2:]
        while command.endswith("\\"):
            i += 1
            command = command[:-1] + lines[i].strip()
        i += 1
        expected = []
        while i < len(lines) and not lines[i].startswith("$ "):
            expected.append(lines[i])
            i += 1
        found.append(Command(command, tuple(expected)))
    return found


# --- the reader's desk ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the server exited with {process.returncode}"
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"no answer from {url} in {seconds} s")


@dataclass
class Desk:
    folder: Path
    env: dict[str, str]
    port: int


@pytest.fixture(scope="module")
def desk(tmp_path_factory) -> Desk:
    folder = tmp_path_factory.mktemp("desk")
    shutil.copytree(REPO / "examples", folder / "examples")
    shutil.copy(REPO / "examples" / "b2b-saas.yaml", folder / "my-model.yaml")
    shutil.copy(REPO / "examples" / "b2b-saas.yaml", folder / "model.yaml")
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "LEADSCORE_DATABASE_URL": f"sqlite:///{folder / 'leadscore.db'}",
        "LEADSCORE_SCHEDULER_ENABLED": "false",
    }
    env.pop("KEY", None)

    def leadscore(*args: str) -> str:
        done = subprocess.run(
            [str(BIN / "leadscore"), *args],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    leadscore("demo-data", "--leads", "600", "--seed", "7", "--end", "2026-11-01", "--out", "demo")
    for name in ("leads", "events"):
        (folder / f"{name}.parquet").symlink_to(folder / "demo" / f"{name}.parquet")
    env["KEY"] = leadscore("init-demo", "--leads", "300").strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "leadscore"), "serve", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/health", server)
        yield Desk(folder, env, port)
    finally:
        server.terminate()
        server.wait(timeout=30)


# --- running a block ------------------------------------------------------------------------


def shell_script(block: Block, desk: Desk, env: dict[str, str]) -> list[tuple[str, Command]]:
    """Each command of the block as the bash line to run."""
    script = []
    for command in commands(block):
        line = command.text.replace("127.0.0.1:8000", f"127.0.0.1:{desk.port}")
        line = line.replace(PLACEHOLDER_POSTGRES, env.get("DOCS_POSTGRES_URL", ""))
        if line.startswith("curl "):
            line = "curl --fail-with-body --silent --show-error " + line[len("curl ") :]
        if line.startswith("make demo"):
            line = "make -o .venv/.installed demo"
        if line.startswith("leadscore serve"):
            port = free_port()
            words = re.sub(r"\s+#.*$", "", line)
            words = re.sub(r"--(host|port) \S+", "", words)
            line = (
                f"{words} --host 127.0.0.1 --port {port} > serve.log 2>&1 & "
                f"for i in $(seq 600); do curl -sf http://127.0.0.1:{port}/health >/dev/null "
                f"&& break; sleep 0.1; done; curl -sf http://127.0.0.1:{port}/health >/dev/null"
            )
        script.append((line, command))
    return script


def run_console(block: Block, desk: Desk) -> None:
    env = dict(desk.env)
    if PLACEHOLDER_POSTGRES in block.text:
        env["DOCS_POSTGRES_URL"] = scratch_postgres()
    in_repo = "make " in block.text or ".venv/bin/" in block.text
    cwd = REPO if in_repo else desk.folder
    background: list[str] = []
    try:
        for line, command in shell_script(block, desk, env):
            done = subprocess.run(
                ["bash", "-c", f'set -e\n{line}\necho "$!" > .docs-last-job'],
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            if "&" in line and "leadscore serve" in line:
                background.append((cwd / ".docs-last-job").read_text().strip())
            assert done.returncode == 0, (
                f"{block}: `{command.text}` failed with exit code {done.returncode}\n"
                f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
            )
            if command.expected:
                assert done.stdout.splitlines() == list(command.expected), (
                    f"{block}: `{command.text}` printed\n{done.stdout}\n"
                    f"where the docs show\n" + "\n".join(command.expected)
                )
            if command.text.startswith("leadscore init-demo"):  # the reader copies its key
                env["KEY"] = desk.env["KEY"] = done.stdout.strip().splitlines()[-1]
            if "DOCS_POSTGRES_URL" in env and command.text.startswith("export "):
                env["LEADSCORE_DATABASE_URL"] = env["DOCS_POSTGRES_URL"]
    finally:
        for pid in background:
            subprocess.run(["pkill", "-TERM", "-P", pid], check=False)
            subprocess.run(["kill", "-TERM", pid], check=False)
        (cwd / ".docs-last-job").unlink(missing_ok=True)


def run_python(block: Block, desk: Desk) -> None:
    if "pyspark" in block.text or "engine.spark" in block.text:
        pytest.importorskip("pyspark")
        if shutil.which("java") is None:
            skip_or_fail("no Java for the Spark example")
    done = subprocess.run(
        [sys.executable, "-c", block.text],
        cwd=desk.folder,
        env=desk.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"{block} failed:\n{done.stderr[-4000:]}"


_SCRATCH: list[object] = []


def scratch_postgres() -> str:
    """A scratch PostgreSQL database for the session (dropped at exit)."""
    from leadscore.testing import scratch

    context = scratch.scratch_postgres(POSTGRES_URL)
    try:
        url = context.__enter__()
    except scratch.Unavailable as exc:
        skip_or_fail(f"{exc} (set LEADSCORE_TEST_POSTGRES_URL)")
    _SCRATCH.append(context)
    return url


@pytest.fixture(scope="module", autouse=True)
def _drop_scratch_databases():
    yield
    while _SCRATCH:
        _SCRATCH.pop().__exit__(None, None, None)


# --- the tests ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "document",
    [d for d in DOCUMENTS if d.name not in SKIPPED_DOCUMENTS and runnable(d)],
    ids=lambda d: d.name,
)
def test_the_examples_of_a_document_run(document: Path, desk: Desk) -> None:
    for block in runnable(document):
        if block.language == "python":
            run_python(block, desk)
        else:
            run_console(block, desk)


def test_every_example_runs_or_says_why_not() -> None:
    shown = [
        b
        for d in DOCUMENTS
        if d.name not in SKIPPED_DOCUMENTS
        for b in blocks(d)
        if b.language in ("console", "python", "sh", "bash", "shell")
    ]
    assert all(b.language in ("console", "python") for b in shown), "use ```console or ```python"
    not_run = {str(b): b.not_run for b in shown if b.not_run}
    assert all(len(reason) > 10 for reason in not_run.values()), not_run
    assert len(not_run) < len(shown) / 3, f"most examples must run; not run: {not_run}"
