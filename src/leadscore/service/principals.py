"""Who is calling the service: the name and scopes of a verified API key. Its own module so
that the context's key cache (service/context.py) and the keys (service/keys.py) both name
it without importing each other."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's name and its scopes."""

    name: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes
