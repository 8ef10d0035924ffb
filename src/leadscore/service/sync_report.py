"""What a CRM sync, push or webhook delivery did: counts and the first errors, each naming
its CRM record (kept in connector_runs and shown by the API, the CLI and the dashboard)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_ERRORS = 20
"""Errors named in a run's record (all are counted)."""

Progress = Callable[[str, int], None]
"""(what, how many so far): the CLI's progress bar."""


@dataclass
class Report:
    connector: str
    full: bool = False
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def error(self, message: str) -> None:
        self.counts["errors"] += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message)

    def as_dict(self) -> dict[str, Any]:
        return {
            "connector": self.connector,
            "full": self.full,
            "counts": dict(self.counts),
            "errors": list(self.errors),
        }


def actor(name: str) -> str:
    """Who the audit log names for a connector's writes."""
    return f"connector:{name}"
