"""API keys: the SHA-256 hash of each key, its scopes and whether it was revoked (the key
itself is never stored)."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select, update

from leadscore.store.database import Row
from leadscore.store.tables import api_keys


def named(conn: Connection, name: str) -> bool:
    """Whether a key (revoked or not) has this name."""
    return conn.scalar(select(api_keys.c.pk).where(api_keys.c.name == name)) is not None


def add(conn: Connection, name: str, key_hash: str, scopes: str, created_at: int) -> None:
    conn.execute(
        insert(api_keys).values(name=name, key_hash=key_hash, scopes=scopes, created_at=created_at)
    )


def revoke(conn: Connection, name: str, now: int) -> bool:
    """Revoke the active key of this name; False when there is none."""
    done = conn.execute(
        update(api_keys)
        .where((api_keys.c.name == name) & api_keys.c.revoked.is_(False))
        .values(revoked=True, revoked_at=now)
    )
    return done.rowcount != 0


def every(conn: Connection) -> list[Row]:
    """Every key row, oldest first."""
    return list(conn.execute(select(api_keys).order_by(api_keys.c.pk)))


def active_by_hash(conn: Connection, key_hash: str) -> Row | None:
    """(name, scopes) of the unrevoked key with this hash."""
    return conn.execute(
        select(api_keys.c.name, api_keys.c.scopes).where(
            (api_keys.c.key_hash == key_hash) & api_keys.c.revoked.is_(False)
        )
    ).one_or_none()
