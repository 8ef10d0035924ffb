"""Predictive scoring in the live service (SPEC §7): train a model version from the store's
leads and outcomes, list and activate versions, and predict for stored leads.

The store reads and writes (store/training.py, store/predictive_models.py) and `ml/` turns
frames into models and probabilities; this module carries one to the other, so that `ml/`
never sees a connection. The probability is shown beside the rule score; a scoring model
that says `predictive` blends it into its total (service/blending.py).
scikit-learn is imported only when a model is trained or loaded, never by the plain lookups.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeAlias

import polars as pl
from sqlalchemy import Connection, Row

from leadscore.core.records import Event
from leadscore.core.timestamps import format_timestamp
from leadscore.ml import store_model
from leadscore.ml.errors import MLInputError
from leadscore.ml.store_model import Predictor
from leadscore.ml.store_training import History
from leadscore.service.context import Context
from leadscore.service.errors import NotFound
from leadscore.store import audit
from leadscore.store import events as stored_events
from leadscore.store import predictive_models as stored_models
from leadscore.store import training as stored_training
from leadscore.store.frames import EVENT_SCHEMA, attributes_frame

LeadRow: TypeAlias = Row[*tuple[Any, ...]]
"""A stored lead row with (at least) `pk`, `id`, `email` and `attributes`."""

DEFAULT_NAME = "conversion"
log = logging.getLogger(__name__)


Progress = Callable[[float, str], None]
"""Told how far a training is (0..1) and what it is doing now."""
Saved = Callable[[Connection, dict[str, Any]], None]
"""Called with the new version (as `describe` gives it) inside the transaction that stores it;
an exception it raises rolls the version back."""


def train(
    ctx: Context,
    *,
    actor: str,
    name: str | None = None,
    exclude: Sequence[str] = (),
    activate: bool = True,
    seed: int = 42,
    folds: int | None = None,
    use_lightgbm: bool | None = None,
    progress: Progress | None = None,
    on_saved: Saved | None = None,
) -> dict[str, Any]:
    """Train on the store's history and store the result as a new version (active unless
    `activate` is False); returns it as `describe` gives it, with its card. Raises
    `MLInputError` for data that cannot train a model."""
    from leadscore.ml.artifact import clean_json
    from leadscore.ml.store_training import train_from_history

    told = progress or (lambda _fraction, _message: None)
    now = ctx.now()
    told(0.05, "reading the store's leads, events and outcomes")
    with ctx.db.read() as conn:
        history = History(*stored_training.read_history(conn))
    told(0.2, "training (cross-validation, then the final fit)")
    trained = train_from_history(
        history,
        trained_at=format_timestamp(now - now % 1_000_000),
        exclude=list(exclude),
        seed=seed,
        folds=folds,
        use_lightgbm=use_lightgbm,
    )
    told(0.9, "storing the model")

    def work(conn: Connection) -> dict[str, Any]:
        version = save_version(
            conn,
            model=trained.model,
            meta=trained.meta,
            card=trained.card,
            name=name or DEFAULT_NAME,
            created_at=now,
            created_by=actor,
            activate=activate,
        )
        audit.record(conn, now, actor, "predictive.train", str(version), active=activate)
        done = describe(
            {
                "version": version,
                "name": name or DEFAULT_NAME,
                "active": activate,
                "created_at": now,
                "created_by": actor,
                "card": clean_json(trained.card),  # as stored
            }
        )
        if on_saved is not None:
            on_saved(conn, done)
        return done

    return ctx.db.transact(work)


def save_version(
    conn: Connection,
    *,
    model: dict[str, Any],
    meta: dict[str, Any],
    card: dict[str, Any],
    name: str,
    created_at: int,
    created_by: str | None,
    activate: bool = True,
) -> int:
    """Store a trained model as a new version (active unless `activate` is False)."""
    version = stored_models.insert_version(
        conn,
        name=name,
        created_at=created_at,
        created_by=created_by,
        **store_model.stored_form(model, meta, card),
    )
    if activate:
        stored_models.activate(conn, version)
    return version


def load_predictor(conn: Connection, version: int | None = None) -> Predictor | None:
    """The predictor of `version`, or of the active version when None; None when there is
    no such version (or none is active). Loaded once per version (`store_model.CACHE`)."""
    found = stored_models.find(conn, version)
    if found is None:
        return None
    key = (conn.engine.url.render_as_string(hide_password=True), found.version, found.created_at)
    cached = store_model.CACHE.get(key)
    if cached is not None:
        return cached
    row = stored_models.read(conn, found.version)
    predictor = store_model.build_predictor(row.version, row.name, row.card, row.meta, row.artifact)
    store_model.CACHE.put(key, predictor)
    return predictor


def stored_predictor(ctx: Context, version: int | None = None) -> Predictor | None:
    """`load_predictor` in a read transaction of its own (for callers without one)."""
    with ctx.db.read() as conn:
        return load_predictor(conn, version)


def describe(row: dict[str, Any]) -> dict[str, Any]:
    """A version as the API and the CLI list it."""
    out = {
        "version": row["version"],
        "name": row["name"],
        "active": bool(row["active"]),
        "created_at": format_timestamp(row["created_at"]),
        "created_by": row["created_by"],
    }
    if "card" in row:
        out["summary"] = store_model.card_summary(row["card"])
        out["card"] = row["card"]
    return out


def list_models(ctx: Context, *, with_cards: bool = False) -> list[dict[str, Any]]:
    with ctx.db.read() as conn:
        return [describe(r) for r in stored_models.list_versions(conn, with_cards=with_cards)]


def activate(ctx: Context, version: int, actor: str) -> dict[str, Any]:
    """Make `version` the active predictive model."""
    now = ctx.now()

    def work(conn: Connection) -> None:
        try:
            stored_models.activate(conn, version)
        except LookupError:
            raise NotFound(f"no predictive model version {version}") from None
        audit.record(conn, now, actor, "predictive.activate", str(version))

    ctx.db.transact(work)
    return {"version": version, "active": True}


def predict_leads(
    conn: Connection, ctx: Context, rows: Sequence[LeadRow], as_of: int
) -> dict[str, dict[str, Any]]:
    """Lead id → `{model_version, probability, score, reasons}` for stored lead rows (with
    `pk`, `id`, `email`, `attributes`), from their events before `as_of`, by the active
    predictive model; empty when none is active."""
    if not rows:
        return {}
    predictor = load_predictor(conn)
    if predictor is None:
        return {}
    by_pk = stored_events.for_leads(conn, ctx.event_types, [r.pk for r in rows], until=as_of)
    frame, events = lead_frames(rows, by_pk)
    table = predictor.predict(frame, events, as_of)
    return {
        row["lead_id"]: {
            "model_version": predictor.version,
            "probability": row["probability"],
            "score": row["score"],
            "reasons": row["reasons"],
        }
        for row in table.iter_rows(named=True)
    }


def lead_frames(
    rows: Sequence[LeadRow], by_pk: Mapping[int, Sequence[Event]]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(leads, events) frames of stored lead rows and their events, as predictors read them:
    the one way every path builds them (service/blending.py)."""
    frame = attributes_frame(
        [r.id for r in rows], [r.email for r in rows], [r.attributes for r in rows]
    )
    id_of = {r.pk: r.id for r in rows}
    pairs = [(id_of[pk], e) for pk, evs in by_pk.items() if pk in id_of for e in evs]
    events = pl.DataFrame(
        {
            "lead_id": [lead_id for lead_id, _ in pairs],
            "type": [e.type for _, e in pairs],
            "occurred_at": [e.occurred_at for _, e in pairs],
        },
        schema=EVENT_SCHEMA,
    )
    return frame, events


def predict_lead(ctx: Context, lead_id: str, as_of: int | None = None) -> dict[str, Any] | None:
    """The active predictive model's prediction for one lead now (or at `as_of`); None when
    no predictive model is active."""
    moment = ctx.now() if as_of is None else as_of
    with ctx.db.read() as conn:
        row = stored_training.read_lead(conn, lead_id)
        if row is None:
            raise NotFound(f"no lead {lead_id!r}")
        try:
            return predict_leads(conn, ctx, [row], moment).get(lead_id)
        except MLInputError as exc:  # e.g. a LightGBM model on a server without LightGBM
            log.warning("no prediction for lead %r: %s", lead_id, exc)
            return None
