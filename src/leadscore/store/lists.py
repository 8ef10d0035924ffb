"""Lists and nurture sequences, and their members: the leads added to each, when and by whom.

A list is created on first use (`ensure`): two transactions creating the same one at once
both end with the one row (PostgreSQL makes the second insert wait for the first and skip).
A lead is a member of a list at most once (the key is (list, lead)).
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, func, select

from leadscore.store import pages
from leadscore.store.database import Row, insert_ignore
from leadscore.store.tables import leads, list_members, lists

MEMBER_COLUMNS = (
    list_members.c.lead_pk,
    list_members.c.added_at,
    list_members.c.added_by,
    leads.c.id,
    leads.c.email,
    leads.c.attributes,
    leads.c.score,
    leads.c.tier,
    leads.c.stage,
    leads.c.owner,
    leads.c.model_version,
)
"""What a list's member page and export show of each lead."""


def ensure(
    conn: Connection, name: str, kind: str, now: int, description: str | None = None
) -> tuple[Row, bool]:
    """(the list of this name, whether this call created it) — created with `kind` and
    `description` when absent; an existing list is returned as it is, whatever its kind."""
    values = {"name": name, "kind": kind, "description": description, "created_at": now}
    statement = insert_ignore(conn, lists).returning(lists.c.pk)
    created = conn.execute(statement, [values]).first() is not None
    found = by_name(conn, name)
    assert found is not None  # inserted, or there already
    return found, created


def by_name(conn: Connection, name: str) -> Row | None:
    return conn.execute(select(lists).where(lists.c.name == name)).one_or_none()


def every(conn: Connection) -> list[Row]:
    """Every list by name, with its number of members (`members`)."""
    count = (
        select(list_members.c.list_pk, func.count().label("members"))
        .group_by(list_members.c.list_pk)
        .subquery()
    )
    query = (
        select(lists, func.coalesce(count.c.members, 0).label("members"))
        .outerjoin(count, count.c.list_pk == lists.c.pk)
        .order_by(lists.c.name)
    )
    return list(conn.execute(query))


def size(conn: Connection, list_pk: int) -> int:
    query = select(func.count()).select_from(list_members).where(list_members.c.list_pk == list_pk)
    return int(conn.scalar(query) or 0)


def add_member(conn: Connection, list_pk: int, lead_pk: int, by: str, now: int) -> bool:
    """Add a lead to a list; False when it is a member already (nothing changes)."""
    row = {"list_pk": list_pk, "lead_pk": lead_pk, "added_at": now, "added_by": by}
    statement = insert_ignore(conn, list_members).returning(list_members.c.lead_pk)
    return conn.execute(statement, row).first() is not None  # (rowcount is -1 on psycopg)


def remove_member(conn: Connection, list_pk: int, lead_pk: int) -> bool:
    """Take a lead out of a list; False when it was not a member."""
    done = conn.execute(
        delete(list_members).where(
            (list_members.c.list_pk == list_pk) & (list_members.c.lead_pk == lead_pk)
        )
    )
    return done.rowcount == 1


def lead_id(conn: Connection, lead_pk: int) -> str | None:
    """The public id of a lead (to name it in the audit log)."""
    return conn.scalar(select(leads.c.id).where(leads.c.pk == lead_pk))


def page(conn: Connection, list_pk: int, after: tuple[int, int] | None, limit: int) -> list[Row]:
    """Up to `limit` members in the order they were added (added_at, then lead key), after
    the keyset `after` (added_at, lead pk), each with the lead's columns `MEMBER_COLUMNS`."""
    query = (
        select(*MEMBER_COLUMNS)
        .join(leads, leads.c.pk == list_members.c.lead_pk)
        .where(list_members.c.list_pk == list_pk)
    )
    if after is not None:
        query = query.where(
            pages.after(list_members.c.added_at, list_members.c.lead_pk, *after, descending=False)
        )
    order = (list_members.c.added_at, list_members.c.lead_pk)
    return list(conn.execute(query.order_by(*order).limit(limit)))
