"""From regression coefficients to point values, one scale factor per section.

Each section keeps its total of absolute points (over the rules with evidence), so its range,
its `max` and its weight keep their meaning; within the section, points are proportional to
the coefficients, signs included. Values are rounded to a step that suits the section's size.
A rule's own `min`/`max` scale with its points when the sign is kept (the rule's feature is
then unchanged) and are dropped when the sign flips (a cap for the old direction means
nothing in the new one). A sign flip that only the overlap with other rules causes (on its
own the rule still points the old way) gives 0 points instead of points against the signal.
A group cap that would cut a single rule's new points on its own is widened to them. Rules
without evidence keep their points.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from leadscore.core.model import Model
from leadscore.tuning.features import RuleSpec
from leadscore.tuning.fitting import Fit


@dataclass
class RuleChange:
    spec: RuleSpec
    new_points: float
    coefficient: float | None
    """Log-odds per unit of the rule's feature; None without evidence."""
    fired_converted: float
    """Share of converted leads where the rule fired."""
    fired_lost: float
    new_min: float | None = None
    new_max: float | None = None
    flipped: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        s = self.spec
        return (self.new_points, self.new_min, self.new_max) != (s.points, s.min, s.max)


@dataclass
class GroupChange:
    section: str
    name: str
    bound: str
    """min or max."""
    old: float
    new: float
    rule: str
    """The rule whose new points needed the room."""


def nice_step(size: float) -> float:
    """A rounding step for points of about `size`: …, 0.1, 0.5, 1, 5, 10, 50, … ≤ size ÷ 40."""
    target = size / 40
    if not math.isfinite(target) or target <= 0:
        return 1.0
    unit = 10.0 ** math.floor(math.log10(target))
    return _clean(5 * unit if 5 * unit <= target * (1 + 1e-9) else unit)


def round_to(value: float, step: float) -> float:
    """Round to a multiple of `step` (half away from zero), as a clean number."""
    steps = math.floor(abs(value) / step + 0.5)
    return _clean(math.copysign(steps * step, value) if steps else 0.0)


def _clean(value: float) -> float:
    value = round(value, 6)
    return value + 0.0


def propose(
    model: Model, specs: Sequence[RuleSpec], fit: Fit, X: np.ndarray, y: np.ndarray
) -> tuple[list[RuleChange], list[GroupChange]]:
    """New points (and caps) for every rule, and the group caps that must widen."""
    fired = X != 0
    converted, lost = y == 1, y == 0
    changes: list[RuleChange] = []
    for section in ("fit", "engagement"):
        members = [i for i, s in enumerate(specs) if s.section == section]
        evidence = [i for i in members if np.isfinite(fit.coef[i])]
        overlap = [
            i for i in evidence if _overlap_flip(specs[i].points, fit.coef[i], fired[:, i], y)
        ]
        evidence = [i for i in evidence if i not in overlap]
        scale = _section_scale(model, section, [specs[i] for i in evidence], fit.coef[evidence])
        size = max([abs(specs[i].points) for i in members], default=0.0)
        if size == 0 and scale is not None:
            size = float(np.abs(fit.coef[evidence]).max()) * scale
        step = nice_step(size)
        for i in members:
            change = RuleChange(
                specs[i],
                specs[i].points,
                None,
                float(fired[converted, i].mean()) if converted.any() else 0.0,
                float(fired[lost, i].mean()) if lost.any() else 0.0,
                specs[i].min,
                specs[i].max,
            )
            if i in overlap:
                # On its own the rule still points the old way; only its overlap with other
                # rules reverses it. Points against a signal a marketer can see read as a bug.
                change.coefficient = float(fit.coef[i])
                change.new_points = 0.0
                change.notes.append(
                    "set to 0: on its own it points the old way, but given the other rules it "
                    "points the other way (they already carry its signal); consider removing it"
                )
            elif i in evidence and scale is not None:
                _rescale(change, float(fit.coef[i]), scale, step)
            elif i not in evidence:
                change.notes.append(_no_evidence(fired[:, i]))
            changes.append(change)
    return changes, _widen_groups(model, changes)


def _overlap_flip(points: float, coefficient: float, fired: np.ndarray, y: np.ndarray) -> bool:
    """The regression reverses the rule's sign while its own evidence agrees with the old one."""
    if points == 0 or coefficient == 0 or (coefficient > 0) == (points > 0):
        return False
    converted = fired[y == 1].mean() if (y == 1).any() else 0.0
    lost = fired[y == 0].mean() if (y == 0).any() else 0.0
    return (coefficient > 0) != (converted > lost)


def _section_scale(
    model: Model, section: str, evidence: list[RuleSpec], coef: np.ndarray
) -> float | None:
    """Points per unit of coefficient that keeps the section's total of absolute points
    (over the rules with evidence); a section whose points are all 0 gets its `max` (or 100)."""
    total_coef = float(np.abs(coef).sum())
    if total_coef == 0:
        return None
    total = sum(abs(s.points) for s in evidence)
    if total == 0:
        bound = getattr(model, section).max
        total = bound if model.combine == "weighted" and bound else 100.0
    return total / total_coef


def _rescale(change: RuleChange, coefficient: float, scale: float, step: float) -> None:
    spec = change.spec
    change.coefficient = coefficient
    new = round_to(coefficient * scale, step)
    change.new_points = new
    if new == 0:
        change.notes.append("rounds to 0 points: the rule adds nothing; consider removing it")
        return
    if spec.points != 0 and (new > 0) != (spec.points > 0):
        change.flipped = True
        direction = "raises" if new > 0 else "lowers"
        note = f"sign flipped ({_fmt(spec.points)} → {_fmt(new)}): given the other rules, it "
        note += f"{direction} the odds of converting"
        change.notes.append(note)
        if spec.min is not None or spec.max is not None:
            change.new_min = change.new_max = None
            change.notes.append("its min/max caps were dropped")
        return
    if spec.points != 0:
        ratio = new / spec.points
        change.new_min = None if spec.min is None else round_to(spec.min * ratio, step)
        change.new_max = None if spec.max is None else round_to(spec.max * ratio, step)
    elif spec.min is not None or spec.max is not None:
        change.new_min = change.new_max = None
        change.notes.append("its min/max caps, set for 0 points, were dropped")


def _no_evidence(column: np.ndarray) -> str:
    if not column.any():
        return "no evidence: never fired before an outcome; points kept"
    return "no evidence: fired for every decided lead; points kept"


def _widen_groups(model: Model, changes: list[RuleChange]) -> list[GroupChange]:
    """Group caps that would cut one rule's new points on its own, widened to them."""
    widened: dict[tuple[str, str, str], GroupChange] = {}
    for change in changes:
        spec = change.spec
        if spec.group is None or change.coefficient is None:
            continue
        group = getattr(model, spec.section).groups[spec.group]
        own = change.new_points
        if change.new_max is not None:
            own = min(own, change.new_max)
        if change.new_min is not None:
            own = max(own, change.new_min)
        caps: tuple[tuple[str, float | None, Callable[[float, float], bool]], ...] = (
            ("max", group.max, lambda v, cap: v > cap),
            ("min", group.min, lambda v, cap: v < cap),
        )
        for bound, old, beyond in caps:
            if old is None:
                continue
            key = (spec.section, spec.group, bound)
            current = widened[key].new if key in widened else old
            if beyond(own, current):
                widened[key] = GroupChange(spec.section, spec.group, bound, old, own, spec.id)
    for item in widened.values():
        for change in changes:
            if change.spec.id == item.rule:
                change.notes.append(f"group {item.name} {item.bound} widened to {_fmt(item.new)}")
    return list(widened.values())


def apply(model: Model, changes: Sequence[RuleChange], groups: Sequence[GroupChange]) -> Model:
    """The model with the new points, caps and group caps (no YAML involved)."""
    by_id = {c.spec.id: c for c in changes}
    sections = {}
    for name in ("fit", "engagement"):
        section = getattr(model, name)
        rules = []
        for rule in section.rules:
            change = by_id[rule.id]
            update: dict[str, Any] = {"points": change.new_points}
            if name == "engagement":
                update |= {"min": change.new_min, "max": change.new_max}
            rules.append(rule.model_copy(update=update))
        new_groups = dict(section.groups)
        for cap in groups:
            if cap.section == name:
                group = new_groups[cap.name]
                new_groups[cap.name] = group.model_copy(update={cap.bound: cap.new})
        sections[name] = section.model_copy(update={"rules": rules, "groups": new_groups})
    return model.model_copy(update=sections)


def _fmt(value: float) -> str:
    return f"{value:+g}"
