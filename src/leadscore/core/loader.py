"""YAML text → Model, with every error of the file at once, each with its key path and line.

The YAML is read with the 1.2 core schema (only true/false are booleans, so a country code
`NO` stays a string); a key repeated in one mapping is an error like any other. Loading
never half-applies: the result is a whole valid Model or a ModelError.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.constructor import BaseConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from leadscore.core.model import Model, cross_field_errors


@dataclass(frozen=True)
class Problem:
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f" (line {self.line})" if self.line else ""
        return f"{self.path or '<model>'}: {self.message}{where}"


class FileError(ValueError):
    """An invalid file of ours (a model, automations, connectors, sources, an import
    mapping); `problems` lists every error found, each with its key path and line."""

    default_source = "file"

    def __init__(self, problems: list[Problem], source: str | None = None) -> None:
        self.problems = problems
        self.source = source if source is not None else self.default_source
        super().__init__("\n".join(f"{self.source}: {p}" for p in problems))


class ModelError(FileError):
    """An invalid model file; `problems` lists every error found."""

    default_source = "model"


def load_model_text(text: str, source: str = "model") -> Model:
    """Load and validate model YAML text."""
    data, lines, problems = read_yaml(text)
    if data is None:
        raise ModelError(problems, source)
    return validate_model_data(data, lines, source, problems)


def validate_model_data(
    data: object,
    lines: dict[str, int] | None = None,
    source: str = "model",
    yaml_problems: Sequence[Problem] = (),
) -> Model:
    """Validate already-parsed data (e.g. a JSON body) into a Model or raise ModelError."""
    lines = lines or {}
    found: dict[str, str] = {p.path: p.message for p in yaml_problems}
    for path, message in cross_field_errors(data):
        found.setdefault(path, message)
    for path, message in lone_surrogates(data):
        found.setdefault(path, message)
    if not isinstance(data, dict):
        found[""] = "a model file must be a mapping of keys (name, fit, engagement, …)"
    else:
        try:
            model = Model.model_validate(data)
        except ValidationError as exc:
            for path, message in pydantic_problems(exc):
                found.setdefault(path, message)
        else:
            if not found:
                return model
    known_lines = {p.path: p.line for p in yaml_problems}
    problems = [
        Problem(path, message, known_lines.get(path) or line_of(path, lines))
        for path, message in found.items()
    ]
    problems.sort(key=lambda p: (p.line or 0, p.path))
    raise ModelError(problems, source)


def lone_surrogates(data: object, path: str = "") -> Iterator[tuple[str, str]]:
    """(key path, message) of each text holding a lone surrogate (U+D800–U+DFFF), which a
    YAML or JSON escape such as "\\ud800" can write: it is not Unicode, it has no UTF-8 form,
    and the vectorised engine could not compare a value with it."""
    if isinstance(data, str):
        bad = next((c for c in data if "\ud800" <= c <= "\udfff"), None)
        if bad is not None:
            yield path, f"contains a lone surrogate (U+{ord(bad):04X}), which is not valid Unicode"
    elif isinstance(data, dict):
        for key, value in data.items():
            child = f"{path}.{key}" if path else str(key)
            yield from lone_surrogates(key, child)
            yield from lone_surrogates(value, child)
    elif isinstance(data, list):
        for i, item in enumerate(data):
            yield from lone_surrogates(item, f"{path}[{i}]")


def pydantic_problems(
    exc: ValidationError, known: Sequence[str] | None = None
) -> Iterator[tuple[str, str]]:
    """(key path, message) of each error; an unknown key is matched against `known` (by
    default the model file's keys) for a "did you mean" hint."""
    for error in exc.errors():
        path = _format_loc(error["loc"])
        kind = error["type"]
        if kind == "condition":
            for sub, message in error["ctx"]["errors"]:
                yield path + sub, message
        elif kind == "extra_forbidden":
            yield path, _unknown_key(error["loc"], known)
        elif kind == "missing":
            yield path, "required"
        elif kind == "value_error":
            yield path, str(error["ctx"]["error"])
        else:
            message = error["msg"]
            message = message[0].lower() + message[1:]
            yield path, f"{message} (got {error['input']!r})"


_KNOWN_KEYS = {
    "model": "name version combine fit engagement grades tiers stages predictive accounts",
    "section": "weight min max groups rules",
    "rule": "id group event where when points min max half_life expires_after once count "
    "inactive_for",
    "stage": "name when min_score demote",
}


def _unknown_key(loc: tuple[int | str, ...], known: Sequence[str] | None = None) -> str:
    key = str(loc[-1])
    if known is None:
        known = " ".join(_KNOWN_KEYS.values()).split()
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key {key!r}{hint}"


def _format_loc(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def located(
    found: Mapping[str, str], yaml_problems: Sequence[Problem], lines: dict[str, int]
) -> list[Problem]:
    """Each (key path → message) found in a file as a Problem with its line (the YAML
    reader's own, else the line of the longest located prefix), in the file's order."""
    known_lines = {p.path: p.line for p in yaml_problems}
    result = [
        Problem(path, message, known_lines.get(path) or line_of(path, lines))
        for path, message in found.items()
    ]
    result.sort(key=lambda p: (p.line or 0, p.path))
    return result


def line_of(path: str, lines: dict[str, int]) -> int | None:
    """The line of the longest prefix of `path` that the YAML file located."""
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        if cut <= 0:
            break
        path = path[:cut]
    return lines.get(path)


# ---------------------------------------------------------------------------------------
# YAML with key paths and duplicate keys


MAX_NODES = 100_000
"""Most values a model file may expand to. YAML aliases repeat a node without repeating its
text, so a few lines can stand for billions of values (a "billion laughs"): building them is
refused, as is an alias inside the node it names (which would never end)."""


class _TooLarge(Exception):
    """The file expands beyond MAX_NODES values, or an alias refers to itself."""


@dataclass
class _Guard:
    nodes: int = 0
    open: set[int] = field(default_factory=set)
    """ids of the nodes being built (an alias to one of them is a cycle)."""


def read_yaml(
    text: str, what: str = "a model file must be a mapping of keys (name, fit, …)"
) -> tuple[object, dict[str, int], list[Problem]]:
    """Parse YAML 1.2 text: (data, line of each key path, problems); data is None when the
    text is no usable mapping (`what` says what the file must be)."""
    yaml = YAML(typ="safe", pure=True)
    yaml.version = (1, 2)
    try:
        root = yaml.compose(text)
    except MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        return None, {}, [Problem("", f"not valid YAML: {exc.problem}", line)]
    except YAMLError as exc:  # e.g. ReaderError: a character YAML does not allow (U+0084)
        return None, {}, [Problem("", f"not valid YAML: {exc}")]
    except RecursionError:
        return None, {}, [Problem("", "not valid YAML: nested too deeply")]
    if root is None:
        return None, {}, [Problem("", "the file is empty")]
    if not isinstance(root, MappingNode):
        return None, {}, [Problem("", what)]
    lines: dict[str, int] = {}
    problems: list[Problem] = []
    try:
        data = _build(root, "", yaml.constructor, lines, problems, _Guard())
    except _TooLarge as exc:
        return None, {}, [Problem("", str(exc))]
    except RecursionError:
        return None, {}, [Problem("", "the model is nested too deeply")]
    return data, lines, problems


def _build(
    node: Node,
    path: str,
    constructor: BaseConstructor,
    lines: dict[str, int],
    problems: list[Problem],
    guard: _Guard,
) -> object:
    guard.nodes += 1
    if guard.nodes > MAX_NODES:
        raise _TooLarge(f"the model expands to more than {MAX_NODES:,} values (YAML aliases?)")
    if id(node) in guard.open:
        raise _TooLarge(
            f"a YAML alias refers to the node it is in (line {node.start_mark.line + 1})"
        )
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, MappingNode | SequenceNode):
        guard.open.add(id(node))
        try:
            return _build_collection(node, path, constructor, lines, problems, guard)
        finally:
            guard.open.discard(id(node))
    assert isinstance(node, ScalarNode)
    assert node.tag is not None  # the composer resolved every node's tag
    if node.tag.endswith(":timestamp"):
        return node.value  # YAML 1.2 has no timestamps: a date stays the text written
    return constructor.construct_object(node, deep=True)


def _build_collection(
    node: MappingNode | SequenceNode,
    path: str,
    constructor: BaseConstructor,
    lines: dict[str, int],
    problems: list[Problem],
    guard: _Guard,
) -> object:
    if isinstance(node, MappingNode):
        result: dict[object, object] = {}
        for key_node, value_node in node.value:
            key = _build(key_node, path, constructor, {}, problems, guard)
            if isinstance(key, list | dict):
                problems.append(
                    Problem(path, "a key must be a plain value", key_node.start_mark.line + 1)
                )
                continue
            child = f"{path}.{key}" if path else str(key)
            if key in result:
                line = key_node.start_mark.line + 1
                problems.append(Problem(child, f"key {key!r} is repeated in one mapping", line))
                continue
            result[key] = _build(value_node, child, constructor, lines, problems, guard)
            lines[child] = key_node.start_mark.line + 1
        return result
    return [
        _build(item, f"{path}[{i}]", constructor, lines, problems, guard)
        for i, item in enumerate(node.value)
    ]
