"""Refusing to create a lead for a person who was erased (GDPR Art. 17), unless they come
back with new consent.

An erasure writes a suppression for the person's e-mail and each external id (a keyed hash,
store/suppressions.py). Every path that creates a lead — a lead upsert, an event for an
unknown e-mail or external id, an import, a CRM sync — asks `refused` first, with all the
people it is about to create at once: one query per batch, and none at all for events of
leads that exist. A person whose request carries consent given after the erasure is let in:
the suppression is lifted and the lift audited (`suppression.lift`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from leadscore.service.context import Context
from leadscore.service.errors import Conflict, Loc
from leadscore.store import Connection, audit
from leadscore.store import suppressions as stored

KINDS = {"email": "email", "external": "external_ids"}
"""A suppression's kind → the input field it refuses."""


class Erased(Conflict):
    """A lead would be created for a person who was erased (HTTP 409, naming the field)."""


@dataclass(frozen=True)
class Newcomer:
    """A person about to become a lead: how they are known, and the consent they bring."""

    email: str | None
    externals: Sequence[tuple[str, str]] = ()
    consent_given_at: int | None = None


def values_of(email: str | None, externals: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """(kind, text hashed) of a person's e-mail and external ids."""
    found = [("email", f"email:{email}")] if email else []
    return found + [("external", f"external:{source}:{ext}") for source, ext in externals]


def keys(ctx: Context, conn: Connection) -> list[bytes]:
    """The keys suppressions may be hashed under: the secret, then the database's salt."""
    found = [ctx.settings.secret_key.encode()] if ctx.settings.secret_key else []
    salt = stored.known_salt(ctx.db, conn)
    return found if salt is None else [*found, salt]


def refused(
    conn: Connection,
    ctx: Context,
    people: Sequence[Newcomer],
    now: int,
    actor: str,
    *,
    lift: bool = True,
) -> dict[int, str]:
    """index → the field ("email" or "external_ids") of each person who was erased and brings
    no consent given after the erasure. The others' suppressions, if any, are lifted (unless
    `lift` is False: a look ahead, before the transaction that creates them)."""
    if not people:
        return {}
    hashed = keys(ctx, conn)
    if not hashed:
        return {}
    wanted: list[list[tuple[str, str]]] = []  # per person: (kind, hash)
    for person in people:
        values = values_of(person.email, person.externals)
        wanted.append([(kind, stored.keyed(k, text)) for kind, text in values for k in hashed])
    found = stored.found(conn, (h for pairs in wanted for _, h in pairs))
    if not found:
        return {}
    out: dict[int, str] = {}
    for index, (person, pairs) in enumerate(zip(people, wanted, strict=True)):
        matched = [(kind, found[h]) for kind, h in pairs if h in found]
        if not matched:
            continue
        erased_at = max(row.created_at for _, row in matched)
        given = person.consent_given_at
        if given is not None and given > erased_at:
            if not lift:
                continue
            tokens = sorted({row.token for _, row in matched})
            lifted = stored.lift(conn, tokens)
            for token in tokens:
                audit.record(
                    conn, now, actor, "suppression.lift", token, reason="new consent",
                    consent_given_at=given, lifted=lifted,
                )  # fmt: skip
            continue
        out[index] = KINDS[matched[0][0]]
    return out


def refusal(field: str, loc: Loc = ()) -> Erased:
    """The error for a refused person, naming the field."""
    return Erased(
        f"{field}: this person's data was erased (GDPR) and cannot be recorded again without"
        " new consent: send consent with a given_at after the erasure",
        loc,
    )
