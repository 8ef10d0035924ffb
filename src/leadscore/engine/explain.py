"""Explanations (SPEC §2.6) as a column: the contributions of core/evaluate.py, per lead.

Every line the reference may write — each rule of each section, each group clamp, each section
clamp, the total clamp — is a candidate with a presence mask; a lead's list is its present
lines in the reference's order. `to_results` turns kernel output back into ScoreResult objects
so that every writer and the `top` command show exactly what they show for the reference.
"""

from __future__ import annotations

from typing import Any, TypeAlias, TypedDict, cast

import numpy as np
import polars as pl

from leadscore.core.evaluate import scale
from leadscore.core.explain import SCORE_NAMES, Contribution, ScoreResult
from leadscore.core.model import Model
from leadscore.engine.outcomes import SectionResult
from leadscore.engine.schema import SCORE_SCHEMA

LINE = pl.Struct(
    {
        "kind": pl.String,
        "id": pl.String,
        "section": pl.String,
        "group": pl.String,
        "occurrences": pl.Int64,
        "raw": pl.Float64,
        "capped": pl.Float64,
        "cut_by": pl.List(pl.String),
        "score": pl.Float64,
    }
)


CutParts: TypeAlias = list[tuple[np.ndarray, str]]
"""A rule's `cut_by` as (per-lead mask, label) pairs, in the reference's order."""


class Line(TypedDict):
    """One candidate line of the explanation: a LINE field each, a value or one per lead."""

    kind: str
    id: str
    section: str | None
    group: str | None
    occurrences: np.ndarray | int
    raw: np.ndarray
    capped: np.ndarray
    cut_by: CutParts | None
    score: np.ndarray


def _against(cut: np.ndarray, contribution: np.ndarray) -> np.ndarray:
    return ((cut < 0) & (contribution > 0)) | ((contribution < 0) & (cut > 0))


def explanation_column(
    model: Model,
    fit: SectionResult,
    engagement: SectionResult,
    total: np.ndarray,
    unclamped: np.ndarray,
    blend: tuple[float, np.ndarray, np.ndarray] | None = None,
) -> pl.Series:
    n = len(total)
    lines: list[tuple[np.ndarray, Line]] = []
    for name, section, outcome in (
        ("fit", model.fit, fit),
        ("engagement", model.engagement, engagement),
    ):
        factor: float | np.ndarray = scale(model, section)
        if blend is not None:
            factor = np.where(blend[1], factor * (1.0 - blend[0]), factor)
        cuts = {
            g: (after - before, after != before) for g, (before, after) in outcome.groups.items()
        }
        assert outcome.points is not None and outcome.summed is not None  # kernel._section
        section_cut = outcome.points - outcome.summed
        for rule, capped in zip(outcome.rules, outcome.capped, strict=True):
            rule_cut = capped != rule.raw
            group_cut = None
            if rule.group in cuts:
                delta, changed = cuts[rule.group]
                group_cut = changed & _against(delta, capped)
            section_cut_by = (section_cut != 0) & _against(section_cut, capped)
            cut_by = _cut_lists(n, rule_cut, rule.group, group_cut, name, section_cut_by)
            lines.append(
                (
                    rule.occurrences > 0,
                    {
                        "kind": "rule",
                        "id": rule.rule_id,
                        "section": name,
                        "group": rule.group,
                        "occurrences": rule.occurrences,
                        "raw": rule.raw,
                        "capped": capped,
                        "cut_by": cut_by,
                        "score": capped * factor,
                    },
                )
            )
        for group, (delta, changed) in cuts.items():
            before, after = outcome.groups[group]
            lines.append(
                (
                    changed,
                    _cap(f"group:{group}", name, group, before, after, delta * factor),
                )
            )
        lines.append(
            (
                section_cut != 0,
                _cap(name, name, None, outcome.summed, outcome.points, section_cut * factor),
            )
        )
    if blend is not None:
        assert model.predictive is not None  # a blend comes from the predictive section
        weight, blended, p = blend
        lines.append(
            (
                blended,
                {
                    "kind": "predictive",
                    "id": f"model:{model.predictive.model}",
                    "section": None,
                    "group": None,
                    "occurrences": 0,
                    "raw": p,
                    "capped": p,
                    "cut_by": None,
                    "score": weight * (100.0 * p),
                },
            )
        )
    lines.append(
        (total != unclamped, _cap("total", None, None, unclamped, total, total - unclamped))
    )
    return _assemble(n, lines)


def _cap(
    line_id: str,
    section: str | None,
    group: str | None,
    raw: np.ndarray,
    capped: np.ndarray,
    score: np.ndarray,
) -> Line:
    return {
        "kind": "cap",
        "id": line_id,
        "section": section,
        "group": group,
        "occurrences": 0,
        "raw": raw,
        "capped": capped,
        "cut_by": None,
        "score": score,
    }


def _cut_lists(
    n: int,
    rule_cut: np.ndarray,
    group: str | None,
    group_cut: np.ndarray | None,
    section: str,
    section_cut: np.ndarray,
) -> CutParts:
    """`cut_by` of one rule as (mask, label) pairs, in the reference's order."""
    parts: CutParts = [(rule_cut, "rule")]
    if group_cut is not None:
        parts.append((group_cut, f"group:{group}"))
    parts.append((section_cut, section))
    return parts


def _assemble(n: int, lines: list[tuple[np.ndarray, Line]]) -> pl.Series:
    """One list of line structs per lead: every candidate line is a struct column, nulled
    where absent, and the lists drop the nulls (one frame, one select)."""
    if not lines:
        return pl.Series("explanation", [[] for _ in range(n)], dtype=pl.List(LINE))
    data: dict[str, np.ndarray] = {}
    structs = []
    schema = LINE.to_schema()
    for i, (present, line) in enumerate(lines):
        data[f"p{i}"] = np.asarray(present, dtype=bool)
        fields = []
        for key, value in line.items():
            dtype = schema[key]
            if key == "cut_by":
                fields.append(_cut_expr(i, cast("CutParts | None", value), data).alias(key))
            elif isinstance(value, np.ndarray):
                data[f"{key}{i}"] = value
                fields.append(pl.col(f"{key}{i}").cast(dtype).alias(key))
            else:
                fields.append(pl.lit(value, dtype=dtype).alias(key))
        structs.append(pl.when(pl.col(f"p{i}")).then(pl.struct(fields)))
    frame = pl.DataFrame(data, height=n)
    return (
        frame.select(pl.concat_list(structs).list.drop_nulls().alias("explanation"))
        .to_series()
        .cast(pl.List(LINE))
    )


def _cut_expr(i: int, parts: CutParts | None, data: dict[str, np.ndarray]) -> pl.Expr:
    if parts is None:
        return pl.lit(None, dtype=pl.List(pl.String))
    items = []
    for j, (mask, label) in enumerate(parts):
        data[f"cut{i}_{j}"] = np.asarray(mask, dtype=bool)
        items.append(pl.when(pl.col(f"cut{i}_{j}")).then(pl.lit(label)))
    return pl.concat_list(items).list.drop_nulls()


def to_results(frame: pl.DataFrame) -> list[ScoreResult]:
    """ScoreResult objects of kernel output (with contributions when it was explained)."""
    explained = "explanation" in frame.columns
    out = []
    for row in frame.iter_rows(named=True):
        contributions: tuple[Contribution, ...] = ()
        if explained:
            contributions = tuple(_contribution(line) for line in row["explanation"])
        out.append(
            ScoreResult(
                **{name: row[name] for name in SCORE_NAMES},
                fit_points=row.get("fit_points", 0.0) or 0.0,
                engagement_points=row.get("engagement_points", 0.0) or 0.0,
                contributions=contributions,
            )
        )
    return out


def _contribution(line: dict[str, Any]) -> Contribution:
    return Contribution(
        kind=line["kind"],
        id=line["id"],
        score=line["score"],
        section=line["section"],
        group=line["group"],
        occurrences=line["occurrences"] or 0,
        raw=line["raw"],
        capped=line["capped"],
        cut_by=tuple(line["cut_by"] or ()),
    )


def results_frame(results: list[ScoreResult], explain: bool = False) -> pl.DataFrame:
    """Reference results in the kernel's output shape (the reference engine as a frame)."""
    rows = [r.row() for r in results]
    frame = pl.DataFrame(rows, schema=SCORE_SCHEMA, orient="row") if rows else None
    if frame is None:
        frame = pl.DataFrame(schema=SCORE_SCHEMA)
    if explain:
        lines = [
            [
                {
                    "kind": c.kind,
                    "id": c.id,
                    "section": c.section,
                    "group": c.group,
                    "occurrences": c.occurrences,
                    "raw": float(c.raw),
                    "capped": float(c.capped),
                    "cut_by": list(c.cut_by) if c.kind == "rule" else None,
                    "score": float(c.score),
                }
                for c in r.contributions
            ]
            for r in results
        ]
        frame = frame.with_columns(
            fit_points=pl.Series([float(r.fit_points) for r in results], dtype=pl.Float64),
            engagement_points=pl.Series(
                [float(r.engagement_points) for r in results], dtype=pl.Float64
            ),
            explanation=pl.Series(lines, dtype=pl.List(LINE)),
        )
    return frame
