"""The drift report of a predictive model version over the service's recent leads (SPEC §7).

The window is the leads created in the last `days` days or with an event that occurred in
them, the newest created first, at most `limit`. Their features are computed as the live
predictor computes them now (service/predictions.lead_frames, events up to now), and
compared with the version's training profile by `ml.drift`. The API serves it
(`GET /api/v1/predictive-models/{v}/drift`); the retraining job calls `drift_for_version`.
"""

from __future__ import annotations

from typing import Any

from leadscore.core.timestamps import format_timestamp
from leadscore.ml.drift import profile_of
from leadscore.ml.errors import MLInputError
from leadscore.service.context import Context
from leadscore.service.errors import Conflict, NotFound
from leadscore.service.predictions import lead_frames, load_predictor
from leadscore.store import events as stored_events
from leadscore.store import training as stored_training

DEFAULT_DAYS = 30
DEFAULT_LIMIT = 5000
MICROS_PER_DAY = 86_400_000_000


def drift_for_version(ctx: Context, version: int, days: int, limit: int) -> dict[str, Any]:
    """The drift report of `version` over the recent window: `version`, `window` (days,
    since, until, limit), `leads`, then the report of `ml.drift.report` (`rows`,
    `thresholds`, `drifted`, `moderate`, `features`, `not_checked`, `training_rows`).
    `NotFound` for an unknown version; `Conflict` for one trained before profiles existed
    (or that cannot be loaded here, e.g. a LightGBM model without LightGBM)."""
    now = ctx.now()
    since = now - days * MICROS_PER_DAY
    with ctx.db.read() as conn:
        try:
            predictor = load_predictor(conn, version)
            if predictor is None:
                raise NotFound(f"no predictive model version {version}")
            profile_of(predictor.meta, f"predictive model version {version}")
        except MLInputError as exc:  # no profile, or e.g. LightGBM missing on this server
            raise Conflict(str(exc)) from None
        rows = stored_training.recent_leads(conn, since, limit)
        by_pk = stored_events.for_leads(conn, ctx.event_types, [r.pk for r in rows], until=now)
    frame, events = lead_frames(rows, by_pk)
    found = predictor.drift(frame, events, now)
    return {
        "version": version,
        "window": {
            "days": days,
            "since": format_timestamp(since),
            "until": format_timestamp(now),
            "limit": limit,
        },
        "leads": len(rows),
        **found,
    }
