"""Model files: every error at once, each with its key path (0-based indices) and line."""

from __future__ import annotations

import textwrap

import pytest

from leadscore.core.durations import DurationError, format_duration, parse_duration
from leadscore.core.loader import ModelError, load_model_text
from leadscore.core.model import Model

VALID = """
name: m
fit:
  weight: 0.4
  max: 100
  rules:
    - {id: f1, when: {field: country, equals: NO}, points: 10}
engagement:
  weight: 0.6
  max: 100
  rules:
    - {id: e1, event: email_opened, points: 5, half_life: 30d}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ModelError) as caught:
        load_model_text(textwrap.dedent(text))
    return [str(p) for p in caught.value.problems]


def test_valid_model_loads_and_no_stays_a_string() -> None:
    model = load_model_text(VALID)
    assert isinstance(model, Model)
    assert model.fit.rules[0].when.operand == "NO"
    assert model.engagement.rules[0].half_life == 30 * 86_400_000_000


@pytest.mark.parametrize(
    ("text", "value"),
    [("30s", 30_000_000), ("5m", 300_000_000), ("2h", 7_200_000_000), ("1w", 604_800_000_000)],
)
def test_durations(text: str, value: int) -> None:
    assert parse_duration(text) == value
    assert parse_duration(format_duration(value)) == value


@pytest.mark.parametrize(
    "bad", ["30 days", "0d", "-1d", "1.5d", "30", 30, "d", "30D", " 30d", None]
)
def test_bad_durations(bad) -> None:
    with pytest.raises(DurationError):
        parse_duration(bad)


def test_every_error_is_reported_with_path_and_line() -> None:
    found = problems(
        """
        name: broken
        fit:
          weight: 0.5
          max: 100
          rules:
            - id: a
              when: {field: x, like: 1}
              points: 1
            - id: b
              when: {field: x, equals: 1}
        engagement:
          weight: 0.6
          max: 100
          rules:
            - id: c
              event: email_opened
              points: 5
              half_life: 30 days
            - id: d
              event: page_viewed
              points: 1
              half_lfe: 3d
            - id: e
              event: x
              where: {field: url, matches: "[a-"}
              points: 1
        """
    )
    assert "fit.rules[0].when.like: unknown operator or key 'like' (line 8)" in found
    assert "fit.rules[1].points: required (line 10)" in found
    assert any(
        p.startswith("engagement.weight: fit.weight + engagement.weight must be 1") for p in found
    )
    assert any(
        p.startswith("engagement.rules[0].half_life: '30 days' is not a duration")
        and "line 19" in p
        for p in found
    )
    assert any(
        p.startswith("engagement.rules[1].half_lfe: unknown key") and "half_life" in p
        for p in found
    )
    assert any(
        p.startswith("engagement.rules[2].where.matches:") and "regular expression" in p
        for p in found
    )
    assert len(found) == 6


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\ncombine: weighted\n", "fit.weight: required when combine is weighted"),
        (
            "fit: {weight: 1.5, max: 100}\nengagement: {weight: -0.5, max: 100}\n",
            "fit.weight: must be between 0 and 1",
        ),
        (
            "fit: {weight: 0.5, max: 0}\nengagement: {weight: 0.5, max: 100}\n",
            "fit.max: must be greater than 0",
        ),
        (
            "fit: {weight: 0.5, max: 10, min: 10}\nengagement: {weight: 0.5, max: 100}\n",
            "fit.min: min 10 must be less than max 10",
        ),
        ("combine: product\n", "combine:"),
        (
            "combine: sum\nfit: {rules: [{id: a, group: g, when: {all: []}, points: 1}]}\n",
            "fit.rules[0].group: group 'g' is not declared",
        ),
        (
            "combine: sum\nfit: {rules: [{id: a, when: {all: []}, points: 1, max: 3}]}\n",
            "fit.rules[0].max: fit rules take no min/max",
        ),
        ("combine: sum\nfit: {rules: [{id: a, points: 1}]}\n", "fit.rules[0].when: required"),
        (
            "combine: sum\nfit: {rules: [{when: {all: []}, points: 1}]}\n",
            "fit.rules[0].id: required",
        ),
        (
            "combine: sum\nfit: {rules: [{id: a, when: {all: []}, points: '5'}]}\n",
            "fit.rules[0].points: input should be a valid number",
        ),
        (
            "combine: sum\nengagement: {rules: [{id: a, points: 1}]}\n",
            "engagement.rules[0]: an engagement rule requires event or inactive_for",
        ),
        (
            "combine: sum\nengagement: {rules: [{id: a, inactive_for: 3d, points: 1, half_life: 1d}]}\n",
            "engagement.rules[0].half_life: half_life is not allowed on an inactive_for rule",
        ),
        (
            "combine: sum\nengagement: {rules: [{id: a, inactive_for: 3d, points: 1, count: {at_least: 2, within: 1d}}]}\n",
            "engagement.rules[0].count: count is not allowed",
        ),
        (
            "combine: sum\nengagement: {rules: [{id: a, event: x, points: 1, count: {at_least: 0, within: 1d}}]}\n",
            "engagement.rules[0].count.at_least",
        ),
        (
            "combine: sum\nengagement: {rules: [{id: a, event: x, points: 1, min: 5, max: 1}]}\n",
            "engagement.rules[0].min: min 5 is greater than max 1",
        ),
        (
            "combine: sum\nengagement: {groups: {g: {min: 3, max: 1}}}\n",
            "engagement.groups.g.min: min 3 is greater than max 1",
        ),
        (
            "combine: sum\nengagement: {rules: [{id: a, event: [], points: 1}]}\n",
            "engagement.rules[0].event: must be an event type",
        ),
        (
            "combine: sum\nfit: {rules: [{id: a, when: {all: []}, points: 1}]}\nengagement: {rules: [{id: a, event: x, points: 1}]}\n",
            "engagement.rules[0].id: duplicate rule id 'a'",
        ),
        (
            "combine: sum\nstages: [{name: x, when: {field: a, equals: 1}, min_score: 3, demote: maybe}]\n",
            "stages[0].demote:",
        ),
        ("combine: sum\nstages: [{when: {field: a, equals: 1}}]\n", "stages[0].name: required"),
        ("combine: sum\ngrades: {A: high}\n", "grades.A:"),
        (
            "combine: sum\nname: a\nname: b\n",
            "name: key 'name' is repeated in one mapping (line 3)",
        ),
        (
            "combine: sum\nfit:\n  rules:\n    - id: a\n      when: {field: x, gt: 1}\n      when: {field: y, gt: 1}\n      points: 1\n",
            "fit.rules[0].when: key 'when' is repeated",
        ),
        ("combine: sum\nnmae: x\n", "nmae: unknown key 'nmae' (did you mean 'name'?)"),
        (
            "combine: sum\nfit: {rules: [{id: a, when: {no_event: x, within: 1d}, points: 1}]}\n",
            "fit.rules[0].when.no_event: no_event is allowed only in stage conditions",
        ),
        ("- a\n- b\n", "a model file must be a mapping"),
        ("", "the file is empty"),
        ("name: [unclosed\n", "not valid YAML"),
    ],
)
def test_invalid_models(text: str, expected: str) -> None:
    found = problems(text)
    assert any(expected in p for p in found), found


def test_weights_tolerance_and_sum_mode_defaults() -> None:
    model = load_model_text(
        "fit: {weight: 0.1, max: 10}\nengagement: {weight: 0.9000000000000001, max: 10}\n"
    )
    assert model.fit.weight == 0.1
    summed = load_model_text("combine: sum\nfit: {weight: 7}\n")
    assert summed.section_bounds(summed.fit) == (0.0, float("inf"))


def test_stage_conditions_accept_no_event_at_any_depth() -> None:
    model = load_model_text(
        "combine: sum\nstages:\n  - name: stale\n    when: {not: {any: [{no_event: [a, b], within: 2w}]}}\n  - name: lead\n"
    )
    assert [s.name for s in model.stages] == ["stale", "lead"]


def test_json_schema_is_exported() -> None:
    schema = Model.model_json_schema()
    assert "fit" in schema["properties"] and "$defs" in schema


def test_yaml_dates_stay_text() -> None:
    from leadscore.core.conditions import EvalContext
    from leadscore.core.records import Lead

    model = load_model_text(
        "combine: sum\nfit: {rules: [{id: d, when: {field: day, equals: 2024-01-05}, points: 1}]}\n"
    )
    condition = model.fit.rules[0].when
    assert condition.operand == "2024-01-05"
    assert condition.holds(Lead("x", None, {"day": " 2024-01-05"}).get, EvalContext(as_of=0))


def test_timestamps_out_of_range_are_errors_not_crashes() -> None:
    from leadscore.core.timestamps import TimestampError, coerce_timestamp, parse_timestamp

    with pytest.raises(TimestampError, match="outside the supported range"):
        parse_timestamp("9999-12-31T23:59:00-01:00")
    assert coerce_timestamp("0001-01-01T00:00:00+01:00") is None


BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}' if prev else 'x'] * 9)}]\n"
    for prev, name in zip(["", *"abcdefg"], "abcdefgh", strict=True)
)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (BOMB, "expands to more than 100,000 values"),  # 9^8 values from eight lines
        ("name: x\ncombine: sum\nfit: &a {rules: [], x: *a}\n", "refers to the node it is in"),
        ("a: &a [1, [2, *a]]\n", "refers to the node it is in"),
        ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    ],
)
def test_hostile_yaml_is_a_model_error_not_a_hang_or_a_crash(text: str, says: str) -> None:
    with pytest.raises(ModelError) as failed:
        load_model_text(text)
    assert says in failed.value.problems[0].message


def test_aliases_within_the_budget_still_work() -> None:
    model = load_model_text(
        "name: x\ncombine: sum\nfit:\n  rules:\n"
        "    - {id: a, when: &sw {field: industry, equals: software}, points: 1}\n"
        "    - {id: b, when: {all: [*sw, {field: size, gt: 5}]}, points: 2}\n"
    )
    assert [r.id for r in model.fit.rules] == ["a", "b"]


def test_a_lone_surrogate_is_an_error_naming_its_key() -> None:
    """A YAML escape can write a lone surrogate, which is not Unicode: the vectorised engine
    could not compare a value with it, so the model is refused where it is written."""
    text = VALID.replace("equals: NO", 'equals: "N\\ud800O"')
    assert text != VALID
    with pytest.raises(ModelError) as caught:
        load_model_text(text)
    assert "contains a lone surrogate (U+D800)" in str(caught.value)
    assert "fit.rules[0].when.equals" in str(caught.value)
    paired = VALID.replace("equals: NO", 'equals: "N\\U0001F600O"')
    load_model_text(paired)  # a character beyond the BMP is fine
