"""Dashboard users and their login sessions: rows only; hashing and rules are in
service/users.py."""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select, update

from leadscore.store.database import Row
from leadscore.store.tables import users, web_sessions


def by_email(conn: Connection, email: str) -> Row | None:
    return conn.execute(select(users).where(users.c.email == email)).one_or_none()


def add(
    conn: Connection, email: str, password_hash: str, role: str, language: str | None, now: int
) -> int:
    """Insert a user; its pk."""
    done = conn.execute(
        insert(users)
        .values(
            email=email,
            password_hash=password_hash,
            role=role,
            language=language,
            created_at=now,
            updated_at=now,
        )
        .returning(users.c.pk)
    )
    return int(done.scalar_one())


def set_password(conn: Connection, pk: int, password_hash: str, now: int) -> None:
    conn.execute(
        update(users).where(users.c.pk == pk).values(password_hash=password_hash, updated_at=now)
    )


def set_role(conn: Connection, pk: int, role: str, now: int) -> None:
    conn.execute(update(users).where(users.c.pk == pk).values(role=role, updated_at=now))


def set_language(conn: Connection, pk: int, language: str | None, now: int) -> None:
    conn.execute(update(users).where(users.c.pk == pk).values(language=language, updated_at=now))


def active_admins(conn: Connection) -> int:
    """How many active users are admins (the last one may not lose the role)."""
    found = conn.execute(
        select(users.c.pk).where(users.c.role == "admin", users.c.active.is_(True))
    )
    return len(found.all())


def every(conn: Connection) -> list[Row]:
    """Every user, by e-mail."""
    return list(conn.execute(select(users).order_by(users.c.email)))


# --- sessions ----------------------------------------------------------------------------


def add_session(
    conn: Connection, session_id: str, user_pk: int, now: int, expires_at: int, csrf: str
) -> None:
    conn.execute(
        insert(web_sessions).values(
            id=session_id, user_pk=user_pk, created_at=now, expires_at=expires_at, csrf_token=csrf
        )
    )


def live_session(conn: Connection, session_id: str, now: int) -> Row | None:
    """(csrf_token, expires_at, user pk, email, role, language) of an unexpired session of
    an active user."""
    query = (
        select(
            web_sessions.c.csrf_token,
            web_sessions.c.expires_at,
            users.c.pk,
            users.c.email,
            users.c.role,
            users.c.language,
        )
        .join(users, users.c.pk == web_sessions.c.user_pk)
        .where(
            (web_sessions.c.id == session_id)
            & (web_sessions.c.expires_at > now)
            & users.c.active.is_(True)
        )
    )
    return conn.execute(query).one_or_none()


def end_session(conn: Connection, session_id: str) -> None:
    conn.execute(delete(web_sessions).where(web_sessions.c.id == session_id))


def prune_sessions(conn: Connection, now: int) -> int:
    """Delete expired sessions; how many."""
    return conn.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now)).rowcount


def end_sessions_of(conn: Connection, user_pk: int) -> None:
    """End every session of a user (a new password)."""
    conn.execute(delete(web_sessions).where(web_sessions.c.user_pk == user_pk))
