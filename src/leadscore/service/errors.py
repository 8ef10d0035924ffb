"""What a use case reports when it cannot do what was asked; the API maps each to a status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

Loc: TypeAlias = tuple[str | int, ...]
"""Where a bad value was, as pydantic says it: ("body", "events", 3, "type")."""


class ServiceError(Exception):
    """Base of the errors a caller can fix."""


@dataclass(frozen=True)
class Problem:
    """One bad field: where (`loc`, as in pydantic) and why."""

    loc: Loc
    msg: str
    type: str = "value_error"
    extra: dict[str, object] | None = None

    def to_dict(self) -> dict[str, object]:
        detail: dict[str, object] = {"type": self.type, "loc": list(self.loc), "msg": self.msg}
        detail.update(self.extra or {})
        return detail


class NotFound(ServiceError):
    """An unknown lead, model version or override (HTTP 404); `problems` says where, when
    the unknown names came in a request body."""

    def __init__(self, message: str, problems: list[Problem] | tuple[Problem, ...] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


class Conflict(ServiceError):
    """The request contradicts the stored state, e.g. an e-mail owned by another lead (409);
    `loc` says which item of a request, when it held several."""

    def __init__(self, message: str, loc: Loc = ()) -> None:
        super().__init__(message)
        self.loc = loc


class Invalid(ServiceError):
    """Input that fails validation beyond its schema, every problem listed (HTTP 422)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, p.loc))}: {p.msg}" for p in problems))
        self.problems = problems
