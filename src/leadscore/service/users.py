"""Dashboard users (issue 13): accounts with a role, passwords hashed with argon2id, and
login sessions kept in the database so that logging out (or removing a user) ends them at
once, which a signed cookie alone could not do.

The cookie holds a random token; the database keeps only its SHA-256, so reading the
sessions table does not let anyone log in. Every session carries its own CSRF token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from leadscore.core.languages import language_tag
from leadscore.core.timestamps import format_timestamp
from leadscore.service.context import Context
from leadscore.service.errors import Conflict, Invalid, NotFound, Problem
from leadscore.service.inputs import email_address
from leadscore.store import Connection, audit
from leadscore.store import users as stored_users

ROLES = ("viewer", "manager", "admin")
"""Each role may do what the ones before it may: viewers read, managers also act on leads
(overrides), admins also manage models, automations and settings."""
MIN_PASSWORD = 8
HASHER = PasswordHasher()
"""argon2id with argon2-cffi's defaults, RFC 9106's low-memory profile: 3 passes over
64 MiB with 4 lanes (about 50 ms per login on a laptop)."""
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))
"""Verified against when no such user exists, so that an unknown e-mail takes as long to
refuse as a wrong password (no user enumeration by timing)."""


@dataclass(frozen=True)
class WebUser:
    """A logged-in user as a request sees it: who, what role, and the session's CSRF token."""

    pk: int
    email: str
    role: str
    language: str | None
    csrf_token: str
    expires_at: int

    def allows(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def parse_role(role: str) -> str:
    if role not in ROLES:
        raise Invalid([Problem(("role",), f"role must be one of {', '.join(ROLES)}, not {role!r}")])
    return role


def parse_language(language: str | None) -> str | None:
    """A language we ship as its tag (`pl`, `sr-Latn`), or None (the browser's); Invalid
    naming the choices otherwise."""
    if language is None or not language.strip():
        return None
    try:
        return language_tag(language)
    except ValueError as exc:
        raise Invalid([Problem(("language",), str(exc))]) from None


def _checked(email: str, password: str, role: str) -> tuple[str, str]:
    problems = []
    try:
        address = email_address(email)
    except ValueError as exc:
        problems.append(Problem(("email",), str(exc)))
        address = ""
    if len(password) < MIN_PASSWORD:
        problems.append(Problem(("password",), f"at least {MIN_PASSWORD} characters"))
    if role not in ROLES:
        problems.append(Problem(("role",), f"one of {', '.join(ROLES)}, not {role!r}"))
    if problems:
        raise Invalid(problems)
    return address, HASHER.hash(password)


def create_user(
    ctx: Context,
    email: str,
    password: str,
    role: str,
    language: str | None = None,
    actor: str = "cli",
) -> dict[str, Any]:
    """Store a new user with an argon2 hash of the password (never the password)."""
    language = parse_language(language)
    address, hashed = _checked(email, password, role)
    now = ctx.now()

    def work(conn: Connection) -> None:
        if stored_users.by_email(conn, address) is not None:
            raise Conflict(f"a user {address!r} exists")
        stored_users.add(conn, address, hashed, role, language, now)
        audit.record(conn, now, actor, "user.create", address, role=role)

    ctx.db.transact(work)
    return {"email": address, "role": role, "language": language}


def ensure_user(ctx: Context, email: str, role: str, actor: str) -> str:
    """Create the user, or give the existing one a new password and end its sessions; the
    new random password (what `init-demo` prints: one demo password works at a time)."""
    password = secrets.token_urlsafe(12)
    address, hashed = _checked(email, password, role)
    now = ctx.now()

    def work(conn: Connection) -> None:
        found = stored_users.by_email(conn, address)
        if found is None:
            stored_users.add(conn, address, hashed, role, None, now)
            audit.record(conn, now, actor, "user.create", address, role=role)
        else:
            stored_users.set_password(conn, found.pk, hashed, now)
            stored_users.end_sessions_of(conn, found.pk)
            audit.record(conn, now, actor, "user.password", address)

    ctx.db.transact(work)
    return password


def set_role(ctx: Context, email: str, role: str, actor: str) -> dict[str, Any]:
    """Give a user another role; it applies to their next request (sessions read the role
    live). The last active admin keeps the role, so someone can always manage users."""
    parse_role(role)
    now = ctx.now()

    def work(conn: Connection) -> dict[str, Any]:
        found = stored_users.by_email(conn, email.strip().lower())
        if found is None:
            raise NotFound(f"no user {email!r}")
        if found.role == "admin" and role != "admin" and stored_users.active_admins(conn) <= 1:
            raise Conflict("the last admin keeps the admin role", ("role",))
        stored_users.set_role(conn, found.pk, role, now)
        audit.record(conn, now, actor, "user.role", found.email, role=role)
        return {"email": found.email, "role": role}

    return ctx.db.transact(work)


def set_language(ctx: Context, user: WebUser, language: str | None) -> str | None:
    """The dashboard language a user chose for themselves (None: their browser's)."""
    tag = parse_language(language)
    now = ctx.now()

    def work(conn: Connection) -> None:
        stored_users.set_language(conn, user.pk, tag, now)
        audit.record(conn, now, user.email, "user.language", user.email, language=tag)

    ctx.db.transact(work)
    return tag


def list_users(ctx: Context) -> list[dict[str, Any]]:
    with ctx.db.read() as conn:
        return [
            {
                "email": r.email,
                "role": r.role,
                "language": r.language,
                "active": bool(r.active),
                "created_at": format_timestamp(r.created_at),
            }
            for r in stored_users.every(conn)
        ]


# --- sessions ----------------------------------------------------------------------------


def session_key(token: str) -> str:
    """What the database keeps of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def log_in(ctx: Context, email: str, password: str) -> str | None:
    """A new session's token for the right e-mail and password of an active user; None
    otherwise, after the same work whichever part was wrong."""
    try:
        address = email_address(email)
    except ValueError:
        address = None
    with ctx.db.read() as conn:
        row = None if address is None else stored_users.by_email(conn, address)
    stored = row.password_hash if row is not None and row.active else _DUMMY_HASH
    try:
        HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None or not row.active:
        return None
    token = secrets.token_urlsafe(32)
    now = ctx.now()
    expires_at = now + int(ctx.settings.session_hours * 3600 * 1_000_000)
    rehash = HASHER.check_needs_rehash(row.password_hash)

    def work(conn: Connection) -> None:
        stored_users.prune_sessions(conn, now)
        stored_users.add_session(
            conn, session_key(token), row.pk, now, expires_at, secrets.token_urlsafe(32)
        )
        if rehash:  # the parameters were raised since: upgrade the hash while we know it
            stored_users.set_password(conn, row.pk, HASHER.hash(password), now)

    ctx.db.transact(work)
    return token


def session_user(ctx: Context, token: str) -> WebUser | None:
    """The user of a live session token; None when unknown, expired or the user inactive."""
    with ctx.db.read() as conn:
        row = stored_users.live_session(conn, session_key(token), ctx.now())
    if row is None:
        return None
    return WebUser(row.pk, row.email, row.role, row.language, row.csrf_token, row.expires_at)


def log_out(ctx: Context, token: str) -> None:
    ctx.db.transact(lambda conn: stored_users.end_session(conn, session_key(token)))
