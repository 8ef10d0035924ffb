"""Engagement (SPEC §2.4) for every lead at once: each rule's occurrences and raw points.

Events are reduced to integer arrays — lead index, time (epoch µs), and a code for each event
type the model names — and sorted by (type, lead, time), so that each rule reads the slice of
its type(s) with every lead's occurrences contiguous and in time order. Conditions on events
(`where`) are compiled once over the event rows. Decay uses Polars' `pow` (the same libm call
as Python's `**`; numpy's SIMD `power` differs in the last bit), and sums go through
engine/sums.py so that they equal the reference's `sum()` exactly.
"""

from __future__ import annotations

import threading
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import TypeAlias, cast

import numpy as np
import polars as pl

from leadscore.core.conditions import Condition, NoEvent
from leadscore.core.model import EngagementRule, Model
from leadscore.engine import sums
from leadscore.engine.compile import Compiler
from leadscore.engine.outcomes import RuleResult
from leadscore.engine.windows import count_windows

_EXACT_AGE = 2**53
"""Ages beyond this (µs) are not exact as doubles: Python computes their decay."""

Slice: TypeAlias = tuple[np.ndarray, np.ndarray, np.ndarray]
"""(kept-row indices, lead, time) of the events of some types."""


@dataclass
class EventTable:
    """The events of the scored leads at or before as_of, as arrays, partitioned by type."""

    n_leads: int
    as_of: int
    lead: np.ndarray
    """Lead index of each kept event (rows of unknown leads and later events removed)."""
    time: np.ndarray
    kind: np.ndarray
    """Index into `types` of each row's event type; -1 for a type the model does not name."""
    types: list[str]
    compiler: Compiler
    """Compiles `where` conditions over the rows of the events frame."""
    rows: np.ndarray | None
    """Row number, in the frame the compiler sees, of each kept event (None: every row was
    kept, in order)."""
    ordered: set[str] = field(default_factory=set)
    """Types whose occurrences some rule needs in time order (decay sums, windows, once)."""
    _slices: dict[object, Slice | np.ndarray] = field(default_factory=dict, repr=False)
    """A Slice per type code or tuple of codes; frame rows per ("rows", codes)."""
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    """Rules may run on several threads; slices are built once, under this lock."""

    def _type_rows(self, code: int) -> np.ndarray:
        """Kept-row indices of one type, in input order (a scan per type is cheaper than a
        sort by type)."""
        return np.flatnonzero(self.kind == code)

    def _slice(self, code: int) -> Slice:
        """(kept-row indices, lead, time) of one type; sorted by (lead, time) when a rule
        needs the order and the input was not already in it."""
        with self._lock:
            return self._slice_locked(code)

    def _slice_locked(self, code: int) -> Slice:
        if code not in self._slices:
            index = self._type_rows(code)
            leads, times = self.lead[index], self.time[index]
            if self.types[code] in self.ordered and not _in_order(leads, times):
                frame = pl.DataFrame({"l": leads, "t": times})
                order = pl.arg_sort_by(["l", "t"], maintain_order=True)
                again = frame.select(order).to_series().to_numpy()
                index, leads, times = index[again], leads[again], times[again]
            self._slices[code] = (index, leads, times)
        return cast(Slice, self._slices[code])

    def codes(self, types: tuple[str, ...]) -> tuple[int, ...]:
        return tuple(sorted({self.types.index(t) for t in types}))

    def of_types(self, types: tuple[str, ...]) -> Slice:
        """(kept-row indices, lead, time) of the events of these types; sorted by (lead,
        time) when a rule needs the order of one of them."""
        codes = self.codes(types)
        if len(codes) == 1:
            return self._slice(codes[0])
        with self._lock:
            return self._merged(codes, types)

    def _merged(self, codes: tuple[int, ...], types: tuple[str, ...]) -> Slice:
        if codes not in self._slices:
            parts = [self._slice(code) for code in codes]
            index, leads, times = (np.concatenate(p) for p in zip(*parts, strict=True))
            if any(t in self.ordered for t in types):
                again = np.lexsort((times, leads))
                index, leads, times = index[again], leads[again], times[again]
            self._slices[codes] = (index, leads, times)
        return cast(Slice, self._slices[codes])

    def where(self, condition: Condition, types: tuple[str, ...] | None = None) -> np.ndarray:
        """A `where` condition on the kept events of these types (all kept events for None),
        in `of_types` order."""
        if types is None:
            return self.compiler.mask(condition, self.rows, None if self.rows is None else "all")
        codes = self.codes(types)
        index = self.of_types(types)[0]
        rows = index if self.rows is None else self._rows(codes, index)
        return self.compiler.mask(condition, rows, codes)

    def _rows(self, codes: tuple[int, ...], index: np.ndarray) -> np.ndarray:
        key = ("rows", codes)
        assert self.rows is not None  # asked only when rows were renumbered (see `where`)
        with self._lock:
            if key not in self._slices:
                self._slices[key] = self.rows[index]
            return cast(np.ndarray, self._slices[key])

    def any_recent(
        self, types: tuple[str, ...] | None, where: Condition | None, start: int
    ) -> np.ndarray:
        """Per lead: has an event (of these types, satisfying `where`) in (start, as_of]."""
        seen = np.zeros(self.n_leads, dtype=bool)
        if types is None:
            keep = self.time > start
            if where is not None:
                keep &= self.where(where)
            seen[self.lead[keep]] = True
            return seen
        for code in self.codes(types):  # type by type: no need to merge the slices
            _, leads, times = self._slice(code)
            keep = times > start
            if where is not None:
                keep &= self.where(where, (self.types[code],))
            seen[leads[keep]] = True
        return seen


def _in_order(leads: np.ndarray, times: np.ndarray) -> bool:
    """Whether rows are already sorted by (lead, time)."""
    if len(leads) < 2:
        return True
    if len(leads) > 1024 and not _in_order(leads[:1024], times[:1024]):
        return False  # most unsorted inputs show it early
    step = leads[1:] - leads[:-1]
    return bool(np.all((step > 0) | ((step == 0) & (times[1:] >= times[:-1]))))


def ordered_types(model: Model) -> set[str]:
    """Event types some rule reads in time order."""
    out: set[str] = set()
    for rule in model.engagement.rules:
        if rule.event and (rule.half_life or rule.count or rule.once):
            out.update(rule.event)
    return out


def no_event(table: EventTable, node: NoEvent) -> np.ndarray:
    """`{no_event: TYPES, within: D, where: …}` per lead."""
    return ~table.any_recent(node.types, node.where, table.as_of - node.within)


def engagement_rules(
    model: Model, table: EventTable, pool: Executor | None = None
) -> list[RuleResult]:
    """Every engagement rule's outcome; on `pool`'s threads when given (the array work
    releases the GIL, so two cores score two rules at once)."""
    rules = model.engagement.rules
    if pool is None or len(rules) < 2 or table.lead.size < 100_000:
        return [_rule(rule, table) for rule in rules]
    return list(pool.map(lambda rule: _rule(rule, table), rules))


def _rule(rule: EngagementRule, table: EventTable) -> RuleResult:
    n = table.n_leads
    if rule.inactive_for is not None:
        recent = table.any_recent(rule.event, rule.where, table.as_of - rule.inactive_for)
        occurrences = (~recent).astype(np.int64)
        raw = np.where(recent, 0.0, rule.points)
        return RuleResult(rule.id, rule.group, occurrences, raw)
    assert rule.event is not None
    _, leads, times = table.of_types(rule.event)
    keep = None
    if rule.where is not None:
        keep = table.where(rule.where, rule.event)
    if rule.expires_after is not None:
        fresh = table.as_of - times < rule.expires_after
        keep = fresh if keep is None else keep & fresh
    if keep is not None:
        leads, times = leads[keep], times[keep]
    if rule.count is not None:
        awards = count_windows(leads, times, rule.count.at_least, rule.count.within, rule.once)
        leads, times = leads[awards], times[awards]
    elif rule.once and len(leads):
        first = np.flatnonzero(np.r_[True, leads[1:] != leads[:-1]])
        leads, times = leads[first], times[first]
    occurrences = np.bincount(leads, minlength=n).astype(np.int64)
    if rule.half_life is None:
        table_of_sums = sums.prefix_sums(rule.points, int(occurrences.max(initial=0)))
        raw = table_of_sums[occurrences]
    else:
        values = decayed(rule.points, table.as_of - times, rule.half_life)
        raw = sums.group_sums(values, leads, n)
    return RuleResult(rule.id, rule.group, occurrences, raw)


def decayed(points: float, ages: np.ndarray, half_life: int) -> np.ndarray:
    """`points × 0.5 ** (age / half_life)` exactly as Python computes it."""
    if len(ages) == 0:
        return np.zeros(0, dtype=np.float64)
    exponents = ages / half_life  # int64 / int: one correctly rounded division (ages < 2**53)
    factors = pl.select(pl.lit(0.5).pow(pl.Series(exponents, dtype=pl.Float64))).to_series()
    out = points * factors.to_numpy()
    for i in np.flatnonzero(ages >= _EXACT_AGE):
        out[i] = points * 0.5 ** (int(ages[i]) / half_life)
    return out
