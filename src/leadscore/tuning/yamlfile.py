"""Writing the suggested model: the original file, edited in place with ruamel.yaml round-trip,
so comments, key order, flow style and quoting survive; only the values that changed differ.

The result is validated with the core loader before it replaces the target (written to a
temporary file next to it, then renamed), and the input model is never the target.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from ruamel.yaml import YAML

from leadscore.core.model import Model
from leadscore.engine.model_file import load_model_file
from leadscore.engine.writers import atomic
from leadscore.tuning.errors import TuningError
from leadscore.tuning.points import GroupChange, RuleChange


def bump_version(version: object) -> object:
    """An integer version + 1; anything else gets `-suggested` appended."""
    if isinstance(version, int) and not isinstance(version, bool):
        return version + 1
    return f"{version}-suggested"


def edited_text(
    text: str,
    rules: Sequence[RuleChange],
    groups: Sequence[GroupChange],
    thresholds: Mapping[str, float],
) -> str:
    """The model text with new points, caps, group caps, stage thresholds and version."""
    yaml = _yaml(text)
    data = yaml.load(text)
    by_id = {c.spec.id: c for c in rules}
    for section in ("fit", "engagement"):
        for rule in (data.get(section) or {}).get("rules") or []:
            change = by_id.get(rule.get("id"))
            if change is None or not change.changed:
                continue
            rule["points"] = _number(change.new_points)
            for key, value in (("min", change.new_min), ("max", change.new_max)):
                if value is None:
                    rule.pop(key, None)
                elif key in rule:
                    rule[key] = _number(value)
    for cap in groups:
        data[cap.section]["groups"][cap.name][cap.bound] = _number(cap.new)
    for stage in data.get("stages") or []:
        name = str(stage.get("name", "")).lower()
        if name in thresholds:
            stage["min_score"] = _number(thresholds[name])
    if "version" in data:
        data["version"] = bump_version(data["version"])
    else:
        data.insert(1 if "name" in data else 0, "version", 2)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _yaml(text: str) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long line
    mapping, offset = _guess_indent(text)
    yaml.indent(mapping=mapping, sequence=offset + 2, offset=offset)
    yaml.explicit_start = text.lstrip().startswith("---")
    return yaml


def _guess_indent(text: str) -> tuple[int, int]:
    """(mapping indent, offset of a block sequence's dash) as the file writes them."""
    mapping = offset = None
    lines = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    for parent, child in zip(lines, lines[1:], strict=False):
        head = parent.split(" #", 1)[0].rstrip()
        if not head.endswith(":"):
            continue
        depth = len(parent) - len(parent.lstrip())
        inner = len(child) - len(child.lstrip())
        if inner < depth or (inner == depth and not child.lstrip().startswith("- ")):
            continue
        if child.lstrip().startswith("- "):
            offset = inner - depth if offset is None else offset
        elif mapping is None:
            mapping = inner - depth
    return mapping or 2, 2 if offset is None else offset


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def write_model(text: str, target: Path, source: Path) -> Model:
    """Write `text` to a temporary file beside `target`, validate it with the core loader,
    then rename it over `target`; a failure leaves no file behind."""
    if target.exists() and source.exists() and os.path.samefile(target, source):
        raise TuningError(f"--out {target} is the input model; choose another file")
    if target.resolve() == source.resolve():
        raise TuningError(f"--out {target} is the input model; choose another file")
    with atomic(target) as temp:
        Path(temp).write_text(text, encoding="utf-8")
        return load_model_file(temp)
