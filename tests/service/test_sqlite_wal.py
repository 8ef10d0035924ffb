"""SQLite's log is checkpointed by a thread beside the writers, not inside their commits
(store/sqlite_wal.py): the commit that crossed 1,000 log pages was the p99 of an event."""

from __future__ import annotations

import time

from sqlalchemy import text

from leadscore.settings import Settings
from leadscore.store.database import Database
from leadscore.store.sqlite_wal import INTERVAL, is_file


def _settled(db: Database, deadline: float) -> tuple[int, int, int] | None:
    checkpointer = db._checkpointer
    assert checkpointer is not None
    while time.monotonic() < deadline:
        last = checkpointer.last
        if last is not None and last[1] > 0 and last[1] == last[2]:
            return last
        time.sleep(INTERVAL / 5)
    return checkpointer.last


def test_commits_leave_the_log_to_the_checkpointer(tmp_path) -> None:
    db = Database(Settings(database_url=f"sqlite:///{tmp_path / 'wal.db'}"))
    try:
        with db.read() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert db._checkpointer is not None and not db._checkpointer.running
        with db.write() as conn:
            conn.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)"))
        payload = "x" * 4000  # about a page per row: 1,500 rows pass 1,000 log pages
        for start in range(0, 1500, 100):
            with db.write() as conn:
                conn.execute(
                    text("INSERT INTO t (k, v) VALUES (:k, :v)"),
                    [{"k": k, "v": payload} for k in range(start, start + 100)],
                )
        assert db._checkpointer.running
        last = _settled(db, time.monotonic() + 20 * INTERVAL)
        assert last is not None and last[1] > 1000 and last[1] == last[2], last
        with db.read() as conn:
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 1500
    finally:
        db.dispose()
    assert not db._checkpointer.running
    assert not (tmp_path / "wal.db-wal").exists()  # the last connection's close removed it


def test_only_a_file_has_a_log_to_checkpoint() -> None:
    assert is_file("/var/lib/leadscore/leadscore.db")
    assert not is_file(":memory:")
    assert not is_file("")
    assert not is_file(None)
