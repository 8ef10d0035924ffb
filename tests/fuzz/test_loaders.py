"""Fuzzing the file loaders and readers (leadscore.testing.fuzzing): whatever the input, the
loader returns a result or raises its own clear error — never another exception.

Moderate and repeatable here (derandomized, a fixed number of examples per target);
bench/fuzz.py runs many more and prints the inputs and crashes per target."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from leadscore.cli.app import app
from leadscore.core.automations import load_automations_text
from leadscore.core.connectors import load_connectors_text
from leadscore.core.loader import load_model_text
from leadscore.testing.fuzzing import (
    AUTOMATIONS_EXAMPLE,
    CONNECTORS_EXAMPLE,
    MODEL_EXAMPLE,
    Target,
    targets,
)

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


def test_the_examples_mutated_are_valid() -> None:
    """The structured inputs start from valid files, so that one change away is explored."""
    assert load_model_text(json.dumps(MODEL_EXAMPLE)).name == "fuzz"
    assert len(load_automations_text(json.dumps(AUTOMATIONS_EXAMPLE)).automations) == 2
    assert load_connectors_text(json.dumps(CONNECTORS_EXAMPLE)).pipedrive is not None
