"""The suppressions of erased people (GDPR Art. 17, migration 0011) and the key of their
hashes.

A suppression is a keyed hash (HMAC-SHA256) of a normalised e-mail or external id, never the
value. The key is LEADSCORE_SECRET_KEY when set, else a random salt kept in `privacy_salt`
(made on first use). A lookup hashes the candidates under every key there is (the secret and
the salt), so suppressions written before a secret was set still match.

The salt is read once per `Database` and cached: lookups run on lead creation, which must
cost one query per batch (the suppressions themselves), not two.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Row, delete, select

from leadscore.store.database import Database
from leadscore.store.leads import chunks
from leadscore.store.tables import privacy_salt, suppressions

_SALTS: weakref.WeakKeyDictionary[Database, bytes] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def salt(db: Database, conn: Connection, now: int) -> bytes:
    """This database's salt, made (in `conn`'s transaction) if it has none."""
    found = conn.scalar(select(privacy_salt.c.salt).where(privacy_salt.c.id == 1))
    if found is None:
        made = secrets.token_hex(32)
        conn.execute(db.insert_ignore(privacy_salt), {"id": 1, "salt": made, "created_at": now})
        found = conn.scalar(select(privacy_salt.c.salt).where(privacy_salt.c.id == 1))
    value = bytes.fromhex(str(found))
    with _LOCK:
        _SALTS[db] = value
    return value


def known_salt(db: Database, conn: Connection) -> bytes | None:
    """The salt if this database has one (cached after the first read); None: no salt, so no
    suppression was ever keyed with one."""
    with _LOCK:
        cached = _SALTS.get(db)
    if cached is not None:
        return cached
    found = conn.scalar(select(privacy_salt.c.salt).where(privacy_salt.c.id == 1))
    if found is None:
        return None
    value = bytes.fromhex(str(found))
    with _LOCK:
        _SALTS[db] = value
    return value


def forget_salt(db: Database) -> None:
    """Drop the cached salt (after the table was emptied, e.g. by a test's reset)."""
    with _LOCK:
        _SALTS.pop(db, None)


def keyed(key: bytes, value: str) -> str:
    """The hex HMAC-SHA256 of `value` under `key`."""
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def found(conn: Connection, hashes: Iterable[str]) -> dict[str, Row[Any, Any, Any]]:
    """hash → (hash, created_at, token) of the suppressions among `hashes` (one query for up
    to a thousand hashes)."""
    wanted = sorted(set(hashes))
    rows: dict[str, Row[Any, Any, Any]] = {}
    for part in chunks(wanted):
        query = select(suppressions.c.hash, suppressions.c.created_at, suppressions.c.token)
        for row in conn.execute(query.where(suppressions.c.hash.in_(part))):
            rows[row.hash] = row
    return rows


def add(db: Database, conn: Connection, rows: Sequence[Mapping[str, object]]) -> None:
    """Write suppressions (one already there is kept)."""
    if rows:
        conn.execute(db.insert_ignore(suppressions), list(rows))


def lift(conn: Connection, tokens: Iterable[str]) -> int:
    """Remove every suppression of these erasures (the person came back with new consent)."""
    wanted = sorted(set(tokens))
    if not wanted:
        return 0
    return conn.execute(delete(suppressions).where(suppressions.c.token.in_(wanted))).rowcount
