"""`leadscore serve` with LEADSCORE_LOG_FORMAT=json, run as a real process: every line it
writes to stderr is a JSON object, and the lines logged while serving a request carry the
request id the client sent in X-Request-ID."""

from __future__ import annotations

import contextvars
import io
import json
import logging
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.api.conftest import free_port

from leadscore.api import logs
from leadscore.store import schema_version

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.mark.slow
def test_json_logs_carry_the_request_id(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "LEADSCORE_DATABASE_URL": f"sqlite:///{db}",
        "LEADSCORE_LOG_FORMAT": "json",
        "LEADSCORE_LOG_LEVEL": "info",
        "LEADSCORE_WORKER_ENABLED": "false",
        "LEADSCORE_MAIL_DIR": str(tmp_path / "mail"),
    }
    command = [sys.executable, "-m", "leadscore.cli", "serve", "--port", str(port)]
    server = subprocess.Popen(
        command + ["--no-scheduler"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base, server)
        ok = httpx.get(base + "/ready", headers={"X-Request-ID": "ops-ready-1"})
        assert ok.status_code == 200
        with sqlite3.connect(db) as conn:  # the schema falls behind: /ready logs a warning
            conn.execute("UPDATE alembic_version SET version_num = ?", (schema_version.known()[0],))
        behind = httpx.get(base + "/ready", headers={"X-Request-ID": "ops-ready-2"})
        assert behind.status_code == 503
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)

    lines = [line for line in stderr.splitlines() if line.strip()]
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"not a JSON line on stderr: {line!r}") from None
    for record in records:
        assert {"time", "level", "logger", "message", "request_id"} <= record.keys(), record
    first = [r for r in records if r["request_id"] == "ops-ready-1"]
    assert [r["logger"] for r in first] == ["uvicorn.access"]
    assert "GET /ready" in first[0]["message"] and "200" in first[0]["message"]
    second = [(r["logger"], r["level"]) for r in records if r["request_id"] == "ops-ready-2"]
    assert ("leadscore.api", "WARNING") in second and ("uvicorn.access", "INFO") in second
    (warning,) = [r for r in records if r["logger"] == "leadscore.api"]
    assert warning["message"].startswith("not ready: the database schema is at migration")
    outside = [r for r in records if r["request_id"] is None]
    assert any("Uvicorn running" in r["message"] for r in outside)  # the start, no request


def _wait_for(base: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(
                f"the server exited: {server.stderr.read() if server.stderr else ''}"
            )
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the server did not start within 60 s")


def test_a_json_line_carries_the_exception_and_the_request_id() -> None:
    """The formatter and filter `leadscore serve` installs, on a record logged with a
    traceback inside a request's context."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.RequestIdFilter())
    log = logging.getLogger("leadscore.tests.ops")
    log.addHandler(handler)
    log.propagate = False
    try:

        def in_a_request() -> None:
            logs.REQUEST_ID.set("req-42")
            try:
                raise ValueError("boom")
            except ValueError:
                log.exception("it failed: %s", "badly")

        contextvars.copy_context().run(in_a_request)
        log.warning("outside")
    finally:
        log.removeHandler(handler)
        log.propagate = True
    failed, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert failed["message"] == "it failed: badly" and failed["level"] == "ERROR"
    assert failed["request_id"] == "req-42"
    assert "ValueError: boom" in failed["exception"] and "Traceback" in failed["exception"]
    assert failed["time"].endswith("Z")
    assert outside["request_id"] is None and "exception" not in outside
