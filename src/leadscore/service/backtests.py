"""A backtest of stored model versions on the store's own history (what `leadscore backtest`
does with files): the leads decided in a period, each replayed up to just before its first
outcome under every version, compared by ROC AUC and conversion by score band.

The history is the decided leads only (AUC and bands need an outcome), the `LIMIT` latest
when the period holds more, so that the replay (the reference scorer at each event time of
each lead) stays minutes, not hours; the result says when it was cut."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from leadscore.core.records import Event, Lead
from leadscore.core.timestamps import format_timestamp
from leadscore.service import scoring_models
from leadscore.service.context import Context
from leadscore.store.decided import decided_between
from leadscore.tuning.backtest import backtest
from leadscore.tuning.errors import TuningError
from leadscore.tuning.history import History, Outcome
from leadscore.tuning.report import backtest_json

LIMIT = 20_000
"""Decided leads replayed at most (the latest outcomes of the period)."""
Progress = Callable[[float, str], None]


def run(
    ctx: Context,
    versions: Sequence[int],
    start: int | None = None,
    end: int | None = None,
    progress: Progress | None = None,
    limit: int = LIMIT,
) -> dict[str, Any]:
    """Backtest `versions` on the leads whose first outcome is in [start, end] (open ends:
    all of history). Raises NotFound for an unknown version and TuningError when the period
    has no decided lead or only one kind of outcome."""
    models = [(f"v{v}", scoring_models.model_of(ctx, v)) for v in versions]
    with ctx.db.read() as conn:
        decided, events, cut = decided_between(conn, ctx.event_types, start, end, limit)
    if not decided:
        raise TuningError("no lead has an outcome in this period: nothing to backtest")
    history = _history(decided, events, start, end)
    total = len(history.leads) * len(models)
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None and (done % 500 == 0 or done == total):
            progress(done / total, f"{done:,} of {total:,} lead replays")

    result = backtest(history, models, progress=step)
    report = backtest_json(result)
    for column, version in zip(report["columns"], versions, strict=True):
        column["version"] = version
    return {**report, "versions": list(versions), "limit": limit, "cut": cut}


def _history(
    decided: Sequence[Any], events: dict[int, list[Event]], start: int | None, end: int | None
) -> History:
    leads = [Lead(d.id, d.email, d.attributes) for d in decided]
    by_id = {d.id: sorted(events.get(d.pk, []), key=lambda e: e.occurred_at) for d in decided}
    outcomes = {d.id: Outcome(d.converted, d.at) for d in decided}
    moments = [d.at for d in decided]
    return History(
        leads,
        by_id,
        outcomes,
        start if start is not None else min(moments),
        end if end is not None else max(moments),
    )


def csv_rows(report: dict[str, Any]) -> list[list[object]]:
    """The result as CSV rows: one per version and band, with the version's AUC."""
    rows: list[list[object]] = [
        ["version", "auc", "band", "low", "high", "count", "conversions", "rate"]
    ]
    for column in report["columns"]:
        for band in column["bands"]:
            rows.append(
                [
                    column["version"],
                    column["auc"],
                    band["band"],
                    band["low"],
                    band["high"],
                    band["count"],
                    band["conversions"],
                    band["rate"],
                ]
            )
    return rows


def describe_period(start: int | None, end: int | None) -> dict[str, str | None]:
    return {
        "start": None if start is None else format_timestamp(start),
        "end": None if end is None else format_timestamp(end),
    }
