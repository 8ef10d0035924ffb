"""GDPR: everything held on a person in one document (Art. 15/20), and their erasure
(Art. 17) with a suppression so that they are not silently created again.

The export reads in one snapshot; the erasure deletes in one transaction and leaves one audit
record, `lead.erase`, that holds a token (a keyed HMAC-SHA256 of the lead's id: it proves an
erasure happened to whoever knows the id, and reveals nothing to whoever does not) with the
counts of what was removed. On SQLite every connection runs with `secure_delete` (the deleted
rows are overwritten with zeros) and the erasure ends with a TRUNCATE checkpoint, so neither
the database file nor its log keeps the person's bytes; on PostgreSQL the deleted rows stay
as dead tuples until a VACUUM (`vacuum`, `leadscore gdpr vacuum`). docs/privacy.md says what
is proven and how.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import text

from leadscore.core.timestamps import format_timestamp
from leadscore.service import predictions, queries
from leadscore.service.context import Context
from leadscore.service.errors import NotFound
from leadscore.service.lists import person_name
from leadscore.service.scoring import override_dict
from leadscore.service.suppression import values_of
from leadscore.store import Connection, Row, audit
from leadscore.store import gdpr as stored
from leadscore.store import leads as stored_leads
from leadscore.store import suppressions as stored_suppressions

FORMAT_VERSION = 1
"""The export document's layout; raised when a field changes meaning or goes away."""
EXPLAINED = 1000
"""The newest score changes an export explains (each one scores the lead again: a lead with
tens of thousands of changes would take minutes); older ones have `explanation: null`."""


def _time(micros: int | None) -> str | None:
    return None if micros is None else format_timestamp(micros)


# --- export ------------------------------------------------------------------------------------


def export_lead(ctx: Context, lead_id: str) -> dict[str, Any]:
    """One JSON-ready document with everything stored on the lead (docs/privacy.md)."""
    with ctx.db.read() as conn:
        row = stored_leads.by_id(conn, lead_id)
        if row is None:
            raise NotFound(f"no lead {lead_id!r}")
        lead = queries.lead_dict(row, detail=True)
        if row.explanation is None and row.model_version is not None:
            lead["explanation"] = queries.derived_explanation(ctx, conn, row)
        mentions = stored.mentions_of([row.email, row.id])
        every_override = stored.lead_overrides(conn, row.pk)
        document = {
            "format_version": FORMAT_VERSION,
            "exported_at": format_timestamp(ctx.now()),
            "lead": lead,
            "events": [_event(e) for e in stored.lead_events(conn, row.pk)],
            "outcomes": [_outcome(o) for o in stored.lead_outcomes(conn, row.pk)],
            "score_history": _histories(ctx, conn, row),
            "prediction_snapshots": [_snapshot(p) for p in stored.snapshots(conn, row.pk)],
            "overrides": [_override(o) for o in every_override if o.kind != "stage"],
            "pins": [_override(o) for o in every_override if o.kind == "stage"],
            "lists": [_membership(m) for m in stored.memberships(conn, row.pk)],
            "outbox": [_outbox(o) for o in stored.outbox_rows(conn, row.pk, mentions)],
            "connector_records": [_record(r) for r in stored.connector_rows(conn, row.pk)],
            "tracked_visitors": [_visitor(v) for v in stored.visitor_rows(conn, row.pk)],
            "audit": [_audit(a) for a in stored.audit_rows(conn, row.id, mentions)],
        }
    # The active predictive model's, computed now (§7); the kept ones are the snapshots.
    document["prediction"] = predictions.predict_lead(ctx, lead_id)
    return document


def _event(row: Row) -> dict[str, Any]:
    return {
        "id": row.event_id,
        "type": row.type,
        "occurred_at": format_timestamp(row.occurred_at),
        "properties": row.properties,
        "source": row.source,
        "received_at": format_timestamp(row.received_at),
    }


def _visitor(row: Row) -> dict[str, Any]:
    return {
        "site": row.site,
        "visitor": row.visitor,
        "first_seen": format_timestamp(row.first_seen),
        "last_seen": format_timestamp(row.last_seen),
        "identified_at": _time(row.identified_at),
    }


def _outcome(row: Row) -> dict[str, Any]:
    return {
        "outcome": row.outcome,
        "occurred_at": format_timestamp(row.occurred_at),
        "value": row.value,
        "created_at": format_timestamp(row.created_at),
    }


def _snapshot(row: Row) -> dict[str, Any]:
    return {
        "model_version": row.model_version,
        "probability": row.probability,
        "scored_at": format_timestamp(row.scored_at),
        "recorded_at": format_timestamp(row.recorded_at),
        "source": row.source,
        "outcome_at": _time(row.outcome_at),
    }


def _histories(ctx: Context, conn: Connection, lead: Row) -> list[dict[str, Any]]:
    """Every score change, oldest first; the newest EXPLAINED with their explanation."""
    rows = stored.history(conn, lead.pk)
    first_explained = max(0, len(rows) - EXPLAINED)
    return [_history(ctx, conn, lead, h, i >= first_explained) for i, h in enumerate(rows)]


def _history(ctx: Context, conn: Connection, lead: Row, row: Row, explain: bool) -> dict[str, Any]:
    """A score change with its cause and its explanation, derived as GET /leads/{id} derives
    a lead's (the lead's events up to then, the overrides in force then, the model version
    of the change; attributes are the current ones: they are not versioned)."""
    explained = None
    if explain and row.model_version is not None:
        then = SimpleNamespace(**lead._asdict())
        then.model_version, then.scored_at = row.model_version, row.at
        explained = queries.derived_explanation(ctx, conn, cast(Row, then))
    return {**queries.history_dict(row), "explanation": explained}


def _override(row: Row) -> dict[str, Any]:
    """The override as the API shows it, and when and by whom it was deleted."""
    return {
        **override_dict(row),
        "deleted_at": _time(row.deleted_at),
        "deleted_by": row.deleted_by,
    }


def _membership(row: Row) -> dict[str, Any]:
    return {
        "list": row.name,
        "kind": row.kind,
        "added_at": format_timestamp(row.added_at),
        "added_by": row.added_by,
    }


def _outbox(row: Row) -> dict[str, Any]:
    return {
        "id": row.pk,
        "automation": row.automation,
        "action": row.action,
        "status": row.status,
        "created_at": format_timestamp(row.created_at),
        "delivered_at": _time(row.delivered_at),
        "trigger": row.trigger,
        "payload": row.payload,
        "result": row.result,
        "last_error": row.last_error,
    }


def _record(row: Row) -> dict[str, Any]:
    return {
        "connector": row.connector,
        "object": row.object,
        "crm_id": row.crm_id,
        "written": row.written,
        "written_at": _time(row.written_at),
        "read_at": _time(row.read_at),
        "deleted": row.deleted,
    }


def _audit(row: Row) -> dict[str, Any]:
    return {
        "at": format_timestamp(row.at),
        "actor": row.actor,
        "action": row.action,
        "target": row.target,
        "details": row.details,
    }


# --- erasure -----------------------------------------------------------------------------------


def erase_lead(ctx: Context, lead_id: str, actor: str) -> dict[str, Any]:
    """Erase the lead and everything derived from it in one transaction, suppress the person,
    and (SQLite) truncate the log. Returns the report the audit record holds, with the token."""
    now = ctx.now()

    def work(conn: Connection) -> dict[str, Any]:
        found = stored_leads.pks_by_id(conn, [lead_id]).get(lead_id)
        if found is None:
            raise NotFound(f"no lead {lead_id!r}")
        row = stored_leads.lock_whole(conn, found)
        salt = stored_suppressions.salt(ctx.db, conn, now)
        key = ctx.settings.secret_key.encode() if ctx.settings.secret_key else salt
        token = stored_suppressions.keyed(key, f"lead:{row.id}")
        externals = _external_ids(conn, row)
        models = stored.models_trained_with(conn, row.pk)
        removed = stored.delete_lead(conn, row.pk)
        # Rows are found by the lead's id or e-mail (a name alone may be someone else's);
        # in them, the name is replaced too.
        named = stored.mentions_of([row.email, row.id])
        replaced = stored.mentions_of([*named, person_name(row.attributes or {})])

        def scrub(value: Any) -> Any:
            return _replaced(value, replaced, token)

        scrubbed = {
            "outbox": stored.scrub_outbox(conn, named, scrub),
            "audit_log": stored.scrub_audit(conn, row.id, named, scrub),
            "connector_runs": stored.scrub_connector_runs(conn, named, scrub),
        }
        suppressed = [
            {"hash": stored_suppressions.keyed(key, value), "kind": kind, "token": token,
             "created_at": now, "reason": "erasure"}
            for kind, value in values_of(row.email, externals)
        ]  # fmt: skip
        stored_suppressions.add(ctx.db, conn, suppressed)
        report = {
            "token": token,
            "erased_at": format_timestamp(now),
            "removed": removed,
            "scrubbed": scrubbed,
            "suppressions": len(suppressed),
            "models_trained_with": [
                {
                    "version": m.version,
                    "name": m.name,
                    "active": m.active,
                    "created_at": format_timestamp(m.created_at),
                }
                for m in models
            ],  # fmt: skip
        }
        audit.record(conn, now, actor, "lead.erase", token, **report)
        return report

    report = ctx.db.transact(work)
    checkpoint = ctx.db.checkpoint_truncate()
    if checkpoint is not None:
        report["log_truncated"] = checkpoint[0] == 0
    report["vacuum_needed"] = ctx.db.is_postgres
    return report


def _external_ids(conn: Connection, row: Row) -> list[tuple[str, str]]:
    found = set(stored.external_ids(conn, row.pk))
    found |= {(str(s), str(e)) for s, e in (row.external_ids or {}).items()}
    return sorted(found)


def _replaced(value: Any, mentions: Sequence[str], token: str) -> Any:
    """`value` (JSON or text) with every mention replaced by the token."""
    if isinstance(value, str):
        for mention in mentions:
            value = value.replace(mention, token)
        return value
    if isinstance(value, list):
        return [_replaced(v, mentions, token) for v in value]
    if isinstance(value, dict):
        return {
            _replaced(k, mentions, token): _replaced(v, mentions, token) for k, v in value.items()
        }
    return value


# --- the documented step after erasures ----------------------------------------------------


def vacuum(ctx: Context) -> dict[str, Any]:
    """Make erased rows unrecoverable from the live database files.

    PostgreSQL: a VACUUM of the tables an erasure changes (and their TOAST tables and
    indexes), which removes the dead tuples; it runs outside a transaction, so on its own
    autocommit connection. SQLite: the search index's segments merged (FTS5 `optimize`: a
    deleted lead's trigrams stay in old segments until then) and the log truncated.
    Returns what was done and how long it took (seconds)."""
    started = time.perf_counter()
    if ctx.db.is_postgres:
        with ctx.db.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            tables = ", ".join(f'"{name}"' for name in stored.VACUUMED)
            conn.execute(text(f"VACUUM (INDEX_CLEANUP ON) {tables}"))
        done: dict[str, Any] = {"database": "postgresql", "vacuumed": list(stored.VACUUMED)}
    else:
        with ctx.db.write() as conn:
            stored.merge_search_index(conn)
        checkpoint = ctx.db.checkpoint_truncate()
        done = {
            "database": "sqlite",
            "search_index_merged": True,
            "log_truncated": checkpoint is not None and checkpoint[0] == 0,
        }
    done["seconds"] = round(time.perf_counter() - started, 3)
    return done


def lead_id_of(ctx: Context, name: str) -> str:
    """The id of the lead `name` names: its id, or its e-mail (the CLI takes either)."""
    from leadscore.service.inputs import email_address

    with ctx.db.read() as conn:
        if stored_leads.pks_by_id(conn, [name]):
            return name
        if "@" in name:
            try:
                email = email_address(name)
            except ValueError:
                email = name
            pk = stored_leads.pks_by_email(conn, [email]).get(email)
            row = None if pk is None else stored_leads.by_pk(conn, pk)
            if row is not None:
                return str(row.id)
    raise NotFound(f"no lead {name!r} (give its id or e-mail)")
