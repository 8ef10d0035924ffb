"""What every command shares: the stderr console, exit-2 errors, `--as-of`, the model file,
the progress bar and the service context.

One copy, so that every command reports a mistake the user can fix the same way (SPEC §3):
`error: …` on stderr (or each problem of a model with its key path) and exit code 2, never a
traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from leadscore.core.loader import ModelError
from leadscore.core.model import Model
from leadscore.core.timestamps import TimestampError, parse_instant, to_micros
from leadscore.engine.model_file import load_model_file
from leadscore.engine.readers import InputError
from leadscore.ml.errors import MLInputError
from leadscore.service.context import Context
from leadscore.service.errors import ServiceError
from leadscore.settings import Settings
from leadscore.tuning.errors import TuningError

P = ParamSpec("P")
R = TypeVar("R")

# Without a `file`, Rich looks sys.stderr up at each print: CliRunner's stream is seen.
err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str) -> typer.Exit:
    """Print `error: message` on stderr and return the exit-2 to raise."""
    err.print(f"error: {message}", markup=False)
    return typer.Exit(2)


def user_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn the errors a user can fix into lines on stderr and exit code 2."""

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ModelError as exc:
            report_model_error(exc)
        except (InputError, TuningError, MLInputError, ServiceError) as exc:
            err.print(f"error: {exc}", markup=False)
        except OSError as exc:
            err.print(f"error: {exc.filename or ''}: {exc.strerror or exc}", markup=False)
        raise typer.Exit(2)

    return run


def report_model_error(error: ModelError) -> None:
    """Every problem of a model file on its own line, with its key path."""
    for problem in error.problems:
        err.print(f"{error.source}: {problem}", markup=False)


def load_model_or_exit(path: Path) -> Model:
    """The model, or every error with its key path on stderr and exit 2."""
    try:
        return load_model_file(path)
    except ModelError as exc:
        report_model_error(exc)
        raise typer.Exit(2) from None
    except OSError as exc:
        raise fail(f"{path}: cannot read the model: {exc.strerror or exc}") from None


def parse_as_of(text: str | None) -> int:
    """`--as-of` as epoch µs; now when absent; exit 2 when it is not a timestamp."""
    moment = parse_optional_as_of(text)
    return to_micros(datetime.now(UTC)) if moment is None else moment


def parse_optional_as_of(text: str | None) -> int | None:
    """`--as-of` as epoch µs, or None when absent (the use case picks its own default)."""
    if text is None:
        return None
    try:
        return parse_instant(text)
    except TimestampError as exc:
        raise fail(f"--as-of: {exc}") from None


@contextmanager
def service() -> Iterator[Context]:
    """The configured database (LEADSCORE_*), migrated; service errors become exit 2."""
    try:
        settings = Settings()
    except ValueError as exc:
        raise fail(f"invalid LEADSCORE_* setting: {exc}") from None
    ctx = Context.open(settings)
    try:
        yield ctx
    except ServiceError as exc:
        raise fail(str(exc)) from None
    finally:
        ctx.close()


class ProgressBar:
    """Where a command reports progress: `advance(n)` moves the command's one bar, `update`
    moves the bar of a phase (`label: phase`), each phase with its own line."""

    def __init__(self, progress: Progress | None, label: str) -> None:
        self._progress = progress
        self._label = label
        self._tasks: dict[str | None, TaskID] = {}

    def start(self, total: int | None) -> None:
        """Show the command's bar now, before the first step."""
        if self._progress is not None:
            self._tasks[None] = self._progress.add_task(self._label, total=total)

    def advance(self, n: int = 1) -> None:
        if self._progress is None:
            return
        if None not in self._tasks:
            self.start(None)
        self._progress.advance(self._tasks[None], n)

    def update(self, phase: str, done: int, total: int | None = None) -> None:
        if self._progress is None:
            return
        if phase not in self._tasks:
            self._tasks[phase] = self._progress.add_task(f"{self._label}: {phase}", total=total)
        self._progress.update(self._tasks[phase], completed=done, total=total)

    def counter(self, phase: str, total: int) -> Callable[[int], None]:
        """A callback that adds each call's count to the phase's bar."""
        done = 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            self.update(phase, done, total)

        return step


class RateColumn(ProgressColumn):
    """How many units a second the task moves (Rich's estimate over its recent updates)."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} {self.unit}/s")


@contextmanager
def progress_bar(
    label: str, total: int | None = None, unit: str | None = None
) -> Iterator[ProgressBar]:
    """A transient Rich progress bar on stderr when it is a terminal; nothing otherwise.
    With a `unit` (e.g. "rows") it also shows the rate, units per second."""
    if not err.is_terminal:
        yield ProgressBar(None, label)
        return
    columns: tuple[ProgressColumn, ...] = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        *((RateColumn(unit),) if unit else ()),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        bar = ProgressBar(progress, label)
        if total is not None:
            bar.start(total)
        yield bar
