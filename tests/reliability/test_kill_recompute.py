"""kill -9 of `leadscore recompute` mid-way: it commits chunk by chunk, so every lead is
either wholly scored at the old time or wholly at the new one, and a rerun finishes the job
with the same result as a recompute never interrupted."""

from __future__ import annotations

import pytest
from tests.reliability import harness

pytestmark = pytest.mark.slow  # child processes started and killed: seconds each


def test_a_killed_recompute_leaves_no_half_written_lead_and_a_rerun_completes(store) -> None:
    report = harness.kill_recompute(
        store("interrupted"), store("clean"), leads=300, events_per_lead=2, chunk=20, kills=1
    )
    assert report.kills == 1
    assert 0 < report.rescored_at_kills[0] < 300  # killed mid-way, after some chunks
    assert report.half_written == []
    assert report.rerun_code == 0, report.rerun_output
    assert report.rerun_output.startswith("recomputed 300 leads: ")
    assert report.differs_from_uninterrupted == []
    assert report.history_differs == []
