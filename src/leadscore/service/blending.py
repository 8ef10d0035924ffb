"""The probabilities a scoring model blends into its total (`predictive`, SPEC §7).

Every path that scores stored leads — the live rescoring of service/scoring.py, the as-of
score and the bulk recompute — asks here, with the same frames (`predictions.lead_frames`,
or in the recompute the same `store.frames.attributes_frame` of the same attributes), so
that a lead gets the same probability, hence the same total, whichever path scores it. A
model that names a version the store lacks (or `active` when none is active) blends
nothing: its rule totals stand, and the explanation has no `predictive` line.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl
from sqlalchemy import Connection

from leadscore.core.model import Model
from leadscore.core.records import Event
from leadscore.ml.errors import MLInputError
from leadscore.ml.store_model import Predictor
from leadscore.service import predictions
from leadscore.service.predictions import LeadRow

log = logging.getLogger(__name__)


def predictor_for(conn: Connection, model: Model) -> Predictor | None:
    """The predictive model version `model` blends, when it blends one that exists."""
    if model.blend is None or model.predictive is None:
        return None
    named = model.predictive.model
    if isinstance(named, str) and named.strip().lower() == "active":
        version = None
    else:
        try:
            version = int(named)
        except (TypeError, ValueError):
            log.warning("predictive.model %r is not a version number or 'active'", named)
            return None
    try:
        return predictions.load_predictor(conn, version)
    except MLInputError as exc:  # e.g. a LightGBM model on a server without LightGBM
        log.warning("not blending predictive model %s: %s", named, exc)
        return None


def probabilities_at(
    conn: Connection, model: Model, row: LeadRow, events: Sequence[Event], times: Sequence[int]
) -> list[float]:
    """The probability to blend (NaN: none) into one stored lead's score at each of `times`:
    `for_stored` at each time, with the predictor looked up and the frames built once (the
    lifecycle fold asks at every event time of a lead)."""
    if model.blend is None or not times:
        return [np.nan] * len(times)
    predictor = predictor_for(conn, model)
    if predictor is None:
        return [np.nan] * len(times)
    frame, table = predictions.lead_frames([row], {row.pk: events})
    return [
        float(
            predictor.predict(frame, table, t)["probability"].cast(pl.Float64).fill_null(np.nan)[0]
        )
        for t in times
    ]


def probabilities(
    conn: Connection, model: Model, leads: pl.DataFrame, events: pl.DataFrame | None, as_of: int
) -> np.ndarray | None:
    """Per row of `leads` the probability to blend (NaN: none), or None: nothing to blend."""
    return blended(conn, model, leads, events, as_of)[1]


def blended(
    conn: Connection, model: Model, leads: pl.DataFrame, events: pl.DataFrame | None, as_of: int
) -> tuple[int | None, np.ndarray | None]:
    """`probabilities`, with the predictive version they came from (None: none blended), for
    the rescoring's snapshots (service/monitoring.py)."""
    if model.blend is None:
        return None, None
    predictor = predictor_for(conn, model)
    if predictor is None:
        return None, np.full(leads.height, np.nan)
    table = predictor.predict(leads, events, as_of)
    return predictor.version, table["probability"].cast(pl.Float64).fill_null(np.nan).to_numpy()


def for_stored(
    conn: Connection,
    model: Model,
    rows: Sequence[LeadRow],
    by_pk: Mapping[int, Sequence[Event]],
    as_of: int,
) -> np.ndarray | None:
    """`probabilities` of stored lead rows and their events (by lead pk)."""
    return blended_stored(conn, model, rows, by_pk, as_of)[1]


def blended_stored(
    conn: Connection,
    model: Model,
    rows: Sequence[LeadRow],
    by_pk: Mapping[int, Sequence[Event]],
    as_of: int,
) -> tuple[int | None, np.ndarray | None]:
    """`blended` of stored lead rows and their events (by lead pk)."""
    if model.blend is None:
        return None, None
    frame, events = predictions.lead_frames(rows, by_pk)
    return blended(conn, model, frame, events, as_of)
