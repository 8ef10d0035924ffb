"""kill -9 of the API server during batched ingest (SPEC §9: a crash mid-batch loses nothing
acknowledged): a real server process on a SQLite file or PostgreSQL is killed at random
moments while two clients send batches, and restarted on the same store."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.reliability import harness

pytestmark = pytest.mark.slow  # child processes started and killed: seconds each


def test_killed_server_keeps_every_acknowledged_batch_whole(store, tmp_path: Path) -> None:
    url = store("ingest")
    report = harness.kill_during_ingest(
        url, tmp_path / "server.log", kills=1, batches_per_round=8, batch_size=50, leads=40
    )
    tally = report.tally
    assert report.kills == 1
    assert tally.sent > 0 and report.batches_acknowledged >= 1
    assert set(tally.statuses) == {200}, tally.statuses  # answered ones; the rest died unanswered
    assert (tally.lost, tally.duplicates) == (0, 0)
    assert report.half_written == []  # every lead's score is its stored events' score
    # resending every batch: the acknowledged ones store nothing and change no lead
    assert report.resend_failures == 0
    assert report.resend_stored_again == 0
    assert report.resend_changed == []
    assert report.final_lost == 0 and report.final_half_written == []
