"""Benchmark `leadscore demo-data`: 1,000,000 leads (about 20,000,000 events) to Parquet.

Run `python bench/demo_data.py`. Each run is a fresh process so that its peak memory is its
own; the wall time is the median of three runs when one run takes under a minute, else the
single run, and the output says which.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

CACHE = Path(__file__).resolve().parent / ".cache" / "demo_data"
COMMAND = [sys.executable, "-c", "from leadscore.cli import app; app()", "demo-data"]


def run_once(n_leads: int, out: Path) -> tuple[float, int]:
    """Wall seconds and peak resident memory (bytes) of one generator process."""
    args = ["--leads", str(n_leads), "--seed", "1", "--end", "2025-06-01", "--out", str(out)]
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        child = subprocess.Popen([*COMMAND, *args], stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            stderr.seek(0)
            sys.exit(f"demo-data failed ({child.returncode}):\n{stderr.read().decode()}")
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return seconds, usage.ru_maxrss * scale


def rows(out: Path, table: str) -> int:
    return pq.ParquetFile(out / f"{table}.parquet").metadata.num_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help=f"write to {CACHE} and keep it")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="leadscore-demo-") as tmp:
        out = CACHE if options.keep else Path(tmp) / "data"
        runs = [run_once(options.leads, out)]
        if runs[0][0] < 60:
            runs += [run_once(options.leads, out) for _ in range(2)]
        times = [seconds for seconds, _ in runs]
        peak = max(memory for _, memory in runs)
        print(
            f"demo-data, {options.leads:,} leads, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}, {platform.machine()}"
        )
        print(f"  events:    {rows(out, 'events'):,}")
        print(f"  outcomes:  {rows(out, 'outcomes'):,}")
        if len(times) == 1:
            print(f"  wall time: {times[0]:.1f} s (1 run: it took over a minute)")
        else:
            listed = ", ".join(f"{t:.1f}" for t in times)
            print(f"  wall time: {statistics.median(times):.1f} s (median of 3 runs: {listed})")
        print(f"  peak RSS:  {peak / 2**30:.2f} GiB (the largest of the runs)")
        size = sum(f.stat().st_size for f in out.iterdir())
        print(f"  on disk:   {size / 2**20:.0f} MiB in {out if options.keep else 'a temp dir'}")


if __name__ == "__main__":
    main()
