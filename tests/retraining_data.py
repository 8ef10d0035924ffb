"""Leads with outcomes for the retraining tests (tests/service/test_retraining.py,
tests/api/test_retraining.py): one feature whose relation to conversion can flip, so that a
test can change the world the newest leads come from."""

from __future__ import annotations

import csv
import math
import random
from pathlib import Path

from leadscore.core.timestamps import format_timestamp, parse_timestamp
from leadscore.service.context import Context
from leadscore.service.imports import import_file

HOUR = 3_600_000_000
START = parse_timestamp("2025-01-01T00:00:00Z")
"""Lead number i has its outcome i hours after this."""


def add_leads(
    ctx: Context, tmp_path: Path, first: int, n: int, *, flipped: bool, shift: float = 0.0
) -> None:
    """`n` leads numbered from `first`, each with an outcome an hour after the previous
    one's: `x` drives conversion up (or, `flipped`, down); `noise` says nothing. `shift`
    moves the stored `x` (not its effect) out of the range the first world had."""
    rng = random.Random(first)
    slope = -8.0 if flipped else 8.0
    leads, outcomes = [], []
    for i in range(first, first + n):
        x = rng.random()
        p = 1 / (1 + math.exp(-slope * (x - 0.5)))
        leads.append(
            {
                "id": f"L{i:05d}",
                "email": f"p{i}@firm{i % 7}.com",
                "x": round(x + shift, 4),
                "noise": round(rng.random(), 4),
            }  # fmt: skip
        )
        outcomes.append(
            {
                "lead_id": f"L{i:05d}",
                "outcome": "converted" if rng.random() < p else "lost",
                "occurred_at": format_timestamp(START + i * HOUR),
            }
        )
    for kind, rows in (("leads", leads), ("outcomes", outcomes)):
        path = tmp_path / f"{kind}-{first}.csv"
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        assert import_file(ctx, kind, path).written == n
