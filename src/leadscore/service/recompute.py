"""Rescoring every lead (§4 scheduled recompute, model activation; §5 vectorised).

Leads are taken in key order in chunks (`recompute_chunk_size`, 100,000 by default). Each
chunk is read in bulk as Arrow (store/arrow.py: the leads, their events up to `as_of`, only
the JSON values the model reads), scored by the vectorised kernel (`engine.kernel.score_frame`,
equal to the reference scorer bit for bit), and written back in one transaction: the leads
whose score, grade, tier or stage changed, a history row for each reported change (§1), and
their lifecycle stages (`core.lifecycle.next_stage`). An interrupted run keeps every chunk it
committed; running it again finishes the job (unchanged leads are not rewritten).

The reads take no locks, so a lead may be rescored by live traffic (a new event, an override)
between the read and the write. The write therefore only touches a lead whose `scored_at` and
`updated_at` are still the ones read; any other was just scored by the live path, which is as
new as this one. A recomputed lead's stored explanation is cleared and derived again, exactly,
when it is read (service/queries.py): explaining a million leads that nobody opens would cost
more than scoring them.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from queue import Empty, Full, Queue

import numpy as np
import polars as pl
from sqlalchemy import Connection, func, select, text

from leadscore.core.lifecycle import next_stage
from leadscore.core.model import Model
from leadscore.core.records import property_value
from leadscore.engine.compile import no_event_nodes
from leadscore.engine.fields import event_fields, model_lead_fields
from leadscore.engine.kernel import score_frame
from leadscore.engine.records import SHADOWED, typed_series
from leadscore.service import blending
from leadscore.service.context import Context
from leadscore.service.scoring import Cause, newest_pin, rescore
from leadscore.store import arrow
from leadscore.store import leads as stored_leads
from leadscore.store import overrides as stored_overrides
from leadscore.store.frames import EVENT_SCHEMA, attributes_frame
from leadscore.store.tables import leads

EVENT_SLICE = 10_000
"""Leads whose events one query reads (SQLite packs a slice into one text)."""


@dataclass(frozen=True)
class RecomputeReport:
    leads: int
    changed: int
    batches: int


def count_leads(ctx: Context) -> int:
    with ctx.db.read() as conn:
        return conn.scalar(select(func.count()).select_from(leads))


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
    """
    with ctx.db.read() as conn:
        active = ctx.models.active(conn)
    if active is None:
        return _stage_only(ctx, as_of, cause_kind, cause_ref, progress, between_batches)
    version, model = active
    size = batch_size or ctx.settings.recompute_chunk_size
    plan = _Plan(ctx, model)
    counts = [0, 0, 0]  # leads, changed, chunks
    in_flight: deque[tuple[Future, int]] = deque()

    def finish() -> None:
        future, height = in_flight.popleft()
        counts[1] += future.result()
        counts[0], counts[2] = counts[0] + height, counts[2] + 1
        if progress is not None:
            progress(height)
        if between_batches is not None:
            between_batches()

    def write(rows: pl.DataFrame) -> int:
        return ctx.db.transact(lambda conn: _write(ctx, conn, rows, cause_kind, cause_ref))

    # Chunks are read on reader threads and written on writer threads while the next one is
    # scored here (the drivers release the GIL while the database works). PostgreSQL writes
    # two chunks at once, on two connections (disjoint leads); SQLite has one writer anyway.
    writers = 1 if ctx.db.is_sqlite else WRITERS
    with ThreadPoolExecutor(writers, thread_name_prefix="recompute-writer") as pool:
        for chunk, moment in _read_ahead(ctx, plan, _ranges(ctx, size), as_of):
            rows = _score(ctx, model, version, chunk, moment)
            while len(in_flight) >= writers:
                finish()
            in_flight.append((pool.submit(write, rows), chunk.leads.height))
        while in_flight:
            finish()
    return RecomputeReport(*counts)


READERS = {"sqlite": 1, "postgresql": 2}
"""Reader threads. On SQLite a second reader slows the run down: while readers hold
snapshots, its write-ahead log cannot be checkpointed and every read walks a longer log."""
WRITERS = 2
"""Chunks written at once on PostgreSQL (its UPDATE of 100,000 leads is the slowest step)."""


def _ranges(ctx: Context, size: int) -> list[tuple[int, int | None]]:
    """(after, up to) lead key ranges of `size` leads; the last is open, for leads created
    while the run goes on."""
    numbered = select(leads.c.pk, func.row_number().over(order_by=leads.c.pk).label("n"))
    numbered = numbered.subquery()
    query = select(numbered.c.pk).where(numbered.c.n % size == 0).order_by(numbered.c.pk)
    with ctx.db.read() as conn:
        bounds = [0, *conn.scalars(query)]
    return [*itertools.pairwise(bounds), (bounds[-1], None)]


def _read_ahead(ctx: Context, plan: _Plan, ranges, as_of: int | None) -> Iterator:
    """(chunk, as_of) per range, in order, read by `READERS` threads (range i by thread
    i mod readers, each with its own connection, one chunk ahead at most)."""
    readers = READERS["sqlite" if ctx.db.is_sqlite else "postgresql"]
    queues: list[Queue] = [Queue(maxsize=1) for _ in range(readers)]
    stop = threading.Event()

    def put(queue: Queue, item) -> None:
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
                    put(queues[k], (plan.read(source, *ranges[i], moment), moment, None))
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
            if chunk is not None:
                yield chunk, moment
    finally:
        stop.set()
        for thread in threads:
            while thread.is_alive():
                for queue in queues:
                    with contextlib.suppress(Empty):
                        queue.get_nowait()
                thread.join(timeout=0.1)


# --- reading ------------------------------------------------------------------------------


@dataclass
class _Chunk:
    leads: pl.DataFrame
    """pk, id and the stored snapshot (`_Plan.STORED`)."""
    attributes: pl.DataFrame
    """id, email and the attributes the model reads: the kernel's leads frame."""
    events: pl.DataFrame
    event_leads: np.ndarray
    attributes_json: pl.Series | None = None
    """Every attribute, as JSON text: read only when the model blends a probability."""


class _Plan:
    """The SQL that reads what one model needs, and the decoding of its JSON values."""

    STORED = {
        "pk": pl.Int64, "id": pl.String, "email": pl.String, "stage": pl.String,
        "lifecycle_stage": pl.String, "pinned_stage": pl.String, "score": pl.Float64,
        "fit": pl.Float64, "engagement": pl.Float64, "grade": pl.String, "tier": pl.String,
        "model_version": pl.Int64, "scored_at": pl.Int64, "updated_at": pl.Int64,
    }  # fmt: skip

    def __init__(self, ctx: Context, model: Model) -> None:
        self.db = ctx.db
        self.attributes = sorted(model_lead_fields(model) - set(SHADOWED))
        fields = event_fields(model)
        self.with_source = "source" in fields
        self.properties = sorted(
            {f.removeprefix("properties.") for f in fields if f not in ("type", "source")}
        )
        self.where_types = _where_types(model)
        self.predictive = model.blend is not None

    def read(
        self, source: arrow.Source, after: int, up_to: int | None, as_of: int
    ) -> _Chunk | None:
        """Leads with `after` < pk ≤ `up_to` (no upper bound when None) and their events."""
        db = self.db
        kinds = {"score": "float", "fit": "float", "engagement": "float"}
        columns = [
            (name, name, "int" if dtype == pl.Int64 else kinds.get(name, "text"))
            for name, dtype in self.STORED.items()
        ]
        columns += [
            (f"a{i}", arrow.json_member(db, "attributes", key), "json")
            for i, key in enumerate(self.attributes)
        ]
        if self.predictive:  # a predictor reads every attribute
            whole = "json(attributes)" if db.is_sqlite else "attributes::text"
            columns.append(("attributes_json", whole, "json"))
        upper = "" if up_to is None else f" AND pk <= {int(up_to)}"
        frame = source.select(columns, f"FROM leads WHERE pk > {int(after)}{upper} ORDER BY pk")
        if frame.height == 0:
            return None
        decoded = [
            arrow.decode_json(key, frame[f"a{i}"], self._pick(key))
            for i, key in enumerate(self.attributes)
        ]
        attributes = frame.select("id", "email").with_columns(decoded)
        events, event_leads = self._events(source, frame["pk"].to_numpy(), as_of)
        whole = frame["attributes_json"] if self.predictive else None
        stored = frame.select(list(self.STORED))
        return _Chunk(stored, attributes, events, event_leads, whole)

    def _pick(self, key: str) -> str | None:
        return key if arrow.is_whole_document(self.db, key) else None

    def _events(self, source: arrow.Source, pks: np.ndarray, as_of: int):
        db = self.db
        types = source.select(
            [("id", "id", "int"), ("name", "name", "text")], "FROM event_types ORDER BY id"
        )

        wanted = None
        if self.where_types is not None:
            ids = types.filter(pl.col("name").is_in(list(self.where_types)))["id"].to_list()
            wanted = ", ".join(map(str, ids)) or "NULL"

        def member(key: str) -> str:
            expr = arrow.json_member(db, "properties", key)
            return expr if wanted is None else f"CASE WHEN type_id IN ({wanted}) THEN {expr} END"

        columns = [("lead_pk", "lead_pk", "int"), ("type_id", "type_id", "int"),
                   ("occurred_at", "occurred_at", "int")]  # fmt: skip
        if self.with_source:
            columns.append(("source", "source", "text"))
        for i, prop in enumerate(self.properties):
            columns.append((f"p{i}", member(prop), "json"))
            if "." in prop:
                columns.append((f"r{i}", member(prop.split(".")[0]), "json"))
        slices = []
        bounds = [int(pks[0]) - 1, *(int(pk) for pk in pks[EVENT_SLICE - 1 :: EVENT_SLICE])]
        if bounds[-1] != int(pks[-1]):
            bounds.append(int(pks[-1]))
        for low, high in itertools.pairwise(bounds):
            slices.append(
                source.select(
                    columns,
                    f"FROM events WHERE lead_pk > {low} AND lead_pk <= {high}"
                    f" AND occurred_at <= {int(as_of)}",
                )
            )
        raw = pl.concat(slices)
        type_ids = types["id"].to_numpy()
        position = np.full(int(type_ids.max(initial=0)) + 1, -1, dtype=np.int32)
        position[type_ids] = np.arange(len(type_ids), dtype=np.int32)
        codes = position[raw["type_id"].cast(pl.Int64).to_numpy()] if raw.height else []
        columns = {
            "type": arrow.dictionary_column(np.asarray(codes), types["name"].to_list()),
            "occurred_at": raw["occurred_at"].cast(pl.Int64),
        }
        if self.with_source:
            columns["source"] = raw["source"].cast(pl.String)
        for i, prop in enumerate(self.properties):
            name = f"properties.{prop}"
            roots = raw[f"r{i}"] if "." in prop else None
            columns[name] = _property(db, name, prop, raw[f"p{i}"], roots)
        lead_pk = raw["lead_pk"].cast(pl.Int64).to_numpy()
        index = np.searchsorted(pks, lead_pk).astype(np.int32)
        inside = index < len(pks)
        index[inside & (pks[np.minimum(index, len(pks) - 1)] != lead_pk)] = -1
        index[~inside] = -1  # a lead deleted between the two reads
        return pl.DataFrame(columns), index


def _where_types(model: Model) -> set[str] | None:
    """The event types whose properties some condition reads; None when a rule with a
    `where` takes events of any type (then every event's properties are read)."""
    types: set[str] = set()
    for rule in model.engagement.rules:
        if rule.where is not None:
            if not rule.event:
                return None
            types |= set(rule.event)
    for stage in model.stages:
        for node in no_event_nodes(stage.when):
            if node.where is not None:
                types |= set(node.types)
    return types


def _property(db, name: str, prop: str, texts: pl.Series, roots: pl.Series | None) -> pl.Series:
    """`records.property_value` of each event: the key `prop` itself, else a walk from its
    first segment through nested objects."""
    pick = prop if arrow.is_whole_document(db, prop) else None
    if roots is None:
        return arrow.decode_json(name, texts, pick)
    pairs = pl.DataFrame({"t": texts.cast(pl.String), "r": roots.cast(pl.String)})

    def value(t: str | None, r: str | None) -> object:
        if t is not None:
            found = json.loads(t)
            return found.get(prop) if pick is not None and isinstance(found, dict) else found
        if r is None:
            return None
        root = json.loads(r)
        if arrow.is_whole_document(db, prop.split(".")[0]):
            return property_value(root, prop) if isinstance(root, dict) else None
        return property_value({prop.split(".")[0]: root}, prop)

    distinct = pairs.unique(maintain_order=True)
    values = [value(t, r) for t, r in distinct.iter_rows()]
    typed = typed_series(name, values)
    keyed = distinct.with_row_index("k")
    index = pairs.join(keyed, on=["t", "r"], how="left", nulls_equal=True, maintain_order="left")[
        "k"
    ].to_numpy()
    if typed.dtype == pl.Object:
        return pl.Series(name, [values[k] for k in index], dtype=pl.Object)
    return typed.gather(index)


# --- scoring ------------------------------------------------------------------------------


def _score(ctx: Context, model: Model, version: int, chunk: _Chunk, as_of: int) -> pl.DataFrame:
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
        result["score"].alias("new_score"),
        result["fit"].alias("new_fit"),
        result["engagement"].alias("new_engagement"),
        result["grade"].alias("new_grade"),
        result["tier"].alias("new_tier"),
        result["stage"].alias("model_stage"),
        pinned,
    )
    return _lifecycle(model, out).with_columns(
        pl.lit(version, dtype=pl.Int64).alias("new_version"),
        pl.lit(as_of, dtype=pl.Int64).alias("scored_at_new"),
    )


def _probabilities(ctx: Context, model: Model, chunk: _Chunk, as_of: int) -> np.ndarray | None:
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


def _overrides(ctx: Context, first: int, last: int, as_of: int):
    """Per lead pk: the points of its adjustments in force, and its newest stage pin."""
    with ctx.db.read() as conn:
        in_force = stored_overrides.in_force_between(conn, first, last, as_of)
    points = {pk: [o.points for o in rows if o.kind == "points"] for pk, rows in in_force.items()}
    pins = {pk: pin.stage for pk, rows in in_force.items() if (pin := newest_pin(rows)) is not None}
    return {pk: p for pk, p in points.items() if p}, pins


def _lifecycle(model: Model, frame: pl.DataFrame) -> pl.DataFrame:
    """`next_stage` once per distinct (current stage, model's stage, pin)."""
    keys = ["lifecycle_stage", "model_stage", "new_pinned"]
    frame = frame.with_columns(pl.col("lifecycle_stage").cast(pl.String))
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
    return frame.join(moved, on=keys, how="left", nulls_equal=True, maintain_order="left")


# --- writing ------------------------------------------------------------------------------

_ROW_COLUMNS = (
    "pk", "old_scored_at", "old_updated_at", "score", "fit", "engagement", "grade", "tier",
    "stage", "lifecycle_stage", "pinned_stage", "model_version", "scored_at", "reported",
)  # fmt: skip


def _written(rows: pl.DataFrame) -> pl.DataFrame:
    """The leads to write (anything changed) in the temporary table's columns."""

    def differs(new: str, old: str) -> pl.Expr:
        return ~pl.col(new).eq_missing(pl.col(old))

    reported = (
        pl.col("model_version").is_null()
        | differs("new_score", "score")
        | differs("new_fit", "fit")
        | differs("new_engagement", "engagement")
        | differs("new_stage", "stage")
    )
    anything = (
        reported
        | differs("new_grade", "grade")
        | differs("new_tier", "tier")
        | differs("new_version", "model_version")
        | differs("new_lifecycle", "lifecycle_stage")
        | differs("new_pinned", "pinned_stage")
    )
    renamed = {"scored_at": "old_scored_at", "updated_at": "old_updated_at"}
    renamed |= {f"new_{name}": name for name in ("score", "fit", "engagement", "grade", "tier")}
    renamed |= {"new_stage": "stage", "new_lifecycle": "lifecycle_stage"}
    renamed |= {"new_pinned": "pinned_stage", "new_version": "model_version"}
    renamed |= {"scored_at_new": "scored_at"}
    return rows.filter(anything).select(
        pl.col("pk"),
        *(pl.col(old).alias(new) for old, new in renamed.items()),
        reported.cast(pl.Int64).alias("reported"),
    )


_TEMP_COLUMNS = """(
    pk BIGINT PRIMARY KEY, old_scored_at BIGINT, old_updated_at BIGINT,
    score DOUBLE PRECISION, fit DOUBLE PRECISION, engagement DOUBLE PRECISION,
    grade VARCHAR(50), tier VARCHAR(50), stage VARCHAR(100), lifecycle_stage VARCHAR(100),
    pinned_stage VARCHAR(100), model_version INTEGER, scored_at BIGINT, reported INTEGER)"""

_DROP_STALE = text(
    "DELETE FROM recompute_rows WHERE NOT EXISTS (SELECT 1 FROM leads l"
    " WHERE l.pk = recompute_rows.pk"
    " AND l.scored_at IS NOT DISTINCT FROM recompute_rows.old_scored_at"
    " AND l.updated_at = recompute_rows.old_updated_at)"
)
_UPDATE = text(
    "UPDATE leads SET score = r.score, fit = r.fit, engagement = r.engagement,"
    " grade = r.grade, tier = r.tier, stage = r.stage, lifecycle_stage = r.lifecycle_stage,"
    " pinned_stage = r.pinned_stage, model_version = r.model_version,"
    " scored_at = r.scored_at, explanation = NULL"
    " FROM recompute_rows r WHERE leads.pk = r.pk"
)
_HISTORY = text(
    "INSERT INTO score_history (lead_pk, at, score, fit, engagement, grade, tier, stage,"
    " model_version, cause_kind, cause_ref)"
    " SELECT pk, scored_at, score, fit, engagement, grade, tier, stage, model_version,"
    " :kind, :ref FROM recompute_rows WHERE reported = 1 ORDER BY pk"
)


def _write(ctx: Context, conn: Connection, rows: pl.DataFrame, kind: str, ref: str | None) -> int:
    """Write one chunk's changes; returns how many leads got a history row."""
    changes = _written(rows)
    if changes.height == 0:
        return 0
    if ctx.db.is_sqlite:
        conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS recompute_rows {_TEMP_COLUMNS}")
        conn.exec_driver_sql("DELETE FROM recompute_rows")
        marks = ", ".join("?" * len(_ROW_COLUMNS))
        cursor = conn.connection.driver_connection.cursor()
        try:
            cursor.executemany(f"INSERT INTO recompute_rows VALUES ({marks})", changes.iter_rows())
        finally:
            cursor.close()
    else:
        conn.exec_driver_sql(f"CREATE TEMP TABLE recompute_rows {_TEMP_COLUMNS} ON COMMIT DROP")
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY recompute_rows ({', '.join(_ROW_COLUMNS)}) FROM STDIN") as copy:
            for row in changes.iter_rows():
                copy.write_row(row)
        conn.exec_driver_sql(
            "SELECT l.pk FROM leads l JOIN recompute_rows r ON r.pk = l.pk"
            " ORDER BY l.pk FOR UPDATE OF l"
        )
    conn.execute(_DROP_STALE)
    conn.execute(_UPDATE)
    written = conn.execute(_HISTORY, {"kind": kind, "ref": ref}).rowcount
    if ctx.db.is_sqlite:
        conn.exec_driver_sql("DROP TABLE temp.recompute_rows")
    return written


# --- without an active model ----------------------------------------------------------------


def _stage_only(ctx, as_of, cause_kind, cause_ref, progress, between_batches) -> RecomputeReport:
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
