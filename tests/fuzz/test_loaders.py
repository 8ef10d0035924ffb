"""Fuzzing the file loaders and readers (leadscore.testing.fuzzing): whatever the input, the
loader returns a result or raises its own clear error — never another exception.

Moderate and repeatable here (derandomized, a fixed number of examples per target);
bench/fuzz.py runs many more and prints the inputs and crashes per target."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from leadscore.cli.app import app
from leadscore.testing.fuzzing import Target, targets

EXAMPLES = 60

TARGETS = {target.name: target for target in targets(app)}


def _check(target: Target, value: Any) -> None:
    try:
        target.call(value)
    except target.clear as exc:
        assert str(exc).strip(), f"{target.name}: an error without a message"


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_any_input_gives_a_result_or_a_clear_error(name: str) -> None:
    target = TARGETS[name]

    @settings(
        max_examples=EXAMPLES // target.cost,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(target.inputs)
    def run(value: Any) -> None:
        _check(target, value)

    run()
