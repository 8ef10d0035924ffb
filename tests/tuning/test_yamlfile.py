"""The suggested file: the original edited in place, validated, written atomically."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadscore.core.loader import ModelError, load_model_text
from leadscore.tuning.errors import TuningError
from leadscore.tuning.features import RuleSpec
from leadscore.tuning.points import GroupChange, RuleChange
from leadscore.tuning.yamlfile import bump_version, edited_text, write_model

TEXT = """\
# The team's model. Keep this comment.
name: demo
combine: sum
fit:
  groups:
    industry: {max: 25}     # one industry at most
  rules:
    # the industries we sell to
    - id: saas
      group: industry
      when: {field: industry, in: [software, saas]}
      points: 25            # our core market
engagement:
  rules:
    - {id: opens, event: email_opened, points: 5, max: 20}
    - id: unsub
      event: email_unsubscribed
      points: -20
      min: -20              # once is enough
stages:
  - name: SQL
    min_score: 75
  - name: Mql               # any case
  - name: lead
"""


def change(rule_id, section, points, new, low=None, high=None, new_low=None, new_high=None):
    spec = RuleSpec(rule_id, section, "fit", 0, points, None, low, high)
    return RuleChange(spec, new, 1.0, 0.5, 0.1, new_low, new_high)


def test_only_the_changed_values_differ() -> None:
    rules = [
        change("saas", "fit", 25, 30),
        change("opens", "engagement", 5, 2.5, None, 20, None, 10),
        change("unsub", "engagement", -20, 4, -20, None, None, None),
    ]
    groups = [GroupChange("fit", "industry", "max", 25, 30, "saas")]
    new = edited_text(TEXT, rules, groups, {"sql": 60, "mql": 35.5})
    expected = (
        TEXT.replace("name: demo\n", "name: demo\nversion: 2\n")
        .replace("{max: 25}", "{max: 30}")
        .replace("points: 25            #", "points: 30            #")
        .replace("points: 5, max: 20}", "points: 2.5, max: 10}")
        .replace(
            "      points: -20\n      min: -20              # once is enough\n", "      points: 4\n"
        )
        .replace("min_score: 75", "min_score: 60")
        .replace(
            "  - name: Mql               # any case\n",
            "  - name: Mql               # any case\n    min_score: 35.5\n",
        )
    )
    assert new == expected
    model = load_model_text(new)
    assert model.version == 2 and model.stages[1].min_score == 35.5


@pytest.mark.parametrize(
    ("old", "new"), [(1, 2), (41, 42), ("2024.1", "2024.1-suggested"), (1.5, "1.5-suggested")]
)
def test_bump_version(old, new) -> None:
    assert bump_version(old) == new


def test_an_existing_version_is_bumped_in_place() -> None:
    text = TEXT.replace("name: demo\n", "name: demo\nversion: 7   # bumped by suggest\n")
    new = edited_text(text, [], [], {})
    assert "version: 8   # bumped by suggest\n" in new


def test_write_model_refuses_the_input_and_leaves_no_partial_file(tmp_path: Path) -> None:
    source = tmp_path / "model.yaml"
    source.write_text(TEXT)
    with pytest.raises(TuningError, match="is the input model"):
        write_model(TEXT, tmp_path / "." / "model.yaml", source)
    with pytest.raises(ModelError):
        write_model(TEXT.replace("combine: sum", "combine: product"), tmp_path / "new.yaml", source)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.yaml"]
    model = write_model(TEXT, tmp_path / "new.yaml", source)
    assert model.name == "demo" and (tmp_path / "new.yaml").read_text() == TEXT
    assert source.read_text() == TEXT
