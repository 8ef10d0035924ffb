"""Fixtures for the tuning tests: demo histories on disk and the CLI run in this process."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadscore import demo
from leadscore.cli import app

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "b2b-saas.yaml"
END = date(2026, 11, 1)


def _demo(tmp_path_factory, leads: int, seed: int) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp(f"demo{leads}")
    paths = demo.write(demo.generate(leads, seed, END), folder)
    return {name: Path(path) for name, path in paths.items()}


@pytest.fixture(scope="session")
def demo3k(tmp_path_factory) -> dict[str, Path]:
    """3,000 demo leads (about 2,000 decided, 10 % converted)."""
    return _demo(tmp_path_factory, 3000, 7)


@pytest.fixture(scope="session")
def demo300(tmp_path_factory) -> dict[str, Path]:
    return _demo(tmp_path_factory, 300, 5)


@pytest.fixture(scope="session")
def demo600(tmp_path_factory) -> dict[str, Path]:
    return _demo(tmp_path_factory, 600, 11)


@pytest.fixture(scope="session")
def cli():
    """Run `leadscore suggest|backtest …` in process; returns the click Result."""
    runner = CliRunner()

    def run(*args: object):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)

    return run


@pytest.fixture(scope="session")
def files():
    """The --leads/--events/--outcomes arguments of a demo history."""

    def args(data: dict[str, Path]) -> list[object]:
        return [
            "--leads",
            data["leads"],
            "--events",
            data["events"],
            "--outcomes",
            data["outcomes"],
        ]

    return args


@pytest.fixture(scope="session")
def example() -> Path:
    return EXAMPLE
