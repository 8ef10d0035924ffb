"""SQLite's write-ahead log checkpointed beside the writers, not by them (issue 14).

By default SQLite checkpoints inside the commit that takes its log past 1,000 pages: that
transaction copies the log into the database file and syncs it, so about one commit in a
hundred of the live path took 10 ms instead of 1 ms, and that was the whole p99 of ingesting
one event (bench/service.py: p99 10.8 ms with the automatic checkpoint, 2.1 ms without, p50
1.3 → 1.0 ms). So every connection turns the automatic checkpoint off
(`PRAGMA wal_autocheckpoint=0`) and one thread per database checkpoints instead, every
`INTERVAL` seconds, with its own connection: a PASSIVE checkpoint never blocks a reader or a
writer, and the log restarts from its beginning at the next write once it has been copied
whole. When the last connection closes, SQLite checkpoints and removes the log itself, so a
short command that never started the thread leaves nothing behind either.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger("leadscore.store")

INTERVAL = 0.5
"""Seconds between checkpoints: the log holds at most what the writers commit meanwhile."""


class Checkpointer:
    """A daemon thread checkpointing one SQLite file; started on the first write."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.last: tuple[int, int, int] | None = None
        """What the last checkpoint reported: (busy, log pages, pages checkpointed)."""

    def start(self) -> None:
        """Start the thread if it is not running (cheap when it is: the hot path calls it)."""
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(
                    target=self._run, name="leadscore-sqlite-checkpoint", daemon=True
                )
                self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=5)

    def checkpoint(self, conn: sqlite3.Connection) -> tuple[int, int, int]:
        """(busy, log pages, pages checkpointed) of one PASSIVE checkpoint."""
        row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, timeout=0, check_same_thread=False)
        except sqlite3.Error:
            log.exception("cannot open %s to checkpoint its log", self.path)
            return
        try:
            while not self._stop.wait(INTERVAL):
                try:
                    self.last = self.checkpoint(conn)
                except sqlite3.Error as exc:  # e.g. busy: the next round does it
                    log.debug("checkpoint of %s skipped: %s", self.path, exc)
        finally:
            conn.close()


def is_file(database: str | None) -> bool:
    """Whether an SQLite URL's database is a file (not in memory), which has a log."""
    return bool(database) and database != ":memory:" and not str(database).startswith("file::")
