"""Condition trees (SPEC §2.1) → Polars expressions over one frame of leads or events.

A leaf is evaluated once per distinct value of its field (text is factorized), exactly as
core/conditions.py evaluates it, and becomes a boolean column; `all`, `any` and `not` become
expressions over those columns. A field of a type the kernel does not model natively (lists,
mappings, decimals, mixed Python objects) is evaluated by the reference `Leaf.holds` itself,
value by value, and so is a `matches` whose pattern or text Rust's regex engine might read
differently from Python's `re` (see engine/regex.py).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, cast

import numpy as np
import polars as pl

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
    Lookup,
    NoEvent,
    Not,
    walk,
)
from leadscore.engine import columns as c
from leadscore.engine.columns import Indices
from leadscore.engine.regex import SAFE_TEXT, rust_pattern

# --- fields: how a column's values are seen ---------------------------------------------


@dataclass
class Values:
    """A leaf's result per row: `table[codes]` (one entry per distinct value) or dense."""

    table: np.ndarray
    codes: Indices | None = None
    gathered: dict[object, Indices] | None = None
    """The field's codes already gathered for a named set of rows (shared by its leaves)."""
    lock: threading.Lock | None = None

    def at(self, rows: Indices | None = None, key: object = None) -> np.ndarray:
        """The result on every row, or on `rows` only (`key` names `rows` for reuse)."""
        if self.codes is None:
            return self.table if rows is None else self.table[rows]
        if rows is None:
            return self.table[self.codes]
        if key is None or self.gathered is None or self.lock is None:
            return self.table[self.codes[rows]]
        with self.lock:
            if key not in self.gathered:
                self.gathered[key] = self.codes[rows]
            codes = self.gathered[key]
        return self.table[codes]


class Field:
    """A field's values over the rows of a frame."""

    height: int

    def holds(self, leaf: Leaf, as_of: int) -> Values:
        """The leaf on every row."""
        raise NotImplementedError


@dataclass
class NullField(Field):
    """A field no row has."""

    height: int

    def holds(self, leaf: Leaf, as_of: int) -> Values:
        return Values(np.array([_null_result(leaf)]), np.zeros(self.height, dtype=np.uint8))


@dataclass
class PythonField(Field):
    """Arbitrary Python values, evaluated by the reference condition itself."""

    values: list[object]

    @property
    def height(self) -> int:  # type: ignore[override]  # Field.height, read-only here
        return len(self.values)

    def holds(self, leaf: Leaf, as_of: int) -> Values:
        ctx = EvalContext(as_of=as_of)
        # The cast types the lambda (mypy cannot infer one with a default argument).
        return Values(
            np.fromiter(
                (
                    leaf.holds(cast(Lookup, lambda _name, value=value: value), ctx)
                    for value in self.values
                ),
                dtype=bool,
                count=len(self.values),
            )
        )


@dataclass
class Distinct:
    """The distinct non-null texts of a column, with every derived form a leaf may need."""

    texts: pl.Series

    @cached_property
    def stripped(self) -> pl.Series:
        return c.strip(self.texts)

    @cached_property
    def folded(self) -> pl.Series:
        return c.lower(self.stripped)

    def fold(self, case_sensitive: bool) -> pl.Series:
        return self.stripped if case_sensitive else self.folded

    @cached_property
    def numbers(self) -> np.ndarray:
        return c.numbers(self.stripped)

    @cached_property
    def booleans(self) -> np.ndarray:
        return c.booleans(self.folded)

    @cached_property
    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """(epoch µs, is a timestamp)."""
        parsed, _ = c.parse_timestamps(self.texts)
        return parsed.fill_null(0).to_numpy(), parsed.is_not_null().to_numpy()

    @cached_property
    def safe(self) -> np.ndarray:
        return self.stripped.str.contains(SAFE_TEXT).to_numpy()


@dataclass
class TextField(Field):
    """Text (or a native column seen through its text form), factorized."""

    series: pl.Series
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def height(self) -> int:  # type: ignore[override]  # Field.height, read-only here
        return len(self.series)

    @cached_property
    def _gathered(self) -> dict[object, Indices]:
        return {}

    @cached_property
    def _factors(self) -> tuple[Indices, Distinct]:
        codes, uniques = c.factorize(self.series)
        return codes, Distinct(uniques)

    def holds(self, leaf: Leaf, as_of: int) -> Values:
        codes, distinct = self._factors
        table = np.empty(len(distinct.texts) + 1, dtype=bool)
        table[:-1] = _on_text(leaf, distinct, as_of)
        table[-1] = _null_result(leaf)
        return Values(table, codes, self._gathered, self._lock)


@dataclass
class NumberField(Field):
    """Integers or floats: numeric operators compare the numbers, text operators their text."""

    series: pl.Series

    @property
    def height(self) -> int:  # type: ignore[override]  # Field.height, read-only here
        return len(self.series)

    @cached_property
    def _numbers(self) -> tuple[np.ndarray, np.ndarray]:
        present = self.series.is_not_null().to_numpy()
        values = self.series.cast(pl.Float64).fill_null(np.nan).to_numpy()
        return values.astype(np.float64, copy=False), present

    @cached_property
    def _text(self) -> TextField:
        return TextField(c.text_form(self.series))

    def holds(self, leaf: Leaf, as_of: int) -> Values:
        op, operand = leaf.op, leaf.operand
        values, present = self._numbers
        if op in ("exists", "is_empty"):
            return Values((present if op == "exists" else ~present) == operand)
        if op in NUMERIC_OPS or op == "between":
            return Values(present & _numeric(op, operand, values))
        if op in ("within", "older_than"):
            return Values(np.zeros(self.height, dtype=bool))
        if op in ("equals", "not_equals", "in", "not_in"):
            items = [operand] if op in ("equals", "not_equals") else list(operand)
            if all(_is_number(item) or isinstance(item, bool) for item in items):
                hit = np.zeros(self.height, dtype=bool)
                for item in items:
                    if _is_number(item):
                        hit |= values == float(item)
                negated = op in ("not_equals", "not_in")
                return Values(np.where(present, hit != negated, NULL_HOLDS.get(op, False)))
        return self._text.holds(leaf, as_of)


# --- leaf evaluation over distinct texts ------------------------------------------------


def _null_result(leaf: Leaf) -> bool:
    if leaf.op == "exists":
        return leaf.operand is False
    if leaf.op == "is_empty":
        return leaf.operand is True
    return NULL_HOLDS.get(leaf.op, False)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _numeric(op: str, operand: Any, values: np.ndarray) -> np.ndarray:
    """IEEE comparisons (NaN never holds), as Python's operators give them."""
    # `operand` is a Leaf's: (lo, hi) for between, a number otherwise (conditions._operand).
    held: np.ndarray
    with np.errstate(invalid="ignore"):
        if op == "between":
            held = (operand[0] <= values) & (values <= operand[1])
            return held
        held = NUMERIC_OPS[op](values, operand)
        return held


def _on_text(leaf: Leaf, d: Distinct, as_of: int) -> np.ndarray:
    """`Leaf.holds` for each distinct non-null text."""
    op, operand, cs = leaf.op, leaf.operand, leaf.case_sensitive
    k = len(d.texts)
    if op == "exists":
        return np.full(k, operand is True)
    if op == "is_empty":
        empty: np.ndarray = (d.stripped == "").to_numpy() == operand  # ndarray == is typed Any
        return empty
    if op in ("equals", "not_equals", "in", "not_in"):
        items = [operand] if op in ("equals", "not_equals") else list(operand)
        hit = np.zeros(k, dtype=bool)
        for item in items:
            hit |= _equals(d, item, cs)
        return ~hit if op in ("not_equals", "not_in") else hit
    if op in TEXT_OPS:
        needle = v.fold(operand, cs)
        text = d.fold(cs)
        if op in ("contains", "not_contains"):
            found = text.str.contains(needle, literal=True).to_numpy()
            return found if op == "contains" else ~found
        if op == "starts_with":
            return text.str.starts_with(needle).to_numpy()
        return text.str.ends_with(needle).to_numpy()
    if op == "matches":
        return _matches(leaf, d)
    if op in NUMERIC_OPS or op == "between":
        return _numeric(op, operand, d.numbers)
    moments, valid = d.moments
    age = as_of - moments
    window: int = operand  # a duration in µs for within and older_than
    return valid & (age <= window if op == "within" else age > window)


def _equals(d: Distinct, operand: object, cs: bool) -> np.ndarray:
    """`values.equals` of each distinct text against one operand."""
    if isinstance(operand, bool):
        same: np.ndarray = d.booleans == (1 if operand else 0)  # ndarray == is typed Any
        return same
    text_equal = (d.fold(cs) == v.fold(v.as_text(operand), cs)).to_numpy()
    if isinstance(operand, int | float):
        numbers = d.numbers
        target = float(operand)
        is_number = ~np.isnan(numbers)
        return np.where(is_number, numbers == target, text_equal)
    return text_equal


def _matches(leaf: Leaf, d: Distinct) -> np.ndarray:
    assert leaf.pattern is not None
    k = len(d.texts)
    out = np.zeros(k, dtype=bool)
    rust = rust_pattern(leaf.operand, leaf.case_sensitive)
    by_python = np.ones(k, dtype=bool)
    if rust is not None:
        safe = d.safe
        if safe.any():
            found = d.stripped.str.contains(rust).to_numpy()
            out[safe] = found[safe]
        by_python = ~safe
    if by_python.any():
        search = leaf.pattern.search
        texts = d.stripped.to_numpy()
        for i in np.flatnonzero(by_python):
            out[i] = search(texts[i]) is not None
    return out


# --- building fields from frames --------------------------------------------------------


def field_of(series: pl.Series | None, height: int) -> Field:
    """The Field view of a column (None: absent)."""
    if series is None or series.dtype == pl.Null:
        return NullField(height)
    dtype = series.dtype
    if dtype.is_float():
        return NumberField(series.fill_nan(None))
    if dtype.is_integer():
        return NumberField(series)
    if isinstance(dtype, c.STRINGLIKE):
        return TextField(series)
    if c.is_native(dtype):
        return TextField(c.text_form(series))
    return PythonField(series.to_list())


# --- the compiler -----------------------------------------------------------------------


@dataclass
class Compiler:
    """Compiles conditions against one frame.

    `compile` gives a Polars expression whose leaves are boolean columns (collected in
    `columns`); `mask` evaluates a condition with numpy, on every row or on some rows only
    (events: a rule's type). Both read the same leaf results. `lookup(name)` returns the
    Field of a name; `no_event(node)` the per-row result of a stage's `no_event` (leads).
    """

    lookup: Callable[[str], Field]
    height: int
    as_of: int
    no_event: Callable[[NoEvent], np.ndarray] | None = None
    columns: dict[str, pl.Series] = field(default_factory=dict)
    _leaves: dict[tuple[object, ...], Values] = field(default_factory=dict)
    _names: dict[tuple[object, ...], str] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    """Leaves (and their fields' factors) are computed once, by one thread."""

    def compile(self, condition: Condition) -> pl.Expr:
        if isinstance(condition, All):
            if not condition.items:
                return pl.lit(True)
            return pl.all_horizontal([self.compile(item) for item in condition.items])
        if isinstance(condition, AnyOf):
            if not condition.items:
                return pl.lit(False)
            return pl.any_horizontal([self.compile(item) for item in condition.items])
        if isinstance(condition, Not):
            return ~self.compile(condition.item)
        if isinstance(condition, Leaf | NoEvent):
            key = _leaf_key(condition)
            if key not in self._names:
                name = self._names[key] = f"__c{len(self._names)}"
                self.columns[name] = pl.Series(name, self._values(condition).at(), dtype=pl.Boolean)
            return pl.col(self._names[key])
        return pl.lit(False)  # the placeholder of an invalid condition never holds

    def evaluate_all(self, conditions: list[Condition]) -> list[np.ndarray]:
        """Several conditions on every row, in one Polars query."""
        if not conditions:
            return []
        exprs = [self.compile(cond).alias(f"__x{i}") for i, cond in enumerate(conditions)]
        frame = pl.DataFrame({"__rows": np.zeros(self.height, dtype=bool), **self.columns})
        out = frame.with_columns(exprs)
        return [out[f"__x{i}"].to_numpy() for i in range(len(conditions))]

    def mask(
        self, condition: Condition, rows: Indices | None = None, key: object = None
    ) -> np.ndarray:
        """The condition on every row (or on `rows`, which `key` names for reuse), with
        numpy."""
        size = self.height if rows is None else len(rows)
        if isinstance(condition, All):
            out = np.ones(size, dtype=bool)
            for item in condition.items:
                out &= self.mask(item, rows, key)
            return out
        if isinstance(condition, AnyOf):
            out = np.zeros(size, dtype=bool)
            for item in condition.items:
                out |= self.mask(item, rows, key)
            return out
        if isinstance(condition, Not):
            return ~self.mask(condition.item, rows, key)
        if isinstance(condition, Leaf | NoEvent):
            return self._values(condition).at(rows, key)
        return np.zeros(size, dtype=bool)

    def _values(self, node: Leaf | NoEvent) -> Values:
        with self._lock:
            return self._values_locked(node)

    def _values_locked(self, node: Leaf | NoEvent) -> Values:
        key = _leaf_key(node)
        if key not in self._leaves:
            if isinstance(node, NoEvent):
                if self.no_event is None:
                    raise ValueError("no_event is allowed only in stage conditions")
                self._leaves[key] = Values(np.asarray(self.no_event(node), dtype=bool))
            else:
                self._leaves[key] = self.lookup(node.field).holds(node, self.as_of)
        return self._leaves[key]


def _leaf_key(node: Leaf | NoEvent) -> tuple[object, ...]:
    if isinstance(node, NoEvent):
        return ("no_event", id(node))
    return ("leaf", node.field, node.op, _key(node.operand), node.case_sensitive)


def _key(operand: object) -> object:
    """A hashable, type-exact key of an operand (1 and True and 1.0 compare differently)."""
    if isinstance(operand, tuple | list):
        return tuple(_key(item) for item in operand)
    if isinstance(operand, float) and math.isnan(operand):
        return ("nan",)
    return (type(operand).__name__, operand)


def lead_fields(condition: Condition | None) -> set[str]:
    """Field names a lead-level condition reads (not those inside `no_event` wheres)."""
    names: set[str] = set()
    stack = [] if condition is None else [condition]
    while stack:
        node = stack.pop()
        if isinstance(node, Leaf):
            names.add(node.field)
        elif isinstance(node, All | AnyOf):
            stack.extend(node.items)
        elif isinstance(node, Not):
            stack.append(node.item)
    return names


def no_event_nodes(condition: Condition | None) -> list[NoEvent]:
    return [node for node in walk(condition) if isinstance(node, NoEvent)]
