"""Manual overrides by a person (§4): points added to the score with a reason, an author and
an optional expiry (a core `Adjustment`), or a pinned stage that scoring does not move (the
`pinned` argument of `core.lifecycle.next_stage`). Both are audited and appear in the
explanation; deleting one keeps its row (deleted_at) so that as-of scores stay exact."""

from __future__ import annotations

from typing import Any

from leadscore.core.timestamps import format_timestamp
from leadscore.service.context import Context
from leadscore.service.errors import Conflict, NotFound
from leadscore.service.inputs import OverrideIn
from leadscore.service.scoring import Cause, Change, override_dict, rescore
from leadscore.store import Connection, audit
from leadscore.store import leads as stored_leads
from leadscore.store import overrides as stored_overrides


def add_override(
    ctx: Context, lead_id: str, item: OverrideIn, actor: str
) -> tuple[dict[str, Any], Change]:
    now = ctx.now()
    if item.expires_at is not None and item.expires_at <= now:
        # Well formed, but the clock has passed it: a conflict with the present (409), as a
        # request that was valid a moment ago is not malformed.
        raise Conflict(
            f"expires_at {format_timestamp(item.expires_at)} has passed (now:"
            f" {format_timestamp(now)}); an override that has expired would never be in force",
            ("body", "expires_at"),
        )

    def work(conn: Connection) -> tuple[dict[str, Any], Change]:
        pk = _lead_pk(conn, lead_id)
        author = item.author or actor
        if item.stage is not None:  # one pin at a time: a new pin replaces the old one
            stored_overrides.unpin(conn, pk, now, author)
        row = stored_overrides.add(
            conn,
            pk,
            points=item.points,
            stage=item.stage,
            reason=item.reason,
            author=author,
            created_at=now,
            expires_at=item.expires_at,
        )
        details = override_dict(row)
        audit.record(conn, now, actor, "override.add", lead_id, **details)
        change = _rescore(conn, ctx, pk, row.pk)
        return details, change

    return ctx.db.transact(work)


def delete_override(ctx: Context, lead_id: str, override_pk: int, actor: str) -> Change:
    now = ctx.now()

    def work(conn: Connection) -> Change:
        pk = _lead_pk(conn, lead_id)
        row = stored_overrides.current(conn, pk, override_pk, now)
        if row is None:
            raise NotFound(f"lead {lead_id!r} has no override {override_pk} in force")
        stored_overrides.delete(conn, override_pk, now, actor)
        audit.record(conn, now, actor, "override.delete", lead_id, **override_dict(row))
        return _rescore(conn, ctx, pk, override_pk)

    return ctx.db.transact(work)


def _lead_pk(conn: Connection, lead_id: str) -> int:
    pk = stored_leads.pks_by_id(conn, [lead_id]).get(lead_id)
    if pk is None:
        raise NotFound(f"no lead {lead_id!r}")
    return pk


def _rescore(conn: Connection, ctx: Context, pk: int, override_pk: int) -> Change:
    rows = stored_leads.lock(conn, [pk])
    return rescore(conn, ctx, [rows[pk]], None, Cause("override", str(override_pk)))[0]
