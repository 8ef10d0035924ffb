"""How field values compare (SPEC §2.1): trimmed text, numeric coercion, booleans, nulls.

A field value is whatever the input held: text (CSV cells are never type-inferred), a number,
a boolean, a date/datetime (Parquet), a list or mapping (JSON), or None for a missing field.
A float NaN counts as missing, as a blank spreadsheet cell would.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)


def is_null(value: object) -> bool:
    """True for a missing value: None, or a float NaN."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def as_number(value: object) -> float | None:
    """The value as a number, or None: numbers, and text that parses as a number (§2.1).

    Booleans are not numbers.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return None if isinstance(value, float) and math.isnan(value) else float(value)
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER.fullmatch(text):
            return float(text)
    return None


def as_text(value: object) -> str:
    """The text form of a non-null value, untrimmed and with its case."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def fold(text: str, case_sensitive: bool) -> str:
    """Trimmed text, lower-cased unless the comparison is case sensitive."""
    text = text.strip()
    return text if case_sensitive else text.lower()


def as_boolean(value: object) -> bool | None:
    """The value as a boolean: booleans, and the text true/false in any case; else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "false"):
            return text == "true"
    return None


def is_empty(value: object) -> bool:
    """Null, whitespace-only text, or an empty list or mapping."""
    if is_null(value):
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, list | tuple | dict):
        return len(value) == 0
    return False


def equals(value: object, operand: object, case_sensitive: bool) -> bool:
    """`equals` of §2.1 for a non-null value; the operand's YAML type picks the comparison."""
    if isinstance(operand, bool):
        return as_boolean(value) is operand
    if isinstance(operand, int | float):
        number = as_number(value)
        if number is not None:
            return number == float(operand)
        return fold(as_text(value), case_sensitive) == fold(as_text(operand), case_sensitive)
    return fold(as_text(value), case_sensitive) == fold(as_text(operand), case_sensitive)
