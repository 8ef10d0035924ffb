"""API keys with scopes (§9): only a SHA-256 hash of a key is stored; the key itself is shown
once, when it is created.

Scopes: `read` (GET), `write` (ingest, overrides), `admin` (models, keys; implies the others).
A verified key is trusted for `api_key_cache_seconds` (5 s by default) before it is read
again, so a revocation takes effect within that time on every process — and at once in the
process that revoked it (its cache is emptied).
"""

from __future__ import annotations

import hashlib
import itertools
import re
import secrets
import time
from collections.abc import Iterable, Iterator
from typing import Annotated, Any, Literal

from pydantic import Field

from leadscore.core.timestamps import format_timestamp
from leadscore.service.context import Context
from leadscore.service.errors import Conflict, Invalid, NotFound, Problem
from leadscore.service.inputs import Input
from leadscore.service.principals import Principal
from leadscore.store import Connection, audit
from leadscore.store import api_keys as stored_keys

SCOPES = ("read", "write", "admin")
PREFIX = "lsk_"
KEY_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
KeyName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=KEY_NAME_PATTERN,
        description="Letters, digits, '.', '_' and '-' (a letter or digit first).",
    ),
]


class KeyIn(Input):
    """A new API key (POST /api/v1/keys)."""

    name: KeyName
    scopes: list[Literal["read", "write", "admin"]] = Field(
        min_length=1, max_length=3, description="admin implies read and write"
    )


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_scopes(text: str | Iterable[str]) -> list[str]:
    names = text.split(",") if isinstance(text, str) else list(text)
    scopes = {s.strip() for s in names if s.strip()}
    unknown = sorted(s for s in scopes if s not in SCOPES)
    if unknown or not scopes:
        message = f"scopes must be some of {', '.join(SCOPES)}, not {', '.join(unknown) or '∅'}"
        raise Invalid([Problem(("scopes",), message)])
    return [s for s in SCOPES if s in scopes]


def create_key(ctx: Context, name: str, scopes: str | Iterable[str], actor: str = "cli") -> str:
    """Store a new key's hash and return the key (the only time it is ever available)."""
    key: str = issue_key(ctx, name, scopes, actor)["key"]
    return key


def issue_key(
    ctx: Context, name: str, scopes: str | Iterable[str], actor: str = "cli"
) -> dict[str, Any]:
    """`create_key`, answered as the API shows it once: name, scopes, created_at and key."""
    chosen = parse_scopes(scopes)
    key = PREFIX + secrets.token_urlsafe(32)
    now = ctx.now()

    def work(conn: Connection) -> None:
        if stored_keys.named(conn, name):
            raise Conflict(f"an API key named {name!r} exists")
        stored_keys.add(conn, name, hash_key(key), ",".join(chosen), now)
        audit.record(conn, now, actor, "apikey.create", name, scopes=chosen)

    ctx.db.transact(work)
    return {"name": name, "scopes": chosen, "created_at": format_timestamp(now), "key": key}


def replace_key(
    ctx: Context, base: str, scopes: str | Iterable[str], actor: str = "cli"
) -> tuple[str, list[str]]:
    """Revoke every active key of the family `base` (named `base` or `base-N`) and create
    one new key in it, in one transaction: (the new key, the names revoked). So a command
    run again, such as `init-demo`, leaves exactly one working key behind."""
    chosen = parse_scopes(scopes)
    key = PREFIX + secrets.token_urlsafe(32)
    now = ctx.now()
    family = re.compile(rf"{re.escape(base)}(-\d+)?")

    def work(conn: Connection) -> tuple[str, list[str]]:
        rows = stored_keys.every(conn)
        revoked = [r.name for r in rows if family.fullmatch(r.name) and not r.revoked]
        for name in revoked:
            stored_keys.revoke(conn, name, now)
            audit.record(conn, now, actor, "apikey.revoke", name)
        taken = {r.name for r in rows}
        name = next(n for n in _names(base) if n not in taken)
        stored_keys.add(conn, name, hash_key(key), ",".join(chosen), now)
        audit.record(conn, now, actor, "apikey.create", name, scopes=chosen)
        return name, revoked

    name, revoked = ctx.db.transact(work)
    ctx.key_cache.clear()
    return key, revoked


def _names(base: str) -> Iterator[str]:
    """base, base-2, base-3, …"""
    yield base
    yield from (f"{base}-{n}" for n in itertools.count(2))


def revoke_key(ctx: Context, name: str, actor: str = "cli") -> None:
    now = ctx.now()

    def work(conn: Connection) -> None:
        if not stored_keys.revoke(conn, name, now):
            raise NotFound(f"no active API key named {name!r}")
        audit.record(conn, now, actor, "apikey.revoke", name)

    ctx.db.transact(work)
    ctx.key_cache.clear()


def list_keys(ctx: Context) -> list[dict[str, Any]]:
    with ctx.db.read() as conn:
        return [
            {
                "name": r.name,
                "scopes": r.scopes.split(","),
                "created_at": format_timestamp(r.created_at),
                "revoked": bool(r.revoked),
            }
            for r in stored_keys.every(conn)
        ]


def cached_principal(ctx: Context, key: str) -> Principal | None:
    """The principal of a key verified less than `api_key_cache_seconds` ago; None when the
    key must be read (unknown, expired, or never valid). It never touches the database, so the
    API answers it on its event loop and only goes to a thread for `authenticate`."""
    cached = ctx.key_cache.get(hash_key(key))
    if cached is not None and time.monotonic() - cached[1] < ctx.settings.api_key_cache_seconds:
        return cached[0]
    return None


def authenticate(ctx: Context, key: str) -> Principal | None:
    """The principal of a valid, unrevoked key; None for any other text."""
    principal = cached_principal(ctx, key)
    if principal is not None:
        return principal
    digest = hash_key(key)
    ttl = ctx.settings.api_key_cache_seconds
    with ctx.db.read() as conn:
        row = stored_keys.active_by_hash(conn, digest)
    if row is None:
        ctx.key_cache.pop(digest, None)
        return None
    principal = Principal(row.name, frozenset(row.scopes.split(",")))
    if ttl > 0:
        ctx.key_cache[digest] = (principal, time.monotonic())
    return principal
