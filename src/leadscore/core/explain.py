"""Score results and their explanations (SPEC §2.5, §2.6).

Values are rounded to 2 decimals, half to even, once, at the end; grades, tiers and stages
compare the rounded values so that what a person reads is what was compared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Adjustment:
    """A manual points override (§4): added after combination, clamped with the total."""

    id: str
    points: float
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Contribution:
    """One line of an explanation, in total-score units (`score`).

    kind: `rule` (a rule that contributed), `cap` (a group, section or total clamp, with the
    value before and after it), `predictive` (the blended probability, §7: raw is the
    probability), or `adjustment` (a manual override).
    """

    kind: str
    id: str
    score: float
    section: str | None = None
    group: str | None = None
    occurrences: int = 0
    raw: float = 0.0
    capped: float = 0.0
    cut_by: tuple[str, ...] = ()
    reason: str = ""

    def to_dict(self, digits: int = 4) -> dict[str, Any]:
        line: dict[str, Any] = {"kind": self.kind, "id": self.id}
        if self.section is not None:
            line["section"] = self.section
        if self.group is not None:
            line["group"] = self.group
        if self.kind == "rule":
            line["occurrences"] = self.occurrences
        line["raw"] = round2(self.raw, digits)
        line["capped"] = round2(self.capped, digits)
        if self.kind == "rule":
            line["cut_by"] = list(self.cut_by)
        if self.reason:
            line["reason"] = self.reason
        line["score"] = round2(self.score, digits)
        return line


ScoreKind = Literal["id", "number", "label"]

SCORE_COLUMNS: tuple[tuple[str, ScoreKind], ...] = (
    ("lead_id", "id"),
    ("score", "number"),
    ("fit", "number"),
    ("engagement", "number"),
    ("grade", "label"),
    ("tier", "label"),
    ("stage", "label"),
)
"""The §3 score record, in output order, declared once: an `id` (text), `number`s (rounded
to 2 decimals) and `label`s (text, or none when no grade, tier or stage applies). Frames,
Arrow, Spark, CSV and the API's response fields derive from it; the first fields of
ScoreResult are these columns."""

SCORE_NAMES = tuple(name for name, _ in SCORE_COLUMNS)
SCORED = SCORE_NAMES[1:]
"""The record without its lead id: what a stored lead keeps of its score, and history records."""
NUMBERS = tuple(name for name, kind in SCORE_COLUMNS if kind == "number")


@dataclass(frozen=True, slots=True)
class ScoreResult:
    lead_id: str
    score: float
    fit: float
    engagement: float
    grade: str | None
    tier: str | None
    stage: str | None
    fit_points: float = 0.0
    engagement_points: float = 0.0
    contributions: tuple[Contribution, ...] = field(default_factory=tuple)

    def row(self) -> dict[str, Any]:
        """The §3 output columns (SCORE_COLUMNS)."""
        return {name: getattr(self, name) for name in SCORE_NAMES}

    def explained(self) -> dict[str, Any]:
        """The row plus its explanation (the JSON the CLI, API and dashboard show)."""
        return {
            **self.row(),
            "fit_points": round2(self.fit_points, 4),
            "engagement_points": round2(self.engagement_points, 4),
            "contributions": [c.to_dict() for c in self.contributions],
        }


def round2(value: float, digits: int = 2) -> float:
    """Round half to even (Python's correctly rounded `round`); never returns -0.0."""
    rounded = round(value, digits)
    return rounded + 0.0 if rounded != 0 else 0.0


def report(
    *,
    lead_id: str,
    total: float,
    fit: float,
    engagement: float,
    fit_points: float,
    engagement_points: float,
    contributions: list[Contribution],
    decide: Callable[[float, float], tuple[str | None, str | None, str | None]],
) -> ScoreResult:
    """Round once, then let `decide(total, fit)` grade, tier and stage the rounded values."""
    score, fit_score, engagement_score = round2(total), round2(fit), round2(engagement)
    grade, tier, stage = decide(score, fit_score)
    return ScoreResult(
        lead_id=lead_id,
        score=score,
        fit=fit_score,
        engagement=engagement_score,
        grade=grade,
        tier=tier,
        stage=stage,
        fit_points=fit_points,
        engagement_points=engagement_points,
        contributions=tuple(contributions),
    )
