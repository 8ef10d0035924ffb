"""Owners (the people leads are assigned to), teams (ordered groups of owners with a
round-robin cursor) and owners' loads (their open leads).

Locks, for concurrent assignments on PostgreSQL: a team row is locked before its cursor is
read (`team(…, lock=True)`), and its members' owner rows in key order (`lock_members`) before
their loads are counted, so that two transactions assigning from the same team or to the
same person take turns and each sees what the other committed. SQLite serialises writers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import Connection, delete, func, insert, or_, select, update

from leadscore.core.assignment import CLOSED_STAGES
from leadscore.store.database import Row, insert_ignore
from leadscore.store.tables import leads, owners, team_members, teams

# --- owners --------------------------------------------------------------------------------


def add_owner(conn: Connection, values: Mapping[str, object]) -> Row | None:
    """Insert an owner; None when one with its id exists (the caller says 409)."""
    statement = insert_ignore(conn, owners).returning(owners.c.pk)
    if conn.execute(statement, [dict(values)]).first() is None:
        return None
    return conn.execute(select(owners).where(owners.c.id == values["id"])).one()


def owner(conn: Connection, owner_id: str, *, lock: bool = False) -> Row | None:
    """The owner with this id (its row locked on PostgreSQL when `lock`)."""
    query = select(owners).where(owners.c.id == owner_id)
    if lock:
        query = query.with_for_update()
    return conn.execute(query).one_or_none()


def owners_by_id(conn: Connection, owner_ids: Iterable[str]) -> dict[str, Row]:
    wanted = sorted(set(owner_ids))
    if not wanted:
        return {}
    return {r.id: r for r in conn.execute(select(owners).where(owners.c.id.in_(wanted)))}


def lock_members(conn: Connection, team_pk: int) -> None:
    """Lock the owner rows of a team's members, in key order."""
    member_pks = select(team_members.c.owner_pk).where(team_members.c.team_pk == team_pk)
    conn.execute(
        select(owners.c.pk)
        .where(owners.c.pk.in_(member_pks))
        .order_by(owners.c.pk)
        .with_for_update()
    ).all()


def change_owner(conn: Connection, pk: int, now: int, **values: object) -> Row:
    """Set columns of one owner, stamping `updated_at`; the row as it is now."""
    conn.execute(update(owners).where(owners.c.pk == pk).values(updated_at=now, **values))
    return conn.execute(select(owners).where(owners.c.pk == pk)).one()


def every_owner(conn: Connection) -> list[Row]:
    """Every owner, by id."""
    return list(conn.execute(select(owners).order_by(owners.c.id)))


def loads(conn: Connection, owner_ids: Iterable[str]) -> dict[str, int]:
    """owner id → open leads (owned, and not at a closed stage); 0 for those owning none."""
    wanted = sorted(set(owner_ids))
    found = dict.fromkeys(wanted, 0)
    if wanted:
        query = (
            select(leads.c.owner, func.count())
            .where(
                leads.c.owner.in_(wanted),
                or_(leads.c.stage.is_(None), leads.c.stage.not_in(CLOSED_STAGES)),
            )
            .group_by(leads.c.owner)
        )
        found.update({owner_id: count for owner_id, count in conn.execute(query)})
    return found


def teams_of(conn: Connection, owner_pks: Iterable[int]) -> dict[int, list[str]]:
    """owner pk → the names of their teams, sorted."""
    wanted = sorted(set(owner_pks))
    found: dict[int, list[str]] = {pk: [] for pk in wanted}
    if wanted:
        query = (
            select(team_members.c.owner_pk, teams.c.name)
            .join(teams, teams.c.pk == team_members.c.team_pk)
            .where(team_members.c.owner_pk.in_(wanted))
            .order_by(teams.c.name)
        )
        for owner_pk, name in conn.execute(query):
            found[owner_pk].append(name)
    return found


def lead_to_assign(conn: Connection, lead_pk: int) -> Row | None:
    """What assignment reads of a lead (id, e-mail, attributes, owner), its row locked."""
    query = (
        select(leads.c.pk, leads.c.id, leads.c.email, leads.c.attributes, leads.c.owner)
        .where(leads.c.pk == lead_pk)
        .with_for_update()
    )
    return conn.execute(query).one_or_none()


# --- teams ---------------------------------------------------------------------------------


def add_team(conn: Connection, name: str, now: int) -> Row | None:
    """Insert a team; None when one of this name exists."""
    statement = insert_ignore(conn, teams).returning(teams.c.pk)
    if conn.execute(statement, [{"name": name, "created_at": now}]).first() is None:
        return None
    return team(conn, name)


def team(conn: Connection, name: str, *, lock: bool = False) -> Row | None:
    """The team of this name (locked on PostgreSQL when `lock`: before reading its cursor)."""
    query = select(teams).where(teams.c.name == name)
    if lock:
        query = query.with_for_update()
    return conn.execute(query).one_or_none()


def every_team(conn: Connection) -> list[Row]:
    """Every team, by name."""
    return list(conn.execute(select(teams).order_by(teams.c.name)))


def members(conn: Connection, team_pks: Sequence[int]) -> dict[int, list[Row]]:
    """team pk → its members' owner rows (with `position`) in position order."""
    found: dict[int, list[Row]] = {pk: [] for pk in team_pks}
    if team_pks:
        query = (
            select(team_members.c.team_pk, team_members.c.position, owners)
            .join(owners, owners.c.pk == team_members.c.owner_pk)
            .where(team_members.c.team_pk.in_(sorted(set(team_pks))))
            .order_by(team_members.c.team_pk, team_members.c.position)
        )
        for row in conn.execute(query):
            found[row.team_pk].append(row)
    return found


def set_members(conn: Connection, team_pk: int, owner_pks: Sequence[int]) -> None:
    """Make these owners the team's members, in this order."""
    conn.execute(delete(team_members).where(team_members.c.team_pk == team_pk))
    if owner_pks:
        rows = [
            {"team_pk": team_pk, "owner_pk": pk, "position": i} for i, pk in enumerate(owner_pks)
        ]
        conn.execute(insert(team_members), rows)


def add_member(conn: Connection, team_pk: int, owner_pk: int) -> bool:
    """Append an owner to a team; False when they are a member already. (The caller holds
    the team's lock, so that two appends do not take the same position.)"""
    last = conn.scalar(
        select(func.max(team_members.c.position)).where(team_members.c.team_pk == team_pk)
    )
    row = {"team_pk": team_pk, "owner_pk": owner_pk, "position": 0 if last is None else last + 1}
    statement = insert_ignore(conn, team_members).returning(team_members.c.owner_pk)
    return conn.execute(statement, row).first() is not None  # (rowcount is -1 on psycopg)


def remove_member(conn: Connection, team_pk: int, owner_pk: int) -> bool:
    """Take an owner out of a team (the others keep their order); False when not a member."""
    done = conn.execute(
        delete(team_members).where(
            (team_members.c.team_pk == team_pk) & (team_members.c.owner_pk == owner_pk)
        )
    )
    return done.rowcount == 1


def set_cursor(conn: Connection, team_pk: int, owner_pk: int) -> None:
    """Remember the member round-robin assigned last."""
    conn.execute(update(teams).where(teams.c.pk == team_pk).values(rr_last_owner=owner_pk))
