"""Shared fixtures: where the shared datasets live and how absent services are handled, and
the capture of every log record of the run, scanned for secrets at the end.

Outside CI a missing PostgreSQL server or a missing ../shared/data skips the tests that need
it, with the reason; under CI=true the same absence fails them, so CI never passes by skipping.

No secret in logs (OWASP API8): for the whole session, every log record (DEBUG and up, from
leadscore, uvicorn and everything else that reaches the root logger; exception text
included) is written to a file per test process in one run directory
(`LEADSCORE_TEST_LOG_DIR`, made by the controlling process and inherited by pytest-xdist's
workers). When the run ends, the controller scans every file for API keys and for the
secrets the fixtures registered (tests/secrets_registry.py), prints one summary line, and
fails the run naming file:line of each finding.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings
from tests import secrets_registry

# No per-example wall-clock deadline: on the shared 2-core machines a busy neighbour (the
# other test worker, a Spark JVM) stretches one example past hypothesis's 200 ms and the
# test fails on the machine's load, not on the code. Speed is measured in bench/, not here.
settings.register_profile("leadscore", deadline=None)
settings.load_profile("leadscore")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
IN_CI = os.environ.get("CI", "").lower() == "true"


def skip_or_fail(reason: str) -> None:
    """Skip with `reason` on a developer's machine; fail under CI."""
    if IN_CI:
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The ../shared/data folder of real datasets."""
    if not SHARED_DATA.is_dir():
        skip_or_fail(f"no shared datasets at {SHARED_DATA}")
    return SHARED_DATA


LOG_DIR_VARIABLE = "LEADSCORE_TEST_LOG_DIR"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"
QUIET = {"sqlalchemy": logging.WARNING, "httpcore": logging.INFO, "hpack": logging.INFO}
"""Libraries whose DEBUG records are a flood (every SQL statement, every socket event)."""
_capture: dict[str, object] = {}


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def pytest_configure(config: pytest.Config) -> None:
    """Open this process's log file in the run directory (the controller makes the
    directory and, through the environment, hands it to its workers)."""
    folder = os.environ.get(LOG_DIR_VARIABLE)
    if folder is None:
        folder = tempfile.mkdtemp(prefix="leadscore-test-logs-")
        os.environ[LOG_DIR_VARIABLE] = folder
        _capture["made"] = folder
    handler = logging.FileHandler(
        Path(folder) / f"{_worker()}.log", encoding="utf-8", errors="backslashreplace"
    )
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in ("leadscore", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).setLevel(logging.DEBUG)
        logging.getLogger(name).propagate = True
    for name, level in QUIET.items():
        logging.getLogger(name).setLevel(level)
    _capture["handler"] = handler
    _capture["folder"] = Path(folder)


def pytest_sessionstart(session: pytest.Session) -> None:
    """pytest's own report of each test's logs keeps to warnings, as it did while the root
    logger was at WARNING: the DEBUG flood goes to the file only (reports travel between
    xdist's processes, and a generated URL's lone surrogate cannot). Its plugin is
    configured after this file's `pytest_configure`, so this is done here."""
    reporting = session.config.pluginmanager.get_plugin("logging-plugin")
    if reporting is not None:
        reporting.report_handler.setLevel(logging.WARNING)
        reporting.report_handler.addFilter(_encodable)


def _encodable(record: logging.LogRecord) -> bool:
    """Escape what UTF-8 cannot hold (a lone surrogate a generated request carried into a
    server's warning), so that pytest-xdist can send the test's report."""
    message = record.getMessage()
    clean = message.encode("utf-8", "backslashreplace").decode("utf-8")
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = record.exc_text.encode("utf-8", "backslashreplace").decode("utf-8")
    return True


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Workers: close the log and write down the secrets they registered. The controller
    (or a run without workers): scan every file and fail the run on any secret."""
    handler = _capture.get("handler")
    folder = _capture.get("folder")
    if not isinstance(handler, logging.FileHandler) or not isinstance(folder, Path):
        return
    logging.getLogger().removeHandler(handler)
    handler.close()
    secrets_registry.dump(folder / f"secrets-{_worker()}.json")
    if hasattr(session.config, "workerinput"):
        return
    logs = sorted(folder.glob("*.log"))
    secrets = secrets_registry.load(folder.glob("secrets-*.json"))
    lines, findings = secrets_registry.scan(logs, secrets)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    say = reporter.write_line if reporter is not None else print
    say(f"secret scan: {lines} log lines from {len(logs)} workers, {len(findings)} secrets")
    for finding in findings:
        say(f"secret in the logs: {finding}")
    if findings:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif _capture.get("made") == str(folder):
        shutil.rmtree(folder, ignore_errors=True)
