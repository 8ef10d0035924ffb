"""The predictive commands: `train`, `predict`, `evaluate`, and the `predictive` sub-commands
for the model versions trained from the store (SPEC §7).

Only the CLI reads the clock or prints; every user mistake becomes one line on stderr and exit
code 2. scikit-learn and skops are imported inside the commands that need them, so that
starting the CLI for any other command stays fast.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from rich.console import Console
from rich.table import Table

from leadscore.cli.support import service, user_errors
from leadscore.ml import card
from leadscore.ml import columns as col
from leadscore.ml.errors import MLInputError
from leadscore.ml.io import read_table

predictive_app = typer.Typer(
    help="List and activate predictive model versions trained from the store.",
    no_args_is_help=True,
)


class Engine(StrEnum):
    """Which gradient boosting library to use."""

    auto = "auto"
    sklearn = "sklearn"
    lightgbm = "lightgbm"


def _as_of(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return col.parse_as_of(text)
    except ValueError as exc:
        raise MLInputError(f"--as-of: {exc}") from None


@user_errors
def train_command(
    data: Annotated[
        Path | None, typer.Option("--data", help="CSV, JSON Lines or Parquet (.gz ok).")
    ] = None,
    target: Annotated[str | None, typer.Option("--target", help="Outcome column.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Model folder to write.")] = None,
    from_store: Annotated[
        bool,
        typer.Option(
            "--from-store",
            help="Train on the service's leads with outcomes (LEADSCORE_DATABASE_URL) and "
            "store the model as a new predictive version.",
        ),
    ] = False,
    name: Annotated[str | None, typer.Option(help="With --from-store: the version's name.")] = None,
    activate: Annotated[
        bool, typer.Option(help="With --from-store: make the new version active.")
    ] = True,
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
    """Learn a calibrated conversion-probability model and write it with its model card
    (from a file with --data/--target/--out, or from the store with --from-store)."""
    from leadscore.ml import artifact
    from leadscore.ml.estimators import lightgbm_available
    from leadscore.ml.train import TrainOptions, train

    if engine == Engine.lightgbm and not lightgbm_available():
        raise MLInputError("--engine lightgbm: LightGBM is not installed")
    use_lightgbm = None if engine == Engine.auto else engine == Engine.lightgbm
    file_options = {
        "--data": data,
        "--target": target,
        "--out": out,
        "--positive": positive,
        "--id": id_column,
        "--time-column": time_column,
        "--as-of": as_of,
    }
    if from_store:
        given = [k for k, v in file_options.items() if v is not None] + (
            ["--row-order-is-time"] if row_order_is_time else []
        )
        if given:
            raise MLInputError(f"--from-store reads the store; {', '.join(given)} do not apply")
        _train_from_store(name, list(exclude or []), seed, folds, use_lightgbm, activate)
        return
    if name is not None:
        raise MLInputError("--name applies with --from-store only")
    for option, value, what in (
        ("--data", data, "FILE"),
        ("--target", target, "COLUMN"),
        ("--out", out, "MODEL_DIR"),
    ):
        if value is None:
            raise MLInputError(
                f"{option} {what} is required (or train from the store: --from-store)"
            )
    assert data is not None and target is not None and out is not None
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
        use_lightgbm=use_lightgbm,
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


@user_errors
def predict_command(
    data: Annotated[Path, typer.Option("--data", help="Leads to score.")],
    out: Annotated[Path, typer.Option("--out", help="Output file (.csv, .jsonl, .parquet).")],
    model: Annotated[
        Path | None, typer.Option("--model", help="Model folder from `train`.")
    ] = None,
    model_version: Annotated[
        int | None,
        typer.Option(
            "--model-version", help="A predictive model version stored by `train --from-store`."
        ),
    ] = None,
    events: Annotated[
        Path | None,
        typer.Option(help="With --model-version: the leads' events (lead_id, type, occurred_at)."),
    ] = None,
    id_column: Annotated[
        str | None, typer.Option("--id", help="Id column to copy (default: the training one).")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Reference time for recency (default: latest date).")
    ] = None,
    reasons: Annotated[bool, typer.Option(help="Explain each score.")] = True,
    drift_report: Annotated[
        Path | None,
        typer.Option(
            "--drift-report",
            help="Write the drift report (these rows against the training data) as JSON.",
        ),
    ] = None,
) -> None:
    """Score leads: probability, score 0-100 and the reasons, one row per input row; warn on
    stderr when features have drifted from the training data."""
    from leadscore.ml.predict import drift_report as drift_of
    from leadscore.ml.predict import score_table, write_table

    if (model is None) == (model_version is None):
        raise MLInputError("give either --model MODEL_DIR or --model-version V")
    if model_version is not None:
        table, drift = _predict_with_version(model_version, data, events, id_column, as_of, reasons)
        write_table(table, out)
        typer.echo(
            f"scored {table.height} rows with predictive model version {model_version} into {out}"
        )
        _drift(drift, drift_report, f"predictive model version {model_version}", data)
        return
    if events is not None:
        raise MLInputError("--events applies with --model-version only")
    from leadscore.ml import artifact

    assert model is not None
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
    moment = _as_of(as_of)
    _drift(
        lambda: drift_of(meta, spec, frame, as_of=moment, where=str(model)),
        drift_report,
        str(model),
        data,
    )


def _drift(
    compute: Callable[[], dict[str, Any]], path: Path | None, model: str, data: Path
) -> None:
    """After scoring: the drift warning on stderr, and the full report in `path` if asked.

    A model trained before drift reports existed gets a note (exit 2 only when the report
    file was asked for); the scores are written either way."""
    from leadscore.ml import artifact, drift

    try:
        found = compute()
    except drift.NoProfileError as exc:
        if path is not None:
            raise MLInputError(f"--drift-report: {exc}") from None
        typer.echo(f"note: {exc}", err=True)
        return
    line = drift.warning(found)
    if line is not None:
        typer.echo(line, err=True)
    if path is not None:
        document = {"model": model, "data": str(data), **found}
        try:
            artifact.write_json(path, document)
        except OSError as exc:
            raise MLInputError(f"{path}: cannot write ({exc.strerror or exc})") from None


def _predict_with_version(
    version: int,
    data: Path,
    events: Path | None,
    id_column: str | None,
    as_of: str | None,
    with_reasons: bool,
) -> tuple[pl.DataFrame, Callable[[], dict[str, Any]]]:
    """Score a leads file (SPEC §3 columns: id, email, attributes) with a stored version;
    the scores, and how to compute the drift report of the same rows."""
    from leadscore.service.predictions import stored_predictor

    frame = read_table(data)
    if id_column is None:
        id_column = next((c for c in ("id", "lead_id") if c in frame.columns), None)
        if id_column is None:
            raise MLInputError(f"{data}: no id column (id or lead_id); name one with --id")
    elif id_column not in frame.columns:
        raise MLInputError(f"{data}: id column {id_column!r} not found")
    leads = frame.rename({id_column: "id"}) if id_column != "id" else frame
    leads = leads.with_columns(pl.col("id").cast(pl.String))
    event_frame = None
    if events is not None:
        event_frame = read_table(events)
        missing = [c for c in ("lead_id", "type", "occurred_at") if c not in event_frame.columns]
        if missing:
            raise MLInputError(f"{events}: missing column(s) {', '.join(missing)}")
    moment = _as_of(as_of)
    micros = int(round((col.now_epoch() if moment is None else moment) * 1e6))
    with service() as ctx:
        predictor = stored_predictor(ctx, version)
    if predictor is None:
        raise MLInputError(
            f"no predictive model version {version} in the store (see `leadscore predictive list`)"
        )
    table = predictor.predict(leads, event_frame, micros)
    table = table.rename({"lead_id": id_column}).with_columns(pl.col("reasons").list.join("; "))
    return (
        table if with_reasons else table.drop("reasons"),
        lambda: predictor.drift(leads, event_frame, micros),
    )


@user_errors
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
    from leadscore.ml import artifact
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
        typer.echo(json.dumps(artifact.clean_json(report), indent=2))
        return
    _print_report(report)


def _print_report(report: dict[str, Any]) -> None:
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


def _train_from_store(
    name: str | None,
    exclude: list[str],
    seed: int,
    folds: int | None,
    use_lightgbm: bool | None,
    activate: bool,
) -> None:
    from leadscore.service import predictions

    with service() as ctx:
        done = predictions.train(
            ctx,
            actor="cli",
            name=name,
            exclude=exclude,
            activate=activate,
            seed=seed,
            folds=folds,
            use_lightgbm=use_lightgbm,
        )
    report = done["card"]
    for w in report["leakage"]["warnings"]:
        typer.echo(f"warning: possible leakage in column {w['column']!r}: {w['reason']}", err=True)
    m, data = report["metrics"], report["data"]["store"]
    typer.echo(
        f"trained {report['model']['chosen']} on {data['leads_with_outcomes']} leads with "
        f"outcomes ({data['converted']} converted, {data['lost']} lost): ROC AUC "
        f"{m['roc_auc']:.3f}, PR AUC {m['pr_auc']:.3f}, Brier {m['brier']:.4f} "
        "(cross-validated)"
    )
    state = "active" if done["active"] else "not active"
    typer.echo(f"stored as predictive model version {done['version']} ({state})")


@predictive_app.command("list")
def predictive_list() -> None:
    """List the predictive model versions trained from the store, with their figures."""
    from leadscore.service import predictions

    with service() as ctx:
        versions = predictions.list_models(ctx, with_cards=True)
    table = Table("version", "name", "active", "created", "rows", "estimator", "ROC AUC", "Brier")
    for v in versions:
        s = v["summary"]
        table.add_row(
            str(v["version"]),
            v["name"],
            "yes" if v["active"] else "",
            v["created_at"],
            str(s["rows"]),
            str(s["estimator"]),
            "–" if s["roc_auc"] is None else f"{s['roc_auc']:.3f}",
            "–" if s["brier"] is None else f"{s['brier']:.4f}",
        )
    Console().print(table)


@predictive_app.command("activate")
def predictive_activate(
    version: Annotated[int, typer.Argument(help="The predictive model version.")],
) -> None:
    """Make a predictive model version the one the live service shows."""
    from leadscore.service import predictions

    with service() as ctx:
        predictions.activate(ctx, version, "cli")
    typer.echo(f"predictive model version {version} is active")


@predictive_app.command("retrain")
def predictive_retrain(
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Train and judge a challenger even without enough new outcomes or drift.",
        ),
    ] = False,
) -> None:
    """Retrain from the store with a champion/challenger decision, now, and print it."""
    from leadscore.service import retraining

    with service() as ctx:
        decision = retraining.retrain(ctx, reason="cli", actor="cli", force=force)
    _print_decision(decision.as_dict())


def _print_decision(decision: dict[str, Any]) -> None:
    """The two models' holdout figures side by side, then the decision and its reason."""
    console = Console()
    holdout = decision["holdout"]
    if holdout is not None:
        console.print(
            f"holdout: the newest {holdout['rows']} outcomes ({holdout['converted']} converted, "
            f"{holdout['first_outcome_at']} to {holdout['last_outcome_at']}); the challenger "
            f"learned from the {holdout['trained_on']} before them",
            markup=False,
            soft_wrap=True,
        )
    models = [(n, decision[n]) for n in ("champion", "challenger") if decision[n] is not None]
    if decision["challenger"] is not None:  # something was trained: its figures, and the other's
        table = Table("model", "version", "rows", "estimator", "ROC AUC", "log loss", "Brier")

        def figure(value: float | None, digits: int) -> str:
            return "–" if value is None else f"{value:.{digits}f}"

        for name, m in models:
            table.add_row(
                name,
                "–" if m.get("version") is None else str(m["version"]),
                "–" if m.get("rows") is None else str(m["rows"]),
                str(m.get("estimator") or "–"),
                figure(m.get("roc_auc"), 3),
                figure(m.get("log_loss"), 4),
                figure(m.get("brier"), 4),
            )
        console.print(table)
    console.print(f"{decision['decision']}: {decision['why']}", markup=False, soft_wrap=True)
