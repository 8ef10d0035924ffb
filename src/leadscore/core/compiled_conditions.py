"""Conditions (SPEC §2.1) compiled once into closures, for the per-lead evaluator
(`core.compiled`).

`Condition.holds` walks the tree and dispatches on the operator at every call, and reads
fields through `Lead.get` / `Event.get`, which test the field name each time. Scoring one
lead calls it (rules × events) times, so here each node becomes a closure that already knows
its operator, its normalised operand (folded text, a set of folded texts for `in`) and how to
read its field from the record. Each closure is a transcription of `Leaf.holds` and friends:
the same `core.values` functions on the same values in the same order, so it holds exactly
when the node holds — a hypothesis test (tests/core/test_compiled.py) compares them. A node
type this module does not know keeps its own `holds`.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable
from operator import attrgetter
from typing import Any

from leadscore.core import values as v
from leadscore.core.conditions import (
    NULL_HOLDS,
    NUMERIC_OPS,
    TEXT_OPS,
    All,
    AnyOf,
    Condition,
    EvalContext,
    Leaf,
    NoEvent,
    Not,
)
from leadscore.core.records import FREE_EMAIL_DOMAINS, Event, Lead, property_value
from leadscore.core.timestamps import coerce_timestamp

Predicate = Callable[[Any, EvalContext], bool]
"""(record, context) → whether the condition holds for it: a Lead or an Event."""
Getter = Callable[[Any], object]
"""record → a field's value (None when missing), as `Lead.get` / `Event.get` give it."""
Test = Callable[[object, EvalContext], bool]
"""(non-null value, context) → whether a leaf's operator holds for it."""

_isnan = math.isnan


def lead_getter(name: str) -> Getter:
    """How `Lead.get(name)` reads the field, decided once."""
    if name == "id":
        return lambda lead: lead.id
    if name == "email":
        return lambda lead: lead.email
    if name == "email_domain":
        return lambda lead: lead.email_domain
    if name == "email_is_free":

        def is_free(lead: Lead) -> object:
            domain = lead.email_domain
            return None if domain is None else domain in FREE_EMAIL_DOMAINS

        return is_free
    return lambda lead: lead.attributes.get(name)


def event_getter(name: str) -> Getter:
    """How `Event.get(name)` reads the field, decided once."""
    if name == "type":
        return lambda event: event.type
    if name == "source":
        return lambda event: event.source
    if name.startswith("properties."):
        name = name[len("properties.") :]
    if "." in name:
        return lambda event: property_value(event.properties, name)
    # property_value of a plain name: the key's value, or None (no dot: nothing to walk).
    return lambda event: event.properties.get(name)


def compile_condition(node: Condition, getter: Callable[[str], Getter]) -> Predicate:
    """A closure that holds exactly when `node.holds(record.get, ctx)` does; `getter` says
    how the records it is applied to read a field (`lead_getter` or `event_getter`)."""
    if isinstance(node, Leaf):
        return _leaf(node, getter(node.field), _mapping_key(node.field, getter))
    if isinstance(node, All):
        return _all(tuple(compile_condition(item, getter) for item in node.items))
    if isinstance(node, AnyOf):
        return _any(tuple(compile_condition(item, getter) for item in node.items))
    if isinstance(node, Not):
        inner = compile_condition(node.item, getter)
        return lambda record, ctx: not inner(record, ctx)
    if isinstance(node, NoEvent):
        return _no_event(node)
    return lambda record, ctx: node.holds(record.get, ctx)


def _all(items: tuple[Predicate, ...]) -> Predicate:
    if len(items) == 1:
        return items[0]

    def holds(record: Any, ctx: EvalContext) -> bool:
        # A plain loop: all() over a generator costs a frame per call on this hot path.
        for item in items:  # noqa: SIM110
            if not item(record, ctx):
                return False
        return True

    return holds


def _any(items: tuple[Predicate, ...]) -> Predicate:
    if len(items) == 1:
        return items[0]

    def holds(record: Any, ctx: EvalContext) -> bool:
        for item in items:  # noqa: SIM110 (as in _all)
            if item(record, ctx):
                return True
        return False

    return holds


def _no_event(node: NoEvent) -> Predicate:
    """`NoEvent.holds`, its `where` compiled on events."""
    key, types, within = id(node), node.types, node.within
    where = None if node.where is None else compile_condition(node.where, event_getter)

    def holds(record: Any, ctx: EvalContext) -> bool:
        start = ctx.as_of - within
        if ctx.looked_for is not None and (times := ctx.looked_for.get(key)) is not None:
            return bisect_right(times, start) == bisect_right(times, ctx.as_of)
        as_of = ctx.as_of
        for event in ctx.events:
            if (
                event.type in types
                and start < event.occurred_at <= as_of
                and (where is None or where(event, ctx))
            ):
                return False
        return True

    return holds


def looks_for(node: NoEvent) -> Callable[[Event, EvalContext], bool]:
    """Whether an event is one a `no_event` node looks for (its types and its `where`)."""
    types = node.types
    where = None if node.where is None else compile_condition(node.where, event_getter)
    return lambda event, ctx: event.type in types and (where is None or where(event, ctx))


def _mapping_key(name: str, getter: Callable[[str], Getter]) -> tuple[str, str] | None:
    """(mapping attribute, key) when the field is a plain key of the record's `properties`
    (events) or `attributes` (leads): what the getter reads is then `mapping.get(key)`."""
    if getter is event_getter and name not in ("type", "source"):
        key = name[len("properties.") :] if name.startswith("properties.") else name
        return None if "." in key else ("properties", key)
    if getter is lead_getter and name not in ("id", "email", "email_domain", "email_is_free"):
        return ("attributes", name)
    return None


def _leaf(node: Leaf, get: Getter, mapping_key: tuple[str, str] | None) -> Predicate:
    op, operand = node.op, node.operand
    if op == "exists":
        return lambda record, ctx: (not _null(get(record))) is operand
    if op == "is_empty":
        return lambda record, ctx: v.is_empty(get(record)) is operand
    null_holds = NULL_HOLDS.get(op, False)
    test = _test(node)
    on_text = _on_text(node)
    if on_text is not None and mapping_key is not None:
        # The common case in one closure: a text value read straight from the mapping.
        mapping, key = mapping_key
        read = attrgetter(mapping)

        def fused(record: Any, ctx: EvalContext) -> bool:
            value = read(record).get(key)
            if type(value) is str:
                return on_text(value)
            if value is None or (isinstance(value, float) and _isnan(value)):
                return null_holds
            return test(value, ctx)

        return fused

    def holds(record: Any, ctx: EvalContext) -> bool:
        value = get(record)
        if value is None or (isinstance(value, float) and _isnan(value)):
            return null_holds
        return test(value, ctx)

    return holds


def _on_text(node: Leaf) -> Callable[[str], bool] | None:
    """The leaf's operator on a value that is exactly a `str`, when text has a shortcut: the
    same result as `_test(node)` (a str is its own text, `as_text` returns it)."""
    op, operand, cs = node.op, node.operand, node.case_sensitive
    if cs:
        return None
    if op in TEXT_OPS:
        needle = v.fold(operand, False)
        if op == "contains":
            return lambda text: needle in text.strip().lower()
        if op == "not_contains":
            return lambda text: needle not in text.strip().lower()
        if op == "starts_with":
            return lambda text: text.strip().lower().startswith(needle)
        return lambda text: text.strip().lower().endswith(needle)
    if op in ("equals", "not_equals") and type(operand) is str:
        folded = v.fold(operand, False)
        if op == "equals":
            return lambda text: text.strip().lower() == folded
        return lambda text: text.strip().lower() != folded
    if op in ("in", "not_in") and all(type(item) is str for item in operand):
        texts = frozenset(v.fold(item, False) for item in operand)
        if op == "in":
            return lambda text: text.strip().lower() in texts
        return lambda text: text.strip().lower() not in texts
    if op == "matches":
        assert node.pattern is not None
        search = node.pattern.search
        return lambda text: search(text.strip()) is not None
    return None


def _null(value: object) -> bool:
    return value is None or (isinstance(value, float) and _isnan(value))


def _test(node: Leaf) -> Test:
    """The operator of a leaf on a non-null value (the rest of `Leaf.holds`)."""
    op, operand, cs = node.op, node.operand, node.case_sensitive
    if op in ("equals", "not_equals"):
        equal = _equals(operand, cs)
        if op == "equals":
            return lambda value, ctx: equal(value)
        return lambda value, ctx: not equal(value)
    if op in ("in", "not_in"):
        member = _member(operand, cs)
        if op == "in":
            return lambda value, ctx: member(value)
        return lambda value, ctx: not member(value)
    if op in TEXT_OPS:
        return _text(op, operand, cs)
    if op == "matches":
        assert node.pattern is not None
        search = node.pattern.search
        return lambda value, ctx: search(v.as_text(value).strip()) is not None
    if op in NUMERIC_OPS:
        compare = NUMERIC_OPS[op]

        def numeric(value: object, ctx: EvalContext) -> bool:
            number = v.as_number(value)
            return number is not None and compare(number, operand)

        return numeric
    if op == "between":
        lo, hi = operand

        def between(value: object, ctx: EvalContext) -> bool:
            number = v.as_number(value)
            return number is not None and lo <= number <= hi

        return between
    within = op == "within"
    window: int = operand  # a duration in µs for within and older_than

    def timed(value: object, ctx: EvalContext) -> bool:
        moment = coerce_timestamp(value)
        if moment is None:
            return False
        age = ctx.as_of - moment
        return age <= window if within else age > window

    return timed


def _folder(case_sensitive: bool) -> Callable[[object], str]:
    """fold(as_text(value)): trimmed text, lower-cased unless case-sensitive."""
    if case_sensitive:

        def folded_cs(value: object) -> str:
            return (value if type(value) is str else v.as_text(value)).strip()

        return folded_cs

    def folded(value: object) -> str:
        return (value if type(value) is str else v.as_text(value)).strip().lower()

    return folded


def _equals(operand: object, cs: bool) -> Callable[[object], bool]:
    """`values.equals(value, operand, cs)` with what depends on the operand done once."""
    if isinstance(operand, bool):
        return lambda value: v.as_boolean(value) is operand
    fold = _folder(cs)
    text = v.fold(v.as_text(operand), cs)
    if isinstance(operand, int | float):
        number = float(operand)

        def numeric(value: object) -> bool:
            found = v.as_number(value)
            if found is not None:
                return found == number
            return fold(value) == text

        return numeric
    return lambda value: fold(value) == text


def _member(items: tuple[object, ...], cs: bool) -> Callable[[object], bool]:
    """any(values.equals(value, item, cs) for item in items)."""
    if all(isinstance(item, str) for item in items):
        # Text operands compare folded text only: membership in the set of folded operands.
        fold = _folder(cs)
        texts = frozenset(v.fold(item, cs) for item in items)  # type: ignore[arg-type]
        return lambda value: fold(value) in texts
    tests = tuple(_equals(item, cs) for item in items)
    return lambda value: any(test(value) for test in tests)


def _text(op: str, operand: str, cs: bool) -> Test:
    """`_text_op` of core.conditions with the needle folded once."""
    needle = v.fold(operand, cs)
    fold = _folder(cs)
    listed = op in ("contains", "not_contains")
    if op == "contains":
        plain: Callable[[str], bool] = lambda text: needle in text  # noqa: E731
    elif op == "not_contains":
        plain = lambda text: needle not in text  # noqa: E731
    elif op == "starts_with":
        plain = lambda text: text.startswith(needle)  # noqa: E731
    else:
        plain = lambda text: text.endswith(needle)  # noqa: E731
    found_holds = op == "contains"

    def holds(value: object, ctx: EvalContext) -> bool:
        if listed and isinstance(value, list | tuple):
            found = any(fold(item) == needle for item in value)
            return found if found_holds else not found
        return plain(fold(value))

    return holds


__all__ = ["Predicate", "compile_condition", "event_getter", "lead_getter", "looks_for"]
