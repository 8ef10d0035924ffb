"""What activating (or rolling back to) a model version would do to the stored leads, before
it is done: how many leads' stage and tier would change and how (mql → sql: 120), and how
their scores would move.

It scores every lead the way activation does (`recompute.scored_chunks`: the same chunks,
vectorised kernel, overrides, pins and lifecycle, with the version treated as the active
one) and writes nothing, so the counts are the ones the activation then makes, as long as
no lead changes in between and the clock stands still (decay and windows move scores with
time). On a large store it takes as long as scoring every lead: the dashboard runs it as a
background job (service/jobs.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from leadscore.core.timestamps import format_timestamp
from leadscore.service import scoring_models
from leadscore.service.context import Context
from leadscore.service.recompute import count_leads, scored_chunks

Progress = Callable[[float, str], None]
NONE = "none"
"""How a missing stage or tier is named in a move."""
KEPT = 20
"""Moves listed per kind, biggest first; the rest are summed into one line."""


def check(ctx: Context, version: int, kind: str) -> int:
    """The version a preview of `kind` on `version` scores with (NotFound, Conflict)."""
    if kind == "rollback":
        return scoring_models.rollback_target(ctx, version)
    scoring_models.model_of(ctx, version)
    return version


def preview(
    ctx: Context, version: int, kind: str = "activate", progress: Progress | None = None
) -> dict[str, Any]:
    """What `scoring_models.activate(version)` (kind `activate`) or `rollback(version)`
    (kind `rollback`: the version active before `version` comes back) would change, as of
    now. Raises NotFound and Conflict as those do."""
    target = check(ctx, version, kind)
    model = scoring_models.model_of(ctx, target)
    total = count_leads(ctx)
    as_of = ctx.now()
    stages: Counter[tuple[str, str]] = Counter()
    tiers: Counter[tuple[str, str]] = Counter()
    shifts: list[np.ndarray] = []
    done = 0
    for rows in scored_chunks(ctx, model, target, as_of):
        stages.update(_moves(rows, "stage", "new_stage"))
        tiers.update(_moves(rows, "tier", "new_tier"))
        shifts.append((rows["new_score"] - rows["score"].fill_null(0.0)).to_numpy())
        done += rows.height
        if progress is not None:
            progress(done / total if total else 1.0, f"{done:,} of {total:,} leads scored")
    shift = np.concatenate(shifts) if shifts else np.zeros(0)
    return {
        "version": target,
        "kind": kind,
        "from": version if kind == "rollback" else None,
        "as_of": format_timestamp(as_of),
        "leads": done,
        "stages": _summary(stages),
        "tiers": _summary(tiers),
        "score": _shift_summary(shift),
    }


def _moves(rows: pl.DataFrame, old: str, new: str) -> Counter[tuple[str, str]]:
    """(from, to) → leads, for the leads whose value changes."""
    moved = rows.select(
        pl.col(old).cast(pl.String).fill_null(NONE).alias("a"),
        pl.col(new).cast(pl.String).fill_null(NONE).alias("b"),
    ).filter(pl.col("a") != pl.col("b"))
    counted = moved.group_by("a", "b").len()
    return Counter({(a, b): n for a, b, n in counted.iter_rows()})


def _summary(moves: Counter[tuple[str, str]]) -> dict[str, Any]:
    ranked = sorted(moves.items(), key=lambda item: (-item[1], item[0]))
    listed = [{"from": a, "to": b, "leads": n} for (a, b), n in ranked[:KEPT]]
    return {
        "changed": sum(moves.values()),
        "moves": listed,
        "other": sum(n for _, n in ranked[KEPT:]),
    }


def _shift_summary(shift: np.ndarray) -> dict[str, Any]:
    """How scores move: how many go up, down or stay, and the mean, median and extremes."""
    if shift.size == 0:
        return {"up": 0, "down": 0, "same": 0, "mean": None, "median": None, "min": None,
                "max": None}  # fmt: skip
    rounded = np.round(shift, 6)
    return {
        "up": int((rounded > 0).sum()),
        "down": int((rounded < 0).sum()),
        "same": int((rounded == 0).sum()),
        "mean": round(float(shift.mean()), 3),
        "median": round(float(np.median(shift)), 3),
        "min": round(float(shift.min()), 3),
        "max": round(float(shift.max()), 3),
    }
