"""`leadscore suggest` and `leadscore backtest`: rule points, thresholds and models judged
against history (SPEC §7).

A mistake the user can fix (a bad model or file, an unknown lead in the outcomes, no decided
leads, one outcome only) is one line on stderr and exit code 2. scikit-learn and the rest
load when a command runs, not when the CLI starts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from leadscore.cli.support import parse_optional_as_of, progress_bar, user_errors
from leadscore.core.model import Model
from leadscore.engine.model_file import load_model_file
from leadscore.tuning.errors import TuningError
from leadscore.tuning.history import load_history, read_scores

Leads = Annotated[Path, typer.Option("--leads", help="Leads: CSV, JSON Lines or Parquet.")]
Events = Annotated[Path | None, typer.Option("--events", help="Events of those leads.")]
Outcomes = Annotated[
    Path,
    typer.Option("--outcomes", help="Outcomes: lead_id, outcome (converted/lost), occurred_at."),
]
AsOf = Annotated[
    str | None,
    typer.Option("--as-of", help="End of the history (ISO 8601); default: the latest record."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


@user_errors
def suggest_command(
    model: Annotated[Path, typer.Option("--model", "-m", help="The rule model to tune.")],
    leads: Leads,
    outcomes: Outcomes,
    out: Annotated[Path, typer.Option("--out", help="Where to write the suggested model.")],
    events: Events = None,
    target_precision: Annotated[
        float | None,
        typer.Option(help="Conversion rate that MQLs must reach (0–1); SQL is set higher."),
    ] = None,
    capacity: Annotated[
        float | None, typer.Option(help="New SQLs sales can work per week.")
    ] = None,
    as_of: AsOf = None,
    seed: Annotated[int, typer.Option(help="Seed of the cross-validation folds.")] = 0,
    as_json: AsJson = False,
) -> None:
    """Suggest rule points and MQL/SQL thresholds from history; write them to a NEW file."""
    from leadscore.tuning import report
    from leadscore.tuning.suggest import suggest
    from leadscore.tuning.yamlfile import edited_text, write_model

    if target_precision is not None and not 0 < target_precision <= 1:
        raise TuningError(f"--target-precision must be in (0, 1], not {target_precision:g}")
    if capacity is not None and capacity <= 0:
        raise TuningError(f"--capacity must be a positive number, not {capacity:g}")
    if out.resolve() == model.resolve():
        raise TuningError(f"--out {out} is the input model; choose another file")
    if not out.parent.is_dir():
        raise TuningError(f"--out {out}: the folder {out.parent} does not exist")
    rules = _model(model)
    text = model.read_text(encoding="utf-8")
    history = load_history(leads, events, outcomes, parse_optional_as_of(as_of))
    work = 3 * len(history.decided) + (len(history.leads) if capacity is not None else 0)
    with progress_bar("suggest", total=work) as bar:
        result = suggest(
            rules,
            history,
            target_precision=target_precision,
            capacity=capacity,
            seed=seed,
            progress=bar.advance,
        )
    new_text = edited_text(text, result.rules, result.groups, result.thresholds)
    written = write_model(new_text, out, model)
    if as_json:
        typer.echo(
            json.dumps(report.suggestion_json(result, str(out)), indent=2, ensure_ascii=False)
        )
    else:
        report.console().print(report.suggestion_tables(result, str(out), written.version))


@user_errors
def backtest_command(
    leads: Leads,
    outcomes: Outcomes,
    models: Annotated[
        list[Path] | None,
        typer.Option("--model", "-m", help="A rule model to replay (repeat to compare)."),
    ] = None,
    scores: Annotated[
        list[Path] | None,
        typer.Option(
            "--scores", help="lead_id + probability or score columns (e.g. predictive output)."
        ),
    ] = None,
    events: Events = None,
    as_of: AsOf = None,
    as_json: AsJson = False,
) -> None:
    """Replay history under models (and score files) and compare AUC, bands, qualification."""
    from leadscore.tuning import report
    from leadscore.tuning.backtest import backtest

    models, scores = models or [], scores or []
    if not models and not scores:
        raise TuningError("give at least one --model (or --scores) to backtest")
    loaded = [_model(path) for path in models]
    history = load_history(leads, events, outcomes, parse_optional_as_of(as_of))
    columns = [read_scores(path) for path in scores]
    names = _names([*models, *scores])
    with progress_bar("backtest", total=len(history.leads) * len(loaded)) as bar:
        result = backtest(
            history,
            list(zip(names, loaded, strict=False)),
            list(zip(names[len(loaded) :], columns, strict=True)),
            progress=bar.advance,
        )
    if as_json:
        typer.echo(json.dumps(report.backtest_json(result), indent=2, ensure_ascii=False))
    else:
        report.console().print(report.backtest_tables(result))


def _model(path: Path) -> Model:
    """The model to tune: a missing or non-UTF-8 file is named as such (not a read error)."""
    if not path.is_file():
        raise TuningError(f"{path}: no such model file")
    try:
        return load_model_file(path)
    except UnicodeDecodeError:
        raise TuningError(f"{path}: not a UTF-8 text file") from None


def _names(paths: list[Path]) -> list[str]:
    """File stems, or the paths as given where two stems are the same."""
    stems = [p.name.split(".")[0] for p in paths]
    return [s if stems.count(s) == 1 else str(p) for s, p in zip(stems, paths, strict=True)]
