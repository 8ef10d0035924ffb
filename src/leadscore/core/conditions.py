"""The condition tree of SPEC §2.1: parse (collecting every error with its path) and evaluate.

A leaf is `{field: NAME, OP: VALUE}` with exactly one operator and an optional
`case_sensitive`; combinators are `all`, `any` and `not`. Stage conditions may also hold
`{no_event: TYPE | [TYPES], within: DURATION}` at any depth (§2.5), with an optional `where`
on the events (our documented extension, so that "only visited the careers page" can be said).
"""

from __future__ import annotations

import operator
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeGuard

from leadscore.core import values as v
from leadscore.core.durations import DurationError, parse_duration
from leadscore.core.timestamps import coerce_timestamp

Lookup = Callable[[str], object]
"""Returns a field's value, or None when the field is missing."""

Errors = list[tuple[str, str]]
"""(key path, message) pairs, collected rather than raised so that a file reports them all."""

RawMapping: TypeAlias = Mapping[Any, Any]
"""A YAML (or JSON) mapping as decoded, before any check: keys and values may be anything."""

TEXT_OPS = ("contains", "not_contains", "starts_with", "ends_with")
NUMERIC_OPS = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}
OPERATORS = (
    "equals",
    "not_equals",
    "in",
    "not_in",
    *TEXT_OPS,
    "matches",
    *NUMERIC_OPS,
    "between",
    "exists",
    "is_empty",
    "within",
    "older_than",
)
NULL_HOLDS = {"not_equals": True, "not_in": True, "not_contains": True}
"""Operators that hold for a missing field (besides exists: false and is_empty: true)."""
TIME_OPS = ("within", "older_than")
"""Operators whose truth depends on `as_of` (the age of a timestamp)."""


@dataclass(frozen=True)
class EvalContext:
    """What a condition may look at besides the record: the time and the lead's events."""

    as_of: int
    events: Sequence[Any] = ()
    """The lead's events at or before as_of (records.Event), for `no_event`."""
    looked_for: Mapping[int, Sequence[int]] | None = None
    """Optional, to evaluate one lead at many times (`core.stages`): by `id` of a `NoEvent`
    node, the times, ascending, of the lead's events it looks for (its types, its `where`
    when that does not depend on the time), up to as_of or beyond. A node not in it scans
    `events`."""


class Condition:
    """A node of the tree."""

    def holds(self, lookup: Lookup, ctx: EvalContext) -> bool:
        raise NotImplementedError

    def fields(self) -> set[str]:
        """Every field name the condition reads (for compilers and docs)."""
        raise NotImplementedError

    def depends_on_time(self) -> bool:
        """Whether `holds` may read the context (`as_of` or the lead's events), so that the
        same record can give another answer at another time. Structural and conservative:
        a node that does not say otherwise depends on time."""
        return True


@dataclass(frozen=True)
class Leaf(Condition):
    field: str
    op: str
    operand: Any
    case_sensitive: bool = False
    pattern: re.Pattern[str] | None = None

    def holds(self, lookup: Lookup, ctx: EvalContext) -> bool:
        value = lookup(self.field)
        op, operand = self.op, self.operand
        if op == "exists":
            return (not v.is_null(value)) is operand
        if op == "is_empty":
            return v.is_empty(value) is operand
        if v.is_null(value):
            return NULL_HOLDS.get(op, False)
        cs = self.case_sensitive
        if op == "equals":
            return v.equals(value, operand, cs)
        if op == "not_equals":
            return not v.equals(value, operand, cs)
        if op == "in":
            return any(v.equals(value, item, cs) for item in operand)
        if op == "not_in":
            return not any(v.equals(value, item, cs) for item in operand)
        if op in TEXT_OPS:
            return _text_op(op, value, operand, cs)
        if op == "matches":
            assert self.pattern is not None
            return self.pattern.search(v.as_text(value).strip()) is not None
        if op in NUMERIC_OPS:
            number = v.as_number(value)
            return number is not None and NUMERIC_OPS[op](number, operand)
        if op == "between":
            number = v.as_number(value)
            return number is not None and operand[0] <= number <= operand[1]
        moment = coerce_timestamp(value)
        if moment is None:
            return False
        age = ctx.as_of - moment
        window: int = operand  # a duration in µs for within and older_than (see _operand)
        return age <= window if op == "within" else age > window

    def fields(self) -> set[str]:
        return {self.field}

    def depends_on_time(self) -> bool:
        return self.op in TIME_OPS


def _text_op(op: str, value: object, operand: str, case_sensitive: bool) -> bool:
    needle = v.fold(operand, case_sensitive)
    if isinstance(value, list | tuple) and op in ("contains", "not_contains"):
        found = any(v.fold(v.as_text(item), case_sensitive) == needle for item in value)
        return found if op == "contains" else not found
    text = v.fold(v.as_text(value), case_sensitive)
    if op == "contains":
        return needle in text
    if op == "not_contains":
        return needle not in text
    if op == "starts_with":
        return text.startswith(needle)
    return text.endswith(needle)


@dataclass(frozen=True)
class All(Condition):
    items: tuple[Condition, ...]

    def holds(self, lookup: Lookup, ctx: EvalContext) -> bool:
        return all(item.holds(lookup, ctx) for item in self.items)

    def fields(self) -> set[str]:
        return set().union(*(item.fields() for item in self.items))

    def depends_on_time(self) -> bool:
        return any(item.depends_on_time() for item in self.items)


@dataclass(frozen=True)
class AnyOf(Condition):
    items: tuple[Condition, ...]

    def holds(self, lookup: Lookup, ctx: EvalContext) -> bool:
        return any(item.holds(lookup, ctx) for item in self.items)

    def fields(self) -> set[str]:
        return set().union(*(item.fields() for item in self.items))

    def depends_on_time(self) -> bool:
        return any(item.depends_on_time() for item in self.items)


@dataclass(frozen=True)
class Not(Condition):
    item: Condition

    def holds(self, lookup: Lookup, ctx: EvalContext) -> bool:
        return not self.item.holds(lookup, ctx)

    def fields(self) -> set[str]:
        return self.item.fields()

    def depends_on_time(self) -> bool:
        return self.item.depends_on_time()


@dataclass(frozen=True)
class NoEvent(Condition):
    """Holds when the lead has no event of these types (satisfying `where`, when given) in
    (as_of − within, as_of]."""

    types: tuple[str, ...]
    within: int
    where: Condition | None = None

    def holds(self, lookup: Lookup, ctx: EvalContext) -> bool:
        start = ctx.as_of - self.within
        if ctx.looked_for is not None and (times := ctx.looked_for.get(id(self))) is not None:
            # None of them in (start, as_of]
            return bisect_right(times, start) == bisect_right(times, ctx.as_of)
        for event in ctx.events:
            if (
                event.type in self.types
                and start < event.occurred_at <= ctx.as_of
                and (self.where is None or self.where.holds(event.get, ctx))
            ):
                return False
        return True

    def fields(self) -> set[str]:
        return set()


def walk(condition: Condition | None) -> Iterator[Condition]:
    """Every node of a tree, depth first (a `no_event`'s `where` included); none for None."""
    if condition is None:
        return
    yield condition
    if isinstance(condition, All | AnyOf):
        for item in condition.items:
            yield from walk(item)
    elif isinstance(condition, Not):
        yield from walk(condition.item)
    elif isinstance(condition, NoEvent) and condition.where is not None:
        yield from walk(condition.where)


# ---------------------------------------------------------------------------------------
# Parsing


def parse_condition(raw: object, path: str, errors: Errors, *, stage: bool = False) -> Condition:
    """Build a condition from YAML data; append every problem to `errors` as (path, message).

    Returns a placeholder condition (that never holds) where the input is invalid, so that
    parsing can go on and report the rest.
    """
    if not isinstance(raw, Mapping):
        errors.append((path, f"must be a condition mapping, not {_kind(raw)}"))
        return _INVALID
    keys = set(raw)
    combinators = keys & {"all", "any", "not"}
    if combinators:
        if len(keys) > 1:
            errors.append((path, f"a combinator stands alone; found keys {_keys(raw)}"))
            return _INVALID
        (key,) = combinators
        return _parse_combinator(key, raw[key], f"{path}.{key}", errors, stage)
    if "no_event" in keys:
        if not stage:
            errors.append((f"{path}.no_event", "no_event is allowed only in stage conditions"))
            return _INVALID
        return _parse_no_event(raw, path, errors)
    return _parse_leaf(raw, path, errors)


def _parse_combinator(key: str, body: object, path: str, errors: Errors, stage: bool) -> Condition:
    if key == "not":
        return Not(parse_condition(body, path, errors, stage=stage))
    if not isinstance(body, list):
        errors.append((path, f"must be a list of conditions, not {_kind(body)}"))
        return _INVALID
    items = tuple(
        parse_condition(item, f"{path}[{i}]", errors, stage=stage) for i, item in enumerate(body)
    )
    return All(items) if key == "all" else AnyOf(items)


def _parse_no_event(raw: RawMapping, path: str, errors: Errors) -> Condition:
    before = len(errors)
    for key in set(raw) - {"no_event", "within", "where"}:
        errors.append((f"{path}.{key}", "unknown key in a no_event condition"))
    where = None
    if "where" in raw:
        where = parse_condition(raw["where"], f"{path}.where", errors)
    types = raw["no_event"]
    if isinstance(types, str):
        types = [types]
    if not (isinstance(types, list) and types and all(isinstance(t, str) and t for t in types)):
        errors.append((f"{path}.no_event", "must be an event type or a non-empty list of them"))
    if "within" not in raw:
        errors.append((f"{path}.within", "required with no_event"))
        return _INVALID
    window = _duration(raw["within"], f"{path}.within", errors)
    if len(errors) > before:
        return _INVALID
    return NoEvent(tuple(types), window, where)


def _parse_leaf(raw: RawMapping, path: str, errors: Errors) -> Condition:
    before = len(errors)
    name = raw.get("field")
    if "field" not in raw:
        errors.append((f"{path}.field", "required (or use all / any / not)"))
    elif not isinstance(name, str) or not name.strip():
        errors.append((f"{path}.field", f"must be a field name, not {name!r}"))
    case_sensitive = raw.get("case_sensitive", False)
    if not isinstance(case_sensitive, bool):
        errors.append((f"{path}.case_sensitive", f"must be true or false, not {case_sensitive!r}"))
        case_sensitive = False
    unknown = [k for k in raw if k not in ("field", "case_sensitive", *OPERATORS)]
    for key in unknown:
        errors.append((f"{path}.{key}", f"unknown operator or key {key!r}"))
    ops = [k for k in raw if k in OPERATORS]
    if not ops and not unknown:
        errors.append((path, "has no operator (one of " + ", ".join(OPERATORS) + ")"))
    if len(ops) > 1:
        errors.append((path, f"has several operators ({', '.join(ops)}); use all/any"))
    if len(errors) > before or len(ops) != 1:
        return _INVALID
    op = ops[0]
    operand, pattern = _operand(op, raw[op], f"{path}.{op}", errors, case_sensitive)
    if len(errors) > before:
        return _INVALID
    assert isinstance(name, str)  # else an error was appended above
    return Leaf(name.strip(), op, operand, case_sensitive, pattern)


def _operand(
    op: str, value: object, path: str, errors: Errors, case_sensitive: bool
) -> tuple[object, re.Pattern[str] | None]:
    """Check and normalise one operator's value; returns (operand, compiled pattern)."""
    if op in ("equals", "not_equals"):
        if not _is_scalar(value):
            errors.append((path, f"must be a string, number or boolean, not {_kind(value)}"))
        return value, None
    if op in ("in", "not_in"):
        if not isinstance(value, list):
            errors.append((path, f"must be a list, not {_kind(value)}"))
            return (), None
        for i, item in enumerate(value):
            if not _is_scalar(item):
                errors.append(
                    (f"{path}[{i}]", f"must be a string, number or boolean, not {_kind(item)}")
                )
        return tuple(value), None
    if op in TEXT_OPS:
        if not _is_scalar(value) or isinstance(value, bool):
            errors.append((path, f"must be a string, not {_kind(value)}"))
            return "", None
        return v.as_text(value), None
    if op == "matches":
        if not isinstance(value, str):
            errors.append((path, f"must be a regular expression string, not {_kind(value)}"))
            return "", None
        try:
            pattern = re.compile(value, 0 if case_sensitive else re.IGNORECASE)
        except re.error as exc:
            errors.append((path, f"{value!r} is not a valid regular expression: {exc}"))
            return "", None
        return value, pattern
    if op in NUMERIC_OPS:
        if not _is_number(value):
            errors.append((path, f"must be a number, not {_kind(value)}"))
            return 0.0, None
        return float(value), None
    if op == "between":
        if not (isinstance(value, list) and len(value) == 2 and all(map(_is_number, value))):
            errors.append((path, "must be a list of two numbers [lo, hi]"))
            return (0.0, 0.0), None
        lo, hi = float(value[0]), float(value[1])
        if lo > hi:
            errors.append((path, f"lo {value[0]} is greater than hi {value[1]}"))
        return (lo, hi), None
    if op in ("exists", "is_empty"):
        if not isinstance(value, bool):
            errors.append((path, f"must be true or false, not {value!r}"))
        return value, None
    return _duration(value, path, errors), None  # within, older_than


def _duration(value: object, path: str, errors: Errors) -> int:
    try:
        return parse_duration(value)
    except DurationError as exc:
        errors.append((path, str(exc)))
        return 0


def _is_scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool)


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def _keys(raw: RawMapping) -> str:
    return ", ".join(str(k) for k in raw)


class _Never(Condition):
    def holds(self, lookup: Lookup, ctx: EvalContext) -> bool:
        return False

    def fields(self) -> set[str]:
        return set()

    def depends_on_time(self) -> bool:
        return False


_INVALID = _Never()
