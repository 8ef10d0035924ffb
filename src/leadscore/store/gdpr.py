"""What the store holds on one lead, read whole (GDPR Art. 15/20 export) and deleted whole
(Art. 17 erasure), and the rows elsewhere that name the lead in their text.

The erasure deletes explicitly, table by table, rather than trusting the foreign keys'
ON DELETE CASCADE, so that it can count what it removed; the rows that only *mention* the
person (a digest's outbox payload, an audit entry, a connector run's error) are not theirs
to delete and get the mention replaced by the erasure's token instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, String, Table, cast, delete, or_, select, update

from leadscore.store.database import Row
from leadscore.store.tables import (
    SEARCH_TABLE,
    audit_log,
    connector_records,
    connector_runs,
    event_types,
    events,
    lead_external_ids,
    leads,
    list_members,
    lists,
    outbox,
    outcomes,
    overrides,
    prediction_snapshots,
    predictive_models,
    score_history,
    tracking_visitors,
)

OWN_TABLES: tuple[Table, ...] = (
    events,
    score_history,
    overrides,
    outcomes,
    list_members,
    outbox,
    connector_records,
    lead_external_ids,
    prediction_snapshots,
    tracking_visitors,  # the website visitors identified as the lead (issue 17)
)
"""The tables whose rows belong to one lead (by `lead_pk`), deleted with it."""

VACUUMED: tuple[str, ...] = (
    "leads",
    *(t.name for t in OWN_TABLES),
    "audit_log",
    "connector_runs",
    "suppressions",
)
"""The tables an erasure changes: PostgreSQL's targeted VACUUM (docs/privacy.md)."""


def lead_events(conn: Connection, pk: int) -> list[Row]:
    query = (
        select(
            events.c.event_id,
            event_types.c.name.label("type"),
            events.c.occurred_at,
            events.c.properties,
            events.c.source,
            events.c.received_at,
        )
        .join(event_types, event_types.c.id == events.c.type_id)
        .where(events.c.lead_pk == pk)
        .order_by(events.c.occurred_at, events.c.pk)
    )
    return list(conn.execute(query))


def history(conn: Connection, pk: int) -> list[Row]:
    query = select(score_history).where(score_history.c.lead_pk == pk)
    return list(conn.execute(query.order_by(score_history.c.at, score_history.c.pk)))


def lead_overrides(conn: Connection, pk: int) -> list[Row]:
    query = select(overrides).where(overrides.c.lead_pk == pk).order_by(overrides.c.pk)
    return list(conn.execute(query))


def lead_outcomes(conn: Connection, pk: int) -> list[Row]:
    query = select(outcomes).where(outcomes.c.lead_pk == pk).order_by(outcomes.c.pk)
    return list(conn.execute(query))


def snapshots(conn: Connection, pk: int) -> list[Row]:
    """The lead's pre-outcome probabilities, one per predictive model version (issue 16)."""
    t = prediction_snapshots
    return list(conn.execute(select(t).where(t.c.lead_pk == pk).order_by(t.c.model_version)))


def memberships(conn: Connection, pk: int) -> list[Row]:
    query = (
        select(lists.c.name, lists.c.kind, list_members.c.added_at, list_members.c.added_by)
        .join(lists, lists.c.pk == list_members.c.list_pk)
        .where(list_members.c.lead_pk == pk)
        .order_by(list_members.c.added_at, lists.c.name)
    )
    return list(conn.execute(query))


def outbox_rows(conn: Connection, pk: int, mentions: Sequence[str]) -> list[Row]:
    """The lead's outbox rows, and the others (digests) whose text mentions it."""
    named = _mentioning(conn, (outbox.c.trigger, outbox.c.payload, outbox.c.result), mentions)
    query = select(outbox).where(or_(outbox.c.lead_pk == pk, named)).order_by(outbox.c.pk)
    return list(conn.execute(query))


def connector_rows(conn: Connection, pk: int) -> list[Row]:
    t = connector_records
    query = select(t).where(t.c.lead_pk == pk).order_by(t.c.connector, t.c.object, t.c.crm_id)
    return list(conn.execute(query))


def visitor_rows(conn: Connection, pk: int) -> list[Row]:
    """The website visitors identified as the lead (docs/sources.md#website-tracking)."""
    t = tracking_visitors
    query = select(t).where(t.c.lead_pk == pk).order_by(t.c.site, t.c.first_seen, t.c.pk)
    return list(conn.execute(query))


def audit_rows(conn: Connection, lead_id: str, mentions: Sequence[str]) -> list[Row]:
    """The audit entries whose target is the lead or whose details mention it."""
    named = _mentioning(conn, (audit_log.c.details,), mentions)
    query = select(audit_log).where(or_(audit_log.c.target == lead_id, named))
    return list(conn.execute(query.order_by(audit_log.c.at, audit_log.c.pk)))


def _mentioning(
    conn: Connection, columns: Sequence[ColumnElement[Any]], mentions: Sequence[str]
) -> ColumnElement[bool]:
    """Any of the JSON `columns`, as text, contains any of `mentions` (a scan: erasures and
    exports are rare, and these tables are not the events table)."""
    needles = [m for m in mentions if m]
    return or_(
        *(
            _as_text(conn, column).contains(needle, autoescape=True)
            for column in columns
            for needle in needles
        )
    )


def _as_text(conn: Connection, column: ColumnElement[Any]) -> ColumnElement[str]:
    # PostgreSQL: jsonb's text; SQLite keeps the JSON text itself
    return cast(column, String)


def external_ids(conn: Connection, pk: int) -> list[tuple[str, str]]:
    t = lead_external_ids
    rows = conn.execute(select(t.c.source, t.c.external_id).where(t.c.lead_pk == pk))
    return [(str(source), str(external_id)) for source, external_id in rows]


def merge_search_index(conn: Connection) -> None:
    """SQLite: merge the lead search index's segments (FTS5 `optimize`), which drops what
    deleted leads left in the old ones (migration 0009)."""
    conn.exec_driver_sql(f"INSERT INTO {SEARCH_TABLE} ({SEARCH_TABLE}) VALUES ('optimize')")


def models_trained_with(conn: Connection, pk: int) -> list[Row]:
    """The stored predictive models trained with this lead: a model reads every lead with an
    outcome when it is trained (store/training.py), so it was trained with the lead when the
    lead had an outcome recorded (`created_at`) at or before the model's `created_at`."""
    first = select(outcomes.c.created_at).where(outcomes.c.lead_pk == pk)
    earliest = conn.scalar(first.order_by(outcomes.c.created_at).limit(1))
    if earliest is None:
        return []
    t = predictive_models
    query = select(t.c.version, t.c.name, t.c.created_at, t.c.active)
    return list(conn.execute(query.where(t.c.created_at >= earliest).order_by(t.c.version)))


def delete_lead(conn: Connection, pk: int) -> dict[str, int]:
    """Delete the lead and every row of its own, counted by table."""
    counts: dict[str, int] = {}
    for table in OWN_TABLES:
        counts[table.name] = conn.execute(delete(table).where(table.c.lead_pk == pk)).rowcount
    counts["leads"] = conn.execute(delete(leads).where(leads.c.pk == pk)).rowcount
    return counts


Scrub = Callable[[Any], Any]
"""Replaces every mention in a JSON value (or text) by the token."""


def scrub_outbox(conn: Connection, mentions: Sequence[str], scrub: Scrub) -> int:
    """Replace the mentions in the other outbox rows (digests) that name the lead."""
    columns = (outbox.c.trigger, outbox.c.payload, outbox.c.result)
    named = _mentioning(conn, columns, mentions)
    rows = conn.execute(select(outbox.c.pk, *columns, outbox.c.last_error).where(named)).all()
    for row in rows:
        values = {
            "trigger": scrub(row.trigger),
            "payload": scrub(row.payload),
            "result": scrub(row.result),
            "last_error": scrub(row.last_error),
        }
        conn.execute(update(outbox).where(outbox.c.pk == row.pk).values(**values))
    return len(rows)


def scrub_audit(conn: Connection, lead_id: str, mentions: Sequence[str], scrub: Scrub) -> int:
    """Replace the lead's id and personal data in the audit entries that name it."""
    rows = audit_rows(conn, lead_id, mentions)
    for row in rows:
        values = {"target": scrub(row.target), "details": scrub(row.details)}
        conn.execute(update(audit_log).where(audit_log.c.pk == row.pk).values(**values))
    return len(rows)


def scrub_connector_runs(conn: Connection, mentions: Sequence[str], scrub: Scrub) -> int:
    """Replace the mentions in the connector runs' errors and counts (a sync names the
    records it could not take)."""
    t = connector_runs
    named = or_(
        _mentioning(conn, (t.c.counts,), mentions),
        *(t.c.error.contains(m, autoescape=True) for m in mentions if m),
    )
    rows = conn.execute(select(t.c.pk, t.c.counts, t.c.error).where(named)).all()
    for row in rows:
        values = {"counts": scrub(row.counts), "error": scrub(row.error)}
        conn.execute(update(t).where(t.c.pk == row.pk).values(**values))
    return len(rows)


def mentions_of(values: Iterable[str | None]) -> list[str]:
    """The non-empty, distinct texts to look for, longest first (so that a name inside an
    e-mail is replaced as part of the e-mail)."""
    return sorted({v for v in values if v}, key=lambda v: (-len(v), v))
