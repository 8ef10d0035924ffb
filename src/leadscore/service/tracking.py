"""Website tracking (§8): what becomes of a beacon t.js sends (docs/sources.md).

A beacon of an anonymous visitor is kept on the visitor (`tracking_events`). When the
visitor is identified — a form submitted with an e-mail field, or an e-mail link's signed
`ls_t` token — its whole history and the identifying beacon are written as the lead's events
in one transaction through `service.sources.receive_in` (so the lead is rescored once and
automations fire), the visitor is linked to the lead and its anonymous rows dropped. Event
ids derive from the beacons' own ids, so a second merge or a replayed beacon adds nothing.
Later beacons of an identified visitor go straight to the lead. Visitors never identified
are deleted `tracking.anonymous_days` after their last beacon (`purge`, run by the endpoint
at most hourly and by `leadscore tracking purge`).

The endpoint's own state — the bot matcher, the per (site key, IP) token buckets — lives
here per context, in memory: one process's limit (several workers each count their own).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from leadscore.core import tracking as rules
from leadscore.core.submissions import Submission
from leadscore.service import metrics
from leadscore.service.context import Context
from leadscore.service.sources import Configured, Unsigned, configured, prepared, receive_in
from leadscore.store import Connection
from leadscore.store import leads as stored_leads
from leadscore.store import tracking as stored

EXTRA = "tracking"
SOURCE = "tracking"
DAY = 86_400_000_000
PURGE_EVERY = 3600.0
"""Seconds between two purges of stale anonymous visitors run by the endpoint."""
MAX_BUCKETS = 100_000
"""Token buckets kept before the full ones are dropped (bounded memory under a flood)."""

BEACONS = metrics.TRACKING_BEACONS


def bot_patterns() -> list[str]:
    """The shipped list of robot User-Agent patterns (src/leadscore/data)."""
    text = resources.files("leadscore").joinpath("data/bot_user_agents.txt").read_text("utf-8")
    return text.splitlines()


@dataclass
class Runtime:
    """The endpoint's state for one sources file."""

    source: Configured
    matcher: re.Pattern[str]
    buckets: dict[tuple[str, str], rules.Bucket] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    purged_at: float = float("-inf")

    def close(self) -> None:  # Context.reset_caches calls it
        self.buckets.clear()


def runtime(ctx: Context) -> Runtime:
    source = configured(ctx)
    found = ctx.extras.get(EXTRA)
    if not isinstance(found, Runtime) or found.source is not source:
        matcher = rules.bot_matcher([*bot_patterns(), *source.file.tracking.bot_patterns])
        found = ctx.extras[EXTRA] = Runtime(source, matcher)
    return found


def site(ctx: Context, key: str) -> tuple[str, rules.Site]:
    """The site of this public key, or Unsigned (401)."""
    found = runtime(ctx).source.file.tracking.site_of(key)
    if found is None:
        raise Unsigned("no tracked site has this key (tracking.sites in the sources file)")
    return found


def is_bot(ctx: Context, user_agent: str | None) -> bool:
    return rules.is_bot(user_agent, runtime(ctx).matcher)


def retry_after(ctx: Context, key: str, ip: str, per_minute: int) -> float:
    """0 when this (site key, IP) may send one more beacon now, else the seconds to wait."""
    state = runtime(ctx)
    now = time.monotonic()
    with state.lock:
        if len(state.buckets) > MAX_BUCKETS:
            state.buckets = {k: b for k, b in state.buckets.items() if now - b.at < 60}
        bucket, wait = rules.take(state.buckets.get((key, ip)), per_minute, now)
        state.buckets[(key, ip)] = bucket
    return wait


def link_token(ctx: Context, email: str, days: float) -> str:
    """An e-mail link's `ls_t` token for this address, valid `days` days."""
    secret = ctx.settings.secret_key
    if not secret:
        raise Unsigned("LEADSCORE_SECRET_KEY is not set: it signs e-mail link tokens")
    expires = ctx.now() // 1_000_000 + int(days * 86_400)
    return rules.make_token(email, expires, secret)


def _token_email(ctx: Context, token: str) -> str:
    secret = ctx.settings.secret_key
    if not secret:
        raise Unsigned("LEADSCORE_SECRET_KEY is not set: e-mail link tokens cannot be checked")
    try:
        return rules.read_token(token, ctx.now() // 1_000_000, secret)
    except rules.TokenError as exc:
        raise Unsigned(f"ls_t: {exc}") from None


def accept(ctx: Context, site_name: str, site_cfg: rules.Site, beacon: rules.Beacon) -> str:
    """Store one beacon; what became of it: stored (anonymous), lead, duplicate, or
    suppressed (an erased person identified again: the visitor is forgotten)."""
    email = _token_email(ctx, beacon.token) if beacon.token else beacon.email
    now = ctx.now()
    type_ids = ctx.event_types.ensure(ctx.db, set(rules.EVENT_TYPES.values()))
    outcome = ctx.db.transact(
        lambda conn: _accept_in(conn, ctx, site_name, beacon, email, now, type_ids)
    )
    BEACONS.labels("lead" if outcome == "stored_lead" else outcome).inc()
    _maybe_purge(ctx)
    return "lead" if outcome == "stored_lead" else outcome


def _accept_in(
    conn: Connection,
    ctx: Context,
    site_name: str,
    beacon: rules.Beacon,
    email: str | None,
    now: int,
    type_ids: dict[str, int],
) -> str:
    row = stored.visitor(conn, site_name, beacon.visitor, now)
    eid = rules.event_id(site_name, beacon.visitor, beacon.id)
    kind = rules.EVENT_TYPES[beacon.type]
    props = rules.event_properties(beacon, site_name)
    if email is None and row.lead_pk is not None:
        lead = stored_leads.by_pk(conn, row.lead_pk)
        email = lead.email if lead is not None else None
    if email is None:  # anonymous: kept on the visitor until identified
        added = stored.add_event(
            conn,
            {
                "visitor_pk": row.pk,
                "event_id": eid,
                "type": kind,
                "occurred_at": now,
                "url": beacon.url,
                "title": beacon.title,
                "referrer": beacon.referrer,
                "properties": props,
            },
        )
        return "stored" if added else "duplicate"
    history = stored.events_of(conn, row.pk)
    submissions = [
        Submission(SOURCE, h.type, h.event_id, h.occurred_at, email, properties=h.properties)
        for h in history
    ]
    submissions.append(Submission(SOURCE, kind, eid, now, email, properties=props))
    pairs = prepared(submissions, now, "beacon")
    results = receive_in(conn, ctx, pairs, [True] * len(pairs), type_ids, now,
                         f"tracking:{site_name}")  # fmt: skip
    last = results[-1]
    if last.status == "suppressed":
        stored.forget(conn, [row.pk])
        return "suppressed"
    found = stored_leads.pks_by_id(conn, [last.lead_id]) if last.lead_id else {}
    lead_pk = found.get(last.lead_id or "")
    if lead_pk is not None and (row.lead_pk != lead_pk or history):
        stored.identify(conn, row.pk, lead_pk, now)
    return "duplicate" if last.status == "duplicate" else "stored_lead"


def purge(ctx: Context) -> int:
    """Delete the anonymous visitors (and their beacons) never identified whose last beacon
    is older than `tracking.anonymous_days`; how many were deleted."""
    days = configured(ctx).file.tracking.anonymous_days
    before = ctx.now() - days * DAY
    total = 0
    while True:
        gone = ctx.db.transact(lambda conn: stored.forget(conn, stored.stale(conn, before)))
        total += gone
        if gone == 0:
            return total


def _maybe_purge(ctx: Context) -> None:
    state = runtime(ctx)
    now = time.monotonic()
    with state.lock:
        if now - state.purged_at < PURGE_EVERY:
            return
        state.purged_at = now
    purge(ctx)


def counts(ctx: Context) -> dict[str, Any]:
    """Visitors and anonymous beacons stored (tests, the bench)."""
    with ctx.db.read() as conn:
        visitors, beacons = stored.counts(conn)
    return {"visitors": visitors, "anonymous_beacons": beacons}
