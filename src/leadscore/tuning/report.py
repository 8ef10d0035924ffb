"""What `suggest` and `backtest` print: Rich tables for people, plain dicts for `--json`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from leadscore.core.timestamps import format_timestamp
from leadscore.tuning.backtest import Backtest, Column
from leadscore.tuning.metrics import Band
from leadscore.tuning.points import RuleChange
from leadscore.tuning.suggest import Suggestion
from leadscore.tuning.thresholds import Threshold


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:g}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _points(points: float, low: float | None, high: float | None) -> str:
    caps = [f"{k} {_num(v)}" for k, v in (("min", low), ("max", high)) if v is not None]
    return _num(points) + (f" ({', '.join(caps)})" if caps else "")


# --- suggest ------------------------------------------------------------------------------


def suggestion_tables(s: Suggestion, out: str | None, version: object = None) -> Group:
    base = s.converted / s.decided
    head = Text(
        f"{s.decided} decided leads, {s.converted} converted (base rate {base:.1%}), "
        f"{s.weeks:.1f} weeks of history. L2 logistic regression on rule features, "
        f"C = {s.C:g} chosen by {s.folds}-fold cross-validation."
    )
    parts: list[RenderableType] = [head, _rules_table(s.rules), _thresholds_table(s), _auc_table(s)]
    parts.append(_bands_table(s.bands_before, s.bands_after))
    notes = list(s.notes)
    if out is not None:
        notes.append(f"wrote {out} (version {version}); the input model is unchanged")
    parts.extend(Text(f"• {note}") for note in notes)
    return Group(*parts)


def _rules_table(rules: Sequence[RuleChange]) -> Table:
    table = Table(title="Rule points: old → new, with the evidence", title_justify="left")
    for name in ("rule", "section", "old", "new", "coef", "fired: converted", "fired: lost"):
        table.add_column(name, justify="left" if name in ("rule", "section") else "right")
    table.add_column("note")
    for r in rules:
        spec = r.spec
        new = _points(r.new_points, r.new_min, r.new_max)
        table.add_row(
            spec.id,
            spec.section,
            _points(spec.points, spec.min, spec.max),
            Text(new, style="bold") if r.changed else new,
            "—" if r.coefficient is None else f"{r.coefficient:+.3f}",
            _pct(r.fired_converted),
            _pct(r.fired_lost),
            "; ".join(r.notes),
        )
    return table


def _thresholds_table(s: Suggestion) -> Table:
    table = Table(title="Thresholds (on the rescored history)", title_justify="left")
    for name in ("stage", "old", "new", "conversion at or above", "leads at or above"):
        table.add_column(name, justify="left" if name == "stage" else "right")
    table.add_column("per week")
    table.add_column("how")
    for t in (s.mql, s.sql):
        table.add_row(
            t.stage.upper(),
            _num(s.old_thresholds.get(t.stage)),
            _num(t.value),
            _pct(t.precision),
            str(t.count) if t.value is not None else "—",
            "—" if t.per_week is None else f"{t.per_week:.1f}",
            t.rule,
        )
    return table


def _auc_table(s: Suggestion) -> Table:
    table = Table(title="ROC AUC on the same decided leads", title_justify="left")
    table.add_column("model")
    table.add_column("ROC AUC", justify="right")
    table.add_column("measured")
    table.add_row("before", f"{s.auc_before:.3f}", "the current model (nothing was fitted)")
    table.add_row(
        "after",
        f"{s.auc_after_cv:.3f}",
        f"cross-validated: {s.folds} folds, each scored by the model suggested from the others",
    )
    table.add_row("after", f"{s.auc_after:.3f}", "in-sample: the suggested file (optimistic)")
    return table


def _bands_table(before: Sequence[Band], after: Sequence[Band]) -> Table:
    table = Table(title="Conversion by score band (in-sample)", title_justify="left")
    same = [b.label for b in before] == [b.label for b in after]
    if same:
        table.add_column("band")
    for side in ("before", "after"):
        if not same:
            table.add_column(f"{side}: band")
        for name in ("count", "conv.", "rate"):
            table.add_column(f"{side}: {name}", justify="right")
    for i in range(max(len(before), len(after))):
        row = [before[i].label] if same else []
        for bands in (before, after):
            band = bands[i] if i < len(bands) else None
            if not same:
                row.append(band.label if band else "")
            row += _band_cells(band)
        table.add_row(*row)
    return table


def _band_cells(band: Band | None) -> list[str]:
    if band is None:
        return ["", "", ""]
    return [str(band.count), str(band.conversions), _pct(band.rate)]


def suggestion_json(s: Suggestion, out: str | None) -> dict[str, Any]:
    return {
        "decided": s.decided,
        "converted": s.converted,
        "weeks": round(s.weeks, 3),
        "C": s.C,
        "folds": s.folds,
        "auc": {
            "before": round(s.auc_before, 6),
            "after_cross_validated": round(s.auc_after_cv, 6),
            "after_in_sample": round(s.auc_after, 6),
        },
        "rules": [
            {
                "id": r.spec.id,
                "section": r.spec.section,
                "old": {"points": r.spec.points, "min": r.spec.min, "max": r.spec.max},
                "new": {"points": r.new_points, "min": r.new_min, "max": r.new_max},
                "coefficient": r.coefficient,
                "fired_converted": round(r.fired_converted, 6),
                "fired_lost": round(r.fired_lost, 6),
                "flipped": r.flipped,
                "notes": r.notes,
            }
            for r in s.rules
        ],
        "groups": [
            {"section": g.section, "group": g.name, "bound": g.bound, "old": g.old, "new": g.new}
            for g in s.groups
        ],
        "thresholds": {t.stage: _threshold_json(t, s.old_thresholds) for t in (s.mql, s.sql)},
        "bands": {
            "before": [b.to_dict() for b in s.bands_before],
            "after": [b.to_dict() for b in s.bands_after],
        },
        "notes": s.notes,
        "out": out,
    }


def _threshold_json(t: Threshold, old: dict[str, float | None]) -> dict[str, Any]:
    return {
        "old": old.get(t.stage),
        "new": t.value,
        "precision": None if t.precision is None else round(t.precision, 6),
        "count": t.count,
        "per_week": None if t.per_week is None else round(t.per_week, 3),
        "rule": t.rule,
    }


# --- backtest -----------------------------------------------------------------------------


def backtest_tables(b: Backtest) -> Group:
    head = Text(
        f"{b.leads} leads, {b.decided} decided ({b.converted} converted), history "
        f"{format_timestamp(b.start)[:10]} → {format_timestamp(b.end)[:10]}."
    )
    summary = Table(title="Backtest", title_justify="left")
    summary.add_column("")
    for column in b.columns:
        summary.add_column(column.name, justify="right")
    rows = [
        ("decided leads scored", [str(c.scored) for c in b.columns]),
        ("ROC AUC", [f"{c.auc:.3f}" for c in b.columns]),
        ("reached MQL (of all leads)", [_reached(c, "mql", b.leads) for c in b.columns]),
        ("reached SQL (of all leads)", [_reached(c, "sql", b.leads) for c in b.columns]),
        ("median days SQL → conversion", [_days(c) for c in b.columns]),
    ]
    for label, cells in rows:
        summary.add_row(label, *cells)
    parts: list[RenderableType] = [head, summary]
    for column in b.columns:
        parts.append(_column_bands(column))
    return Group(*parts)


def _reached(c: Column, stage: str, leads: int) -> str:
    if c.reached is None or stage not in c.stages:
        return "—"
    count = c.reached[stage]
    return f"{count / leads:.1%} ({count})"


def _days(c: Column) -> str:
    if c.days_to_convert is None:
        return "—"
    return f"{c.days_to_convert:.1f} (n={c.converted_via_sql})"


def _column_bands(column: Column) -> Table:
    table = Table(title=f"Conversion by band: {column.name}", title_justify="left")
    table.add_column("band")
    for name in ("count", "conversions", "rate"):
        table.add_column(name, justify="right")
    for band in column.bands:
        table.add_row(band.label, *_band_cells(band))
    return table


def backtest_json(b: Backtest) -> dict[str, Any]:
    return {
        "leads": b.leads,
        "decided": b.decided,
        "converted": b.converted,
        "start": format_timestamp(b.start),
        "end": format_timestamp(b.end),
        "columns": [c.to_dict(b.leads) for c in b.columns],
    }


def console() -> Console:
    """stdout; wide enough for the tables when it is not a terminal."""
    out = Console(highlight=False)
    return out if out.is_terminal else Console(width=200, highlight=False)
