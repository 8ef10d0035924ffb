"""Rescoring every lead (§4 scheduled recompute, model activation; §5 vectorised).

Leads are taken in key order in chunks (`recompute_chunk_size`, 100,000 by default). Each
chunk is read in bulk as Arrow (store/bulk_reads.py: the leads, their events up to `as_of`,
only the JSON values the model reads), scored by the vectorised kernel
(`engine.kernel.score_frame`, equal to the reference scorer bit for bit), and written back in
one transaction (store/bulk_writes.py): the leads whose score, grade, tier or stage changed,
a history row for each reported change (§1), and their lifecycle stages. The lifecycle is
folded in event time (docs/lifecycle.md): at `as_of` it is `next_stage(the stored folded
event stage, the model's stage at as_of)`, no replay per lead. A lead last scored by another
model version, or by none (an activation), starts afresh: its stage then becomes its base.
An interrupted run keeps every chunk it committed; running it again finishes the job
(unchanged leads are not rewritten).

The reads take no locks, so a lead may be rescored by live traffic (a new event, an override)
between the read and the write. The write therefore only touches a lead whose `scored_at` and
`updated_at` are still the ones read; any other was just scored by the live path, which is as
new as this one. A recomputed lead's stored explanation is cleared and derived again, exactly,
when it is read (service/queries.py): explaining a million leads that nobody opens would cost
more than scoring them. This module is the orchestration: the reader and writer threads, the
scoring, the lifecycle, what counts as a change, progress.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from queue import Empty, Full, Queue

import numpy as np
import polars as pl
from sqlalchemy import Connection

from leadscore.core.explain import NUMBERS, SCORED
from leadscore.core.lifecycle import next_stage
from leadscore.core.model import Model
from leadscore.engine.kernel import score_frame
from leadscore.service import blending, firing, metrics
from leadscore.service.context import Context
from leadscore.service.scoring import Cause, newest_pin, rescore
from leadscore.store import arrow, bulk_reads, bulk_writes
from leadscore.store import leads as stored_leads
from leadscore.store import overrides as stored_overrides
from leadscore.store.bulk_reads import Chunk, ChunkReader
from leadscore.store.bulk_writes import LIFECYCLE
from leadscore.store.frames import EVENT_SCHEMA, attributes_frame


@dataclass(frozen=True)
class RecomputeReport:
    leads: int
    changed: int
    batches: int


def count_leads(ctx: Context) -> int:
    with ctx.db.read() as conn:
        return bulk_reads.count_leads(conn)


def recompute(
    ctx: Context,
    as_of: int | None = None,
    *,
    cause_kind: str = "recompute",
    cause_ref: str | None = None,
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
    between_batches: Callable[[], None] | None = None,
) -> RecomputeReport:
    """Rescore all leads at `as_of` (default: the time each chunk is read).

    `between_batches` is called after each commit (the scheduler renews its lease there).
    Its duration goes to the metrics (service/metrics.py) when it completes.
    """
    started = time.perf_counter()
    report = _recompute(ctx, as_of, cause_kind, cause_ref, batch_size, progress, between_batches)
    metrics.recomputed(time.perf_counter() - started)
    return report


def _recompute(
    ctx: Context,
    as_of: int | None,
    cause_kind: str,
    cause_ref: str | None,
    batch_size: int | None,
    progress: Callable[[int], None] | None,
    between_batches: Callable[[], None] | None,
) -> RecomputeReport:
    with ctx.db.read() as conn:
        active = ctx.models.active(conn)
    if active is None:
        return _stage_only(ctx, as_of, cause_kind, cause_ref, progress, between_batches)
    version, model = active
    size = batch_size or ctx.settings.recompute_chunk_size
    reader = ChunkReader(ctx.db, model)
    counts = [0, 0, 0]  # leads, changed, chunks
    in_flight: deque[tuple[Future[int], int]] = deque()

    def finish() -> None:
        future, height = in_flight.popleft()
        counts[1] += future.result()
        counts[0], counts[2] = counts[0] + height, counts[2] + 1
        if progress is not None:
            progress(height)
        if between_batches is not None:
            between_batches()

    def write(rows: pl.DataFrame) -> int:
        return ctx.db.transact(lambda conn: write_chunk(ctx, conn, rows, cause_kind, cause_ref))

    # Chunks are read on reader threads and written on writer threads while the next one is
    # scored here (the drivers release the GIL while the database works). PostgreSQL writes
    # two chunks at once, on two connections (disjoint leads); SQLite has one writer anyway.
    writers = 1 if ctx.db.is_sqlite else WRITERS
    with ThreadPoolExecutor(writers, thread_name_prefix="recompute-writer") as pool:
        for chunk, moment in _read_ahead(ctx, reader, _ranges(ctx, size), as_of):
            rows = score_chunk(ctx, model, version, chunk, moment)
            while len(in_flight) >= writers:
                finish()
            in_flight.append((pool.submit(write, rows), chunk.leads.height))
        while in_flight:
            finish()
    return RecomputeReport(*counts)


def scored_chunks(
    ctx: Context, model: Model, version: int, as_of: int | None = None
) -> Iterator[pl.DataFrame]:
    """Every lead scored by `model` as `recompute` would score it were `version` active
    (the same chunks, kernel and lifecycle), the stored snapshot beside the new one, and
    nothing written: what an activation would change, before it is done."""
    reader = ChunkReader(ctx.db, model)
    ranges = _ranges(ctx, ctx.settings.recompute_chunk_size)
    for chunk, moment in _read_ahead(ctx, reader, ranges, as_of):
        yield score_chunk(ctx, model, version, chunk, moment)


READERS = {"sqlite": 1, "postgresql": 2}
"""Reader threads. On SQLite a second reader slows the run down: while readers hold
snapshots, its write-ahead log cannot be checkpointed and every read walks a longer log."""
WRITERS = 2
"""Chunks written at once on PostgreSQL (its UPDATE of 100,000 leads is the slowest step)."""


def _ranges(ctx: Context, size: int) -> list[tuple[int, int | None]]:
    with ctx.db.read() as conn:
        return bulk_reads.key_ranges(conn, size)


_Read = tuple[Chunk | None, int | None, BaseException | None]
"""What a reader thread hands over: a chunk (None: no leads in its range) and its as_of, or
the exception that stopped the thread."""


def _read_ahead(
    ctx: Context, reader: ChunkReader, ranges: list[tuple[int, int | None]], as_of: int | None
) -> Iterator[tuple[Chunk, int]]:
    """(chunk, as_of) per range, in order, read by `READERS` threads (range i by thread
    i mod readers, each with its own connection, one chunk ahead at most)."""
    readers = READERS["sqlite" if ctx.db.is_sqlite else "postgresql"]
    queues: list[Queue[_Read]] = [Queue(maxsize=1) for _ in range(readers)]
    stop = threading.Event()

    def put(queue: Queue[_Read], item: _Read) -> None:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return
            except Full:
                continue

    def work(k: int) -> None:
        try:
            with arrow.connect(ctx.db) as source:
                for i in range(k, len(ranges), readers):
                    if stop.is_set():
                        return
                    moment = ctx.now() if as_of is None else as_of
                    put(queues[k], (reader.read(source, *ranges[i], moment), moment, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            put(queues[k], (None, None, exc))

    threads = [
        threading.Thread(target=work, args=(k,), name=f"recompute-reader-{k}", daemon=True)
        for k in range(min(readers, len(ranges)))
    ]
    for thread in threads:
        thread.start()
    try:
        for i in range(len(ranges)):
            chunk, moment, error = queues[i % readers].get()
            if error is not None:
                raise error
            if chunk is not None and moment is not None:
                yield chunk, moment
    finally:
        stop.set()
        for thread in threads:
            while thread.is_alive():
                for queue in queues:
                    with contextlib.suppress(Empty):
                        queue.get_nowait()
                thread.join(timeout=0.1)


# --- scoring ------------------------------------------------------------------------------


def score_chunk(ctx: Context, model: Model, version: int, chunk: Chunk, as_of: int) -> pl.DataFrame:
    """The chunk's new snapshots, with the stored ones beside them."""
    frame = chunk.leads
    first, last = int(frame["pk"][0]), int(frame["pk"][-1])
    adjust, pins = _overrides(ctx, first, last, as_of)
    pks = frame["pk"].to_list()
    adjustments = None
    if adjust:
        adjustments = np.array([sum(adjust.get(pk, ())) for pk in pks], dtype=np.float64)
    result = score_frame(
        chunk.attributes,
        chunk.events,
        model,
        as_of,
        adjustments=adjustments,
        event_leads=chunk.event_leads,
        probabilities=_probabilities(ctx, model, chunk, as_of),
    )
    pinned = pl.Series("new_pinned", [pins.get(pk) for pk in pks], dtype=pl.String)
    out = frame.with_columns(
        *(result[name].alias(f"new_{name}") for name in SCORED if name != "stage"),
        result["stage"].alias("model_stage"),
        pinned,
    )
    return _lifecycle(model, out, version, as_of).with_columns(
        pl.lit(version, dtype=pl.Int64).alias("new_version"),
        pl.lit(as_of, dtype=pl.Int64).alias("scored_at_new"),
    )


def _probabilities(ctx: Context, model: Model, chunk: Chunk, as_of: int) -> np.ndarray | None:
    """The blended probabilities (§7), from the frames the live path builds."""
    if chunk.attributes_json is None:
        return None
    ids = chunk.leads["id"]
    attributes = [{} if t is None else json.loads(t) for t in chunk.attributes_json.to_list()]
    frame = attributes_frame(ids.to_list(), chunk.leads["email"].to_list(), attributes)
    known = chunk.event_leads >= 0
    events = pl.DataFrame(
        {
            "lead_id": ids.gather(chunk.event_leads[known]),
            "type": chunk.events["type"].filter(known).cast(pl.String),
            "occurred_at": chunk.events["occurred_at"].filter(known),
        },
        schema=EVENT_SCHEMA,
    )
    with ctx.db.read() as conn:
        return blending.probabilities(conn, model, frame, events, as_of)


def _overrides(
    ctx: Context, first: int, last: int, as_of: int
) -> tuple[dict[int, list[float]], dict[int, str]]:
    """Per lead pk: the points of its adjustments in force, and its newest stage pin."""
    with ctx.db.read() as conn:
        in_force = stored_overrides.in_force_between(conn, first, last, as_of)
    points = {pk: [o.points for o in rows if o.kind == "points"] for pk, rows in in_force.items()}
    pins = {pk: pin.stage for pk, rows in in_force.items() if (pin := newest_pin(rows)) is not None}
    return {pk: p for pk, p in points.items() if p}, pins


def _lifecycle(model: Model, frame: pl.DataFrame, version: int, as_of: int) -> pl.DataFrame:
    """`next_stage` from the folded event stage, once per distinct (folded stage, model's
    stage, pin). A lead first scored by this model version (another scored it last, or none
    did: it was stored while no model was active) gets a new base: its lifecycle stage, at
    `as_of` (what activating a model does; service/scoring.py `lifecycle`)."""
    reset = pl.col("model_version").is_null() | (pl.col("model_version") != version)
    stage = pl.col("lifecycle_stage").cast(pl.String)
    since = pl.lit(as_of, dtype=pl.Int64)
    frame = frame.with_columns(
        stage.alias("lifecycle_stage"),
        pl.when(reset).then(stage).otherwise(pl.col("stage_base")).alias("new_stage_base"),
        pl.when(reset).then(since).otherwise(pl.col("stage_base_at")).alias("new_stage_base_at"),
        pl.when(reset).then(stage).otherwise(pl.col("event_stage")).alias("new_event_stage"),
        pl.when(reset).then(since).otherwise(pl.col("event_stage_at")).alias("new_event_stage_at"),
    ).with_columns(pl.col("new_event_stage").alias("folded"))
    keys = ["folded", "model_stage", "new_pinned"]
    distinct = frame.select(keys).unique()
    moved = distinct.with_columns(
        pl.Series(
            "new_lifecycle",
            [next_stage(model, c, s) for c, s, _ in distinct.iter_rows()],
            dtype=pl.String,
        ),
        pl.Series(
            "new_stage",
            [next_stage(model, c, s, p) for c, s, p in distinct.iter_rows()],
            dtype=pl.String,
        ),
    )
    joined = frame.join(moved, on=keys, how="left", nulls_equal=True, maintain_order="left")
    return joined.drop("folded")


# --- writing ------------------------------------------------------------------------------


def _written(rows: pl.DataFrame) -> pl.DataFrame:
    """The leads to write (anything changed), in `bulk_writes.ROW_COLUMNS`; `reported`
    when the change gets a history row (§1: score, fit, engagement or stage)."""

    def differs(new: str, old: str) -> pl.Expr:
        return ~pl.col(new).eq_missing(pl.col(old))

    reported = pl.col("model_version").is_null() | pl.any_horizontal(
        differs(f"new_{name}", name) for name in (*NUMBERS, "stage")
    )
    anything = (
        reported
        | pl.any_horizontal(differs(f"new_{n}", n) for n in SCORED if n not in (*NUMBERS, "stage"))
        | differs("new_version", "model_version")
        | differs("new_lifecycle", "lifecycle_stage")
        | differs("new_pinned", "pinned_stage")
        | pl.any_horizontal(differs(f"new_{name}", name) for name in LIFECYCLE)
    )
    renamed = {"scored_at": "old_scored_at", "updated_at": "old_updated_at"}
    renamed |= {f"new_{name}": name for name in SCORED if name != "stage"}
    renamed |= {"new_stage": "stage", "new_lifecycle": "lifecycle_stage"}
    renamed |= {"new_pinned": "pinned_stage", "new_version": "model_version"}
    renamed |= {"scored_at_new": "scored_at"}
    renamed |= {f"new_{name}": name for name in LIFECYCLE}
    return rows.filter(anything).select(
        pl.col("pk"),
        *(pl.col(old).alias(new) for old, new in renamed.items()),
        reported.cast(pl.Int64).alias("reported"),
    )


def write_chunk(
    ctx: Context, conn: Connection, rows: pl.DataFrame, kind: str, ref: str | None
) -> int:
    """Write one chunk's changes and the outbox rows they fire (§6); returns how many leads
    got a history row."""
    fired = firing.bulk_rows(conn, ctx, rows, ctx.now())
    return bulk_writes.write_changes(ctx.db, conn, _written(rows), kind, ref, fired)


# --- without an active model ----------------------------------------------------------------


def _stage_only(
    ctx: Context,
    as_of: int | None,
    cause_kind: str,
    cause_ref: str | None,
    progress: Callable[[int], None] | None,
    between_batches: Callable[[], None] | None,
) -> RecomputeReport:
    """Without an active model nothing is scored; pins and stages still apply (per lead)."""
    size = ctx.settings.recompute_batch_size
    cause = Cause(cause_kind, cause_ref)
    after_pk, total, batches = 0, 0, 0

    def batch(conn: Connection) -> tuple[int | None, int]:
        rows = stored_leads.lock_page(conn, after_pk, size)
        if not rows:
            return None, 0
        rescore(conn, ctx, rows, as_of, cause, write_unchanged=False)
        return rows[-1].pk, len(rows)

    while True:
        last_pk, n = ctx.db.transact(batch)
        if last_pk is None:
            break
        after_pk, total, batches = last_pk, total + n, batches + 1
        if progress is not None:
            progress(n)
        if between_batches is not None:
            between_batches()
    return RecomputeReport(total, 0, batches)
