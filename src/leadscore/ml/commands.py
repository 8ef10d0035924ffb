"""CLI commands of the predictive side: `train`, `predict`, `evaluate`.

The only layer that reads the clock or prints; every user mistake becomes one line on stderr
and exit code 2.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from functools import wraps
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from leadscore.ml import artifact, card
from leadscore.ml import columns as col
from leadscore.ml.errors import MLInputError
from leadscore.ml.estimators import lightgbm_available
from leadscore.ml.io import read_table


class Engine(StrEnum):
    """Which gradient boosting library to use."""

    auto = "auto"
    sklearn = "sklearn"
    lightgbm = "lightgbm"


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def _user_errors(func: Callable) -> Callable:
    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except MLInputError as exc:
            raise _fail(str(exc)) from None

    return wrapper


def _as_of(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return col.parse_as_of(text)
    except ValueError as exc:
        raise MLInputError(f"--as-of: {exc}") from None


@_user_errors
def train_command(
    data: Annotated[Path, typer.Option("--data", help="CSV, JSON Lines or Parquet (.gz ok).")],
    target: Annotated[str, typer.Option("--target", help="Outcome column.")],
    out: Annotated[Path, typer.Option("--out", help="Model folder to write.")],
    positive: Annotated[
        str | None, typer.Option(help="Target value meaning converted (default: detected).")
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="Column to leave out (repeatable).")
    ] = None,
    id_column: Annotated[
        str | None, typer.Option("--id", help="Id column (not a feature).")
    ] = None,
    time_column: Annotated[
        str | None, typer.Option(help="Date column: validate out of time (past -> future).")
    ] = None,
    row_order_is_time: Annotated[
        bool, typer.Option(help="Rows are in time order: validate out of time.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same model).")] = 42,
    folds: Annotated[
        int | None, typer.Option(help="Cross-validation folds (default 5; 3 from 50,000 rows).")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Reference time for recency (default: latest date).")
    ] = None,
    engine: Annotated[Engine, typer.Option(help="Gradient boosting library.")] = Engine.auto,
) -> None:
    """Learn a calibrated conversion-probability model and write it with its model card."""
    from leadscore.ml.train import TrainOptions, train

    if engine == Engine.lightgbm and not lightgbm_available():
        raise MLInputError("--engine lightgbm: LightGBM is not installed")
    options = TrainOptions(
        target=target,
        positive=positive,
        exclude=list(exclude or []),
        id_column=id_column,
        time_column=time_column,
        row_order_is_time=row_order_is_time,
        seed=seed,
        folds=folds,
        as_of=_as_of(as_of),
        use_lightgbm=None if engine == Engine.auto else engine == Engine.lightgbm,
    )
    frame = read_table(data)
    trained_at = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    result = train(frame, options, source=str(data), trained_at=trained_at)
    model_card = card.build(result.report)
    for w in result.report["leakage"]["warnings"]:
        typer.echo(f"warning: possible leakage in column {w['column']!r}: {w['reason']}", err=True)
    artifact.save(out, result.model, result.meta, model_card, card.to_markdown(model_card))
    m = result.report["metrics"]
    typer.echo(
        f"trained {result.report['model']['chosen']} on {result.report['data']['rows_used']} "
        f"rows: ROC AUC {m['roc_auc']:.3f}, PR AUC {m['pr_auc']:.3f}, Brier {m['brier']:.4f} "
        f"(cross-validated); model written to {out}"
    )


@_user_errors
def predict_command(
    model: Annotated[Path, typer.Option("--model", help="Model folder from `train`.")],
    data: Annotated[Path, typer.Option("--data", help="Leads to score.")],
    out: Annotated[Path, typer.Option("--out", help="Output file (.csv, .jsonl, .parquet).")],
    id_column: Annotated[
        str | None, typer.Option("--id", help="Id column to copy (default: the training one).")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Reference time for recency (default: latest date).")
    ] = None,
    reasons: Annotated[bool, typer.Option(help="Explain each score.")] = True,
) -> None:
    """Score leads: probability, score 0-100 and the reasons, one row per input row."""
    from leadscore.ml.predict import score_table, write_table

    fitted, meta, spec = artifact.load(model)
    frame = read_table(data)
    if id_column is None and meta.get("id_column") in frame.columns:
        id_column = meta["id_column"]
    table = score_table(
        fitted,
        meta,
        spec,
        frame,
        source=str(data),
        id_column=id_column,
        as_of=_as_of(as_of),
        with_reasons=reasons,
    )
    write_table(table, out)
    typer.echo(f"scored {table.height} rows into {out}")


@_user_errors
def evaluate_command(
    model: Annotated[Path, typer.Option("--model", help="Model folder from `train`.")],
    data: Annotated[Path, typer.Option("--data", help="Labelled leads.")],
    target: Annotated[
        str | None, typer.Option("--target", help="Outcome column (default: the training one).")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Reference time for recency (default: latest date).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Measure a model on new labelled leads (the model card's figures)."""
    from leadscore.ml.predict import evaluate_table

    fitted, meta, spec = artifact.load(model)
    frame = read_table(data)
    report = evaluate_table(
        fitted,
        meta,
        spec,
        frame,
        source=str(data),
        target=target or meta["target"],
        as_of=_as_of(as_of),
    )
    if as_json:
        typer.echo(json.dumps(artifact._clean_json(report), indent=2))
        return
    _print_report(report)


def _print_report(report: dict) -> None:
    console = Console()
    summary = Table(title="Model quality on this data")
    summary.add_column("measure")
    summary.add_column("value", justify="right")
    for key, label, fmt in [
        ("rows", "rows", "{:,}"),
        ("positive_rate", "conversion rate", "{:.1%}"),
        ("roc_auc", "ROC AUC", "{:.3f}"),
        ("pr_auc", "PR AUC", "{:.3f}"),
        ("brier", "Brier score", "{:.4f}"),
        ("log_loss", "log loss", "{:.4f}"),
        ("calibration_error", "calibration error", "{:.1%}"),
    ]:
        value = report.get(key)
        summary.add_row(label, "–" if value is None else fmt.format(value))
    console.print(summary)
    lift = Table(title="Lift by decile (best leads first)")
    for name in ("group", "leads", "conversion", "lift", "captured"):
        lift.add_column(name, justify="right")
    for r in report["lift"]:
        lift.add_row(
            f"{10 * (r['decile'] - 1)}-{10 * r['decile']}%",
            str(r["count"]),
            f"{r['conversion_rate']:.1%}",
            "–" if r["lift"] is None else f"{r['lift']:.2f}x",
            "–"
            if r["cumulative_share_of_conversions"] is None
            else f"{r['cumulative_share_of_conversions']:.0%}",
        )
    console.print(lift)
    calib = Table(title="Calibration (predicted vs observed)")
    for name in ("predicted range", "leads", "avg predicted", "observed"):
        calib.add_column(name, justify="right")
    for r in report["calibration"]:
        if r["count"]:
            calib.add_row(
                r["bin"], str(r["count"]), f"{r['predicted']:.1%}", f"{r['observed']:.1%}"
            )
    console.print(calib)


def register(app: typer.Typer) -> None:
    """Add train / predict / evaluate to the CLI."""
    app.command("train")(train_command)
    app.command("predict")(predict_command)
    app.command("evaluate")(evaluate_command)
