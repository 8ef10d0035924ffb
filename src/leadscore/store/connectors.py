"""What the connectors keep (§8): sync cursors, the CRM records linked to leads with what was
last written to them, the runs, and encrypted secrets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from leadscore.store.database import Row
from leadscore.store.leads import chunks
from leadscore.store.tables import (
    connector_cursors,
    connector_records,
    connector_runs,
    connector_secrets,
    leads,
    owners,
)


def _upsert(conn: Connection, table: Any, row: Mapping[str, Any], keys: Sequence[str]) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**row)
    changes = {k: v for k, v in row.items() if k not in keys}
    conn.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=changes))


# --- cursors --------------------------------------------------------------------------------


def cursor(conn: Connection, connector: str, obj: str) -> str | None:
    t = connector_cursors
    query = select(t.c.cursor).where(and_(t.c.connector == connector, t.c.object == obj))
    return conn.scalar(query)


def set_cursor(conn: Connection, connector: str, obj: str, value: str, now: int) -> None:
    row = {"connector": connector, "object": obj, "cursor": value, "updated_at": now}
    _upsert(conn, connector_cursors, row, ("connector", "object"))


def cursors(conn: Connection, connector: str) -> dict[str, tuple[str, int]]:
    """object → (cursor, when it was written)."""
    t = connector_cursors
    query = select(t.c.object, t.c.cursor, t.c.updated_at).where(t.c.connector == connector)
    return {o: (c, at) for o, c, at in conn.execute(query)}


def clear_cursors(conn: Connection, connector: str) -> None:
    conn.execute(delete(connector_cursors).where(connector_cursors.c.connector == connector))


# --- linked records -------------------------------------------------------------------------


def link(conn: Connection, connector: str, obj: str, crm_id: str, lead_pk: int, now: int) -> None:
    """Link a CRM record to a lead (again): read now, not deleted; what was written stays."""
    t = connector_records
    key = and_(t.c.connector == connector, t.c.object == obj, t.c.crm_id == crm_id)
    found = conn.execute(select(t.c.lead_pk).where(key)).first()
    if found is None:
        conn.execute(
            t.insert().values(
                connector=connector,
                object=obj,
                crm_id=crm_id,
                lead_pk=lead_pk,
                written={},
                read_at=now,
                deleted=False,
            )
        )
        return
    values: dict[str, Any] = {"read_at": now, "deleted": False}
    if found.lead_pk != lead_pk:  # the record now names another lead: start its writes afresh
        values.update(lead_pk=lead_pk, written={}, written_at=None)
    conn.execute(update(t).where(key).values(**values))


def mark_deleted(conn: Connection, connector: str, obj: str, crm_id: str, now: int) -> bool:
    t = connector_records
    key = and_(t.c.connector == connector, t.c.object == obj, t.c.crm_id == crm_id)
    done = conn.execute(update(t).where(key).values(deleted=True, read_at=now))
    return bool(done.rowcount)


def for_leads(conn: Connection, connector: str, lead_pks: Iterable[int]) -> list[Row]:
    """The live (not deleted) records linked to these leads: object, crm_id, lead_pk, written."""
    t = connector_records
    rows: list[Row] = []
    for part in chunks(sorted(set(lead_pks))):
        query = (
            select(t.c.object, t.c.crm_id, t.c.lead_pk, t.c.written)
            .where(and_(t.c.connector == connector, t.c.lead_pk.in_(part), ~t.c.deleted))
            .order_by(t.c.lead_pk, t.c.object, t.c.crm_id)
        )
        rows.extend(conn.execute(query))
    return rows


def linked_leads(conn: Connection, connector: str, after: int, limit: int) -> list[int]:
    """Lead pks with a live record, ascending after `after` (the push walks them in pages)."""
    t = connector_records
    query = (
        select(t.c.lead_pk)
        .where(and_(t.c.connector == connector, t.c.lead_pk > after, ~t.c.deleted))
        .group_by(t.c.lead_pk)
        .order_by(t.c.lead_pk)
        .limit(limit)
    )
    return list(conn.scalars(query))


def record_written(
    conn: Connection,
    connector: str,
    written: Sequence[tuple[str, str, Mapping[str, Any]]],
    now: int,
) -> None:
    """Merge fields just written into each record's `written` (object, crm_id, fields)."""
    t = connector_records
    for part in chunks(list(written)):
        keys = [(o, c) for o, c, _ in part]
        query = select(t.c.object, t.c.crm_id, t.c.written).where(
            and_(t.c.connector == connector, tuple_(t.c.object, t.c.crm_id).in_(keys))
        )
        current = {(o, c): w for o, c, w in conn.execute(query)}
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for obj, crm_id, fields in part:
            if (obj, crm_id) in current:
                base = merged.get((obj, crm_id), current[(obj, crm_id)])
                merged[(obj, crm_id)] = {**base, **fields}
        if merged:
            conn.execute(
                update(t)
                .where(
                    and_(
                        t.c.connector == connector,
                        t.c.object == bindparam("o"),
                        t.c.crm_id == bindparam("c"),
                    )
                )
                .values(written=bindparam("w"), written_at=now),
                [{"o": o, "c": c, "w": w} for (o, c), w in merged.items()],
            )


def counts(conn: Connection, connector: str) -> dict[str, int]:
    t = connector_records
    query = (
        select(t.c.object, t.c.deleted, func.count())
        .where(t.c.connector == connector)
        .group_by(t.c.object, t.c.deleted)
    )
    found: dict[str, int] = {}
    for obj, deleted, n in conn.execute(query):
        key = f"{obj} deleted" if deleted else obj
        found[key] = found.get(key, 0) + int(n)
    return found


# --- runs -----------------------------------------------------------------------------------


def start_run(conn: Connection, connector: str, kind: str, full: bool, now: int) -> int:
    t = connector_runs
    result = conn.execute(
        t.insert()
        .values(
            connector=connector, kind=kind, full=full, started_at=now, status="running", counts={}
        )
        .returning(t.c.pk)
    )
    return int(result.scalar_one())


def finish_run(
    conn: Connection,
    pk: int,
    now: int,
    status: str,
    counts: Mapping[str, Any],
    error: str | None = None,
) -> None:
    t = connector_runs
    conn.execute(
        update(t)
        .where(t.c.pk == pk)
        .values(finished_at=now, status=status, counts=dict(counts), error=error)
    )


def runs(conn: Connection, connector: str, limit: int = 10, kind: str | None = None) -> list[Row]:
    t = connector_runs
    where = t.c.connector == connector
    if kind is not None:
        where = and_(where, t.c.kind == kind)
    query = select(t).where(where).order_by(t.c.started_at.desc(), t.c.pk.desc()).limit(limit)
    return list(conn.execute(query))


# --- secrets --------------------------------------------------------------------------------


def set_secret(conn: Connection, connector: str, name: str, ciphertext: str, now: int) -> None:
    row = {"connector": connector, "name": name, "ciphertext": ciphertext, "updated_at": now}
    _upsert(conn, connector_secrets, row, ("connector", "name"))


def delete_secret(conn: Connection, connector: str, name: str) -> bool:
    t = connector_secrets
    done = conn.execute(delete(t).where(and_(t.c.connector == connector, t.c.name == name)))
    return bool(done.rowcount)


def secrets(conn: Connection) -> dict[str, dict[str, str]]:
    """connector → name → ciphertext."""
    t = connector_secrets
    found: dict[str, dict[str, str]] = {}
    for connector, name, ciphertext in conn.execute(
        select(t.c.connector, t.c.name, t.c.ciphertext)
    ):
        found.setdefault(connector, {})[name] = ciphertext
    return found


def lead_values(conn: Connection, pks: Iterable[int]) -> dict[int, dict[str, Any]]:
    """What out fields may write, per lead pk: id, score, fit, engagement, grade, tier, stage,
    owner and the owner's e-mail."""
    found: dict[int, dict[str, Any]] = {}
    for part in chunks(sorted(set(pks))):
        query = (
            select(
                leads.c.pk,
                leads.c.id,
                leads.c.score,
                leads.c.fit,
                leads.c.engagement,
                leads.c.grade,
                leads.c.tier,
                leads.c.stage,
                leads.c.owner,
                leads.c.model_version,
                owners.c.email.label("owner_email"),
            )
            .select_from(leads.outerjoin(owners, owners.c.id == leads.c.owner))
            .where(leads.c.pk.in_(part))
        )
        for row in conn.execute(query):
            found[row.pk] = dict(row._mapping)
    return found


def link_many(
    conn: Connection, connector: str, records: Sequence[tuple[str, str, int]], now: int
) -> None:
    """`link` for a page of (object, crm id, lead pk): the new ones inserted at once, the
    known ones marked read at once; a record now naming another lead starts afresh."""
    t = connector_records
    if not records:
        return
    known: dict[tuple[str, str], int] = {}
    for part in chunks(list({(o, c) for o, c, _ in records})):
        query = select(t.c.object, t.c.crm_id, t.c.lead_pk).where(
            and_(t.c.connector == connector, tuple_(t.c.object, t.c.crm_id).in_(part))
        )
        known.update({(o, c): pk for o, c, pk in conn.execute(query)})
    new = {(o, c): pk for o, c, pk in records if (o, c) not in known}
    if new:
        conn.execute(
            t.insert(),
            [
                {
                    "connector": connector,
                    "object": o,
                    "crm_id": c,
                    "lead_pk": pk,
                    "written": {},
                    "read_at": now,
                    "deleted": False,
                }
                for (o, c), pk in new.items()
            ],
        )
    same = [(o, c) for o, c, pk in records if known.get((o, c)) == pk]
    if same:
        conn.execute(
            update(t)
            .where(
                and_(
                    t.c.connector == connector,
                    t.c.object == bindparam("o"),
                    t.c.crm_id == bindparam("c"),
                )
            )
            .values(read_at=now, deleted=False),
            [{"o": o, "c": c} for o, c in same],
        )
    for o, c, pk in records:
        if (o, c) in known and known[(o, c)] != pk:
            link(conn, connector, o, c, pk, now)
