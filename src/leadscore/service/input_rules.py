"""Rules every value written through the API or `leadscore import` obeys, whatever its field.

- **Text**: no NUL character (U+0000) and no lone surrogate (U+D800–U+DFFF) in any string —
  a value or a key, however deeply nested. PostgreSQL cannot store NUL in text or JSONB and a
  lone surrogate is not Unicode (it has no UTF-8 form); SQLite would store both. Both are
  refused (422 naming the field) on both databases, so that one request gets one answer
  wherever it is sent, and nothing reaches SQL that one of them cannot hold.
- **Numbers**: finite (JSON's `1e400` reads as infinity) and within the 64-bit integer range,
  floats included: PostgreSQL's JSONB writes `1e20` back as the integer
  100000000000000000000, which SQLite would not, and which the scoring engine could not hold.
  Within ±2^63 every number reads back as the same value on both databases.
- **Limits** (`Limits`, from the LEADSCORE_MAX_* settings): the length of each attribute or
  event property value (and of every string nested in a property), the number of a lead's
  attributes and of the entries of each object or list in an event's properties, and how
  deeply properties nest. The input models check them with pydantic's validation context
  (`context={"limits": …}`), so a breach is a 422 naming the attribute or property.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationInfo

from leadscore.service.errors import Loc, Problem
from leadscore.settings import Settings

NAME_LENGTH = 200
"""Longest attribute or property name (conditions name them; so do CSV headers)."""
INT64 = (-(2**63), 2**63 - 1)
NUMBER_RANGE = "a number must be finite and between -2^63 and 2^63 - 1 (about ±9.2e18)"
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Limits:
    """How large attributes and properties may be (see the module's docstring)."""

    value_length: int
    keys: int
    depth: int

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(settings.max_value_length, settings.max_keys, settings.max_depth)


DEFAULT_LIMITS = Limits(
    *(Settings.model_fields[n].default for n in ("max_value_length", "max_keys", "max_depth"))
)


def text_error(text: str) -> str | None:
    """Why a string breaks the text rule, or None when it does not."""
    if "\x00" in text:
        return "contains a NUL character (U+0000), which is not allowed in text"
    bad = _SURROGATE.search(text)
    if bad is not None:
        return f"contains a lone surrogate (U+{ord(bad.group()):04X}), which is not valid Unicode"
    return None


def value_problems(value: object, loc: Loc) -> list[Problem]:
    """Every breach of the text and number rules in a JSON-like value, keys included, each at
    its location below `loc` (a bad key is reported at the key)."""
    if _obeys(value):  # the common case, without building a location for every value
        return []
    problems: list[Problem] = []
    stack: list[tuple[object, Loc]] = [(value, loc)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            reason = text_error(item)
            if reason is not None:
                problems.append(Problem(where, reason, "text_invalid"))
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int | float):
            if not INT64[0] <= item < 2**63:  # also false for NaN and infinities
                problems.append(Problem(where, NUMBER_RANGE, "number_too_large"))
        elif isinstance(item, Mapping):
            for key, child in reversed(list(item.items())):
                if isinstance(key, str) and (reason := text_error(key)) is not None:
                    problems.append(Problem((*where, key), f"the key {reason}", "text_invalid"))
                stack.append((child, (*where, key)))
        elif isinstance(item, list | tuple):
            stack.extend((child, (*where, i)) for i, child in reversed(list(enumerate(item))))
    return problems


def _obeys(value: object) -> bool:
    """Whether a JSON-like value breaks no rule (what value_problems checks, located)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item or (not item.isascii() and _SURROGATE.search(item)):
                return False
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int | float):
            if not INT64[0] <= item < 2**63:
                return False
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return True


# --- pydantic validators (limits come from the validation context) -------------------------


def limits_of(info: ValidationInfo) -> Limits:
    context = info.context
    found = context.get("limits") if isinstance(context, dict) else None
    return found if isinstance(found, Limits) else DEFAULT_LIMITS


def checked_name(name: str) -> str:
    """An attribute or property name: 1 to NAME_LENGTH characters."""
    if len(name) > NAME_LENGTH:
        raise ValueError(f"a name is at most {NAME_LENGTH} characters, not {len(name):,}")
    return name


def checked_count(mapping: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
    """A mapping with no more keys than LEADSCORE_MAX_KEYS."""
    limit = limits_of(info).keys
    if len(mapping) > limit:
        raise ValueError(f"{len(mapping):,} keys, more than {limit:,} (LEADSCORE_MAX_KEYS)")
    return mapping


def checked_text(value: object, info: ValidationInfo) -> object:
    """An attribute value: a string no longer than LEADSCORE_MAX_VALUE_LENGTH."""
    if isinstance(value, str):
        _check_length(value, limits_of(info), "")
    return value


def checked_property(value: object, info: ValidationInfo) -> object:
    """One event property value: every string in it within LEADSCORE_MAX_VALUE_LENGTH, every
    object or list within LEADSCORE_MAX_KEYS entries, nested within LEADSCORE_MAX_DEPTH (the
    properties object is level 1, so its values may nest `depth - 1` levels)."""
    limits = limits_of(info)
    stack: list[tuple[object, str, int]] = [(value, "", 2)]
    while stack:
        item, path, level = stack.pop()
        if isinstance(item, str):
            _check_length(item, limits, path)
            continue
        if isinstance(item, dict | list):
            if level > limits.depth:
                raise ValueError(
                    f"{_at(path)}nested {level} levels deep, more than {limits.depth}"
                    " (LEADSCORE_MAX_DEPTH)"
                )
            if len(item) > limits.keys:
                raise ValueError(
                    f"{_at(path)}{len(item):,} entries, more than {limits.keys:,}"
                    " (LEADSCORE_MAX_KEYS)"
                )
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                name = f"{path}[{key}]" if isinstance(item, list) else f"{path}.{key}"
                if isinstance(key, str):
                    _check_length(key, limits, name)
                stack.append((child, name.lstrip("."), level + 1))
    return value


def _check_length(text: str, limits: Limits, path: str) -> None:
    if len(text) > limits.value_length:
        raise ValueError(
            f"{_at(path)}{len(text):,} characters, more than {limits.value_length:,}"
            " (LEADSCORE_MAX_VALUE_LENGTH)"
        )


def _at(path: str) -> str:
    return f"at {path}: " if path else ""
