"""kill -9 of the outbox worker (`leadscore worker`) mid-delivery: delivery is at least once
— a row claimed by a worker that died is delivered again once its lease runs out — and every
attempt carries the row's key in `webhook-id`, by which the receiver applies each once."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.reliability import harness

pytestmark = pytest.mark.slow  # child processes started and killed: seconds each


def test_killed_workers_deliver_every_row_at_least_once_applied_once(store, tmp_path: Path) -> None:
    report = harness.kill_worker(store("outbox"), tmp_path / "worker.log", rows=40, kills=1)
    assert report.kills == 1
    assert report.statuses == {"delivered": report.rows} and report.rows == 40
    assert report.never_delivered == 0
    assert report.applied_twice == 0
    assert report.requests == report.rows + report.redelivered
