"""The pydantic schema of the scoring model file (SPEC §2), and its cross-field checks.

Types and unknown keys are checked by pydantic; conditions by `conditions.parse_condition`;
the checks that span several keys (weights, groups, unique ids) run on the raw data in
`cross_field_errors`, so that one load reports every error of a file even when pydantic
rejects part of it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Literal, TypeGuard

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from leadscore.core.conditions import Condition, Errors, RawMapping, parse_condition
from leadscore.core.durations import parse_duration

INF = math.inf


def _condition(stage: bool) -> Callable[[object], Condition]:
    def validate(raw: object) -> Condition:
        if isinstance(raw, Condition):
            return raw
        errors: Errors = []
        parsed = parse_condition(raw, "", errors, stage=stage)
        if errors:
            raise PydanticCustomError("condition", "{summary}", {"summary": "", "errors": errors})
        return parsed

    return validate


_CONDITION_SCHEMA = {
    "description": "A condition: {field: NAME, OP: VALUE} or {all|any: [...]} or {not: ...}",
    "type": "object",
}
LeadCondition = Annotated[
    Condition, BeforeValidator(_condition(False)), WithJsonSchema(_CONDITION_SCHEMA)
]
StageCondition = Annotated[
    Condition, BeforeValidator(_condition(True)), WithJsonSchema(_CONDITION_SCHEMA)
]
Duration = Annotated[
    int,
    BeforeValidator(parse_duration),
    WithJsonSchema({"type": "string", "pattern": "^[0-9]+[smhdw]$", "examples": ["30d"]}),
]


def _event_types(raw: object) -> tuple[str, ...]:
    if isinstance(raw, str) and raw:
        return (raw,)
    if isinstance(raw, list) and raw and all(isinstance(t, str) and t for t in raw):
        return tuple(raw)
    raise ValueError("must be an event type or a non-empty list of event types")


EventTypes = Annotated[
    tuple[str, ...],
    BeforeValidator(_event_types),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
]


def _version(raw: object) -> str | int | float:
    if isinstance(raw, str | int | float) and not isinstance(raw, bool):
        return raw
    raise ValueError("must be a number or a string")


class Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, arbitrary_types_allowed=True
    )


class Group(Strict):
    min: float | None = None
    max: float | None = None

    @property
    def bounds(self) -> tuple[float, float]:
        return (-INF if self.min is None else self.min, INF if self.max is None else self.max)


class FitRule(Strict):
    id: str
    group: str | None = None
    when: LeadCondition
    points: float


class Count(Strict):
    at_least: int = Field(ge=1)
    within: Duration


class EngagementRule(Strict):
    id: str
    group: str | None = None
    event: EventTypes | None = None
    where: LeadCondition | None = None
    points: float
    min: float | None = None
    max: float | None = None
    half_life: Duration | None = None
    expires_after: Duration | None = None
    once: bool = False
    count: Count | None = None
    inactive_for: Duration | None = None

    @property
    def bounds(self) -> tuple[float, float]:
        return (-INF if self.min is None else self.min, INF if self.max is None else self.max)


class Section(Strict):
    weight: float | None = None
    min: float | None = None
    max: float | None = None
    groups: dict[str, Group] = Field(default_factory=dict)


class FitSection(Section):
    rules: list[FitRule] = Field(default_factory=list)


class EngagementSection(Section):
    rules: list[EngagementRule] = Field(default_factory=list)


class Stage(Strict):
    name: str
    when: StageCondition | None = None
    min_score: float | None = None
    demote: bool = False


class Predictive(Strict):
    """Blend of a predictive model's probability into the total (SPEC §7).

    total = (1 − weight) × (the rule total) + weight × 100 × probability, before manual
    adjustments and the final clamp; a lead with no probability keeps its rule total.
    `model` names a predictive model version of the store, or `active`.
    """

    model: Annotated[str | int | float, BeforeValidator(_version)]
    weight: float = Field(ge=0, le=1)


class Accounts(Strict):
    """Account roll-up (SPEC §11); no effect on a lead's own score."""

    rollup: Literal["max", "top_mean", "sum"] = "max"
    n: int = Field(default=3, ge=1)


class Model(Strict):
    name: str = "model"
    version: Annotated[str | int | float, BeforeValidator(_version)] = 1
    combine: Literal["weighted", "sum"] = "weighted"
    fit: FitSection = Field(default_factory=FitSection)
    engagement: EngagementSection = Field(default_factory=EngagementSection)
    grades: dict[str, float] = Field(default_factory=dict)
    tiers: dict[str, float] = Field(default_factory=dict)
    stages: list[Stage] = Field(default_factory=list)
    predictive: Predictive | None = None
    accounts: Accounts | None = None

    @property
    def blend(self) -> float | None:
        """The weight of a predicted probability in the total (§7), or None: no blending."""
        if self.predictive is None or self.combine != "weighted":
            return None
        return self.predictive.weight

    def section_bounds(self, section: Section) -> tuple[float, float]:
        """[min, max] a section's points are clamped to (§2.3, §2.4)."""
        low = 0.0 if section.min is None else section.min
        high = INF if section.max is None else section.max
        return low, high


# ---------------------------------------------------------------------------------------
# Checks spanning several keys, on the raw YAML data


def cross_field_errors(raw: object) -> Errors:
    """Every cross-key error of §2.0–§2.4, tolerant of data pydantic may also reject."""
    errors: Errors = []
    if not isinstance(raw, Mapping):
        return errors
    combine = raw.get("combine", "weighted")
    seen_ids: dict[str, str] = {}
    weights: list[float] = []
    for name in ("fit", "engagement"):
        section = raw.get(name)
        if section is None:
            section = {}
        if not isinstance(section, Mapping):
            continue
        _check_section(name, section, combine, errors, weights)
        groups = section.get("groups") or {}
        for path, rule in _rules(name, section):
            _check_rule(name, path, rule, groups, errors, seen_ids)
    if raw.get("predictive") is not None and combine != "weighted":
        errors.append(("predictive", "blending a probability needs combine: weighted"))
    if combine == "weighted" and len(weights) == 2 and abs(sum(weights) - 1.0) > 1e-9:
        errors.append(
            ("engagement.weight", f"fit.weight + engagement.weight must be 1, not {sum(weights):g}")
        )
    return errors


def _number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_section(
    name: str, section: RawMapping, combine: object, errors: Errors, weights: list[float]
) -> None:
    low, high = section.get("min"), section.get("max")
    if combine == "weighted":
        for key in ("weight", "max"):
            if section.get(key) is None:
                errors.append((f"{name}.{key}", "required when combine is weighted"))
        weight = section.get("weight")
        if _number(weight):
            if not 0 <= weight <= 1:
                errors.append((f"{name}.weight", f"must be between 0 and 1, not {weight}"))
            weights.append(weight)
        if _number(high) and high <= 0:
            errors.append((f"{name}.max", f"must be greater than 0, not {high}"))
    low = 0 if low is None else low
    if _number(low) and _number(high) and low >= high:
        errors.append((f"{name}.min", f"min {low} must be less than max {high}"))
    groups = section.get("groups")
    if isinstance(groups, Mapping):
        for group_name, group in groups.items():
            if isinstance(group, Mapping):
                _check_bounds(f"{name}.groups.{group_name}", group, errors)


def _check_bounds(path: str, item: RawMapping, errors: Errors) -> None:
    low, high = item.get("min"), item.get("max")
    if _number(low) and _number(high) and low > high:
        errors.append((f"{path}.min", f"min {low} is greater than max {high}"))


def _rules(name: str, section: RawMapping) -> Iterator[tuple[str, RawMapping]]:
    rules = section.get("rules")
    if isinstance(rules, list):
        for i, rule in enumerate(rules):
            if isinstance(rule, Mapping):
                yield f"{name}.rules[{i}]", rule


def _check_rule(
    section: str,
    path: str,
    rule: RawMapping,
    groups: object,
    errors: Errors,
    seen_ids: dict[str, str],
) -> None:
    rule_id = rule.get("id")
    if isinstance(rule_id, str):
        if rule_id in seen_ids:
            errors.append(
                (f"{path}.id", f"duplicate rule id {rule_id!r} (first at {seen_ids[rule_id]})")
            )
        else:
            seen_ids[rule_id] = path
    group = rule.get("group")
    if isinstance(group, str) and not (isinstance(groups, Mapping) and group in groups):
        errors.append((f"{path}.group", f"group {group!r} is not declared under {section}.groups"))
    if section == "fit":
        for key in ("min", "max"):
            if key in rule:
                errors.append((f"{path}.{key}", "fit rules take no min/max; cap a group instead"))
        return
    _check_bounds(path, rule, errors)
    if "event" not in rule and "inactive_for" not in rule:
        errors.append((path, "an engagement rule requires event or inactive_for"))
    if "inactive_for" in rule:
        for key in ("half_life", "expires_after", "once", "count"):
            if key in rule:
                errors.append((f"{path}.{key}", f"{key} is not allowed on an inactive_for rule"))
