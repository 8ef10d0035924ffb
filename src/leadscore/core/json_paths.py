"""A small dotted path syntax into parsed JSON (`payload.scheduled_event.name`,
`data.item.contacts[0].email`), for mapped webhooks and import mappings (§8).

A step is a key (any characters but `.`, `[` and `]`, so `message-id` works) or an index
`[N]`; a trailing `?` makes the path optional (absent or null gives None instead of an
error). `$` alone is the value itself. Errors name the path and the step that failed, so a
400 tells the sender exactly which field of its delivery was missing or of the wrong kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from leadscore.core.timestamps import TimestampError, parse_instant

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
TIME_FORMATS = ("iso", "epoch_s", "epoch_ms")
"""Named time formats; any other format is a strftime pattern (with `%`) read as UTC."""


class PathError(ValueError):
    """A path absent from, or of the wrong kind in, the value it reads."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True)
class Path:
    """A parsed path: its text, its steps (str keys, int indexes) and whether optional."""

    text: str
    steps: tuple[str | int, ...]
    optional: bool

    def read(self, value: object) -> object:
        """The value at this path, None when optional and absent, else PathError."""
        current = value
        for position, step in enumerate(self.steps):
            if current is None and self.optional:
                return None
            if isinstance(step, int):
                if not isinstance(current, list):
                    raise PathError(f"{self._upto(position)} is not a list", self.text)
                if step >= len(current):
                    if self.optional:
                        return None
                    raise PathError(f"{self._upto(position + 1)} is absent", self.text)
                current = current[step]
            else:
                if not isinstance(current, dict):
                    raise PathError(f"{self._upto(position)} is not an object", self.text)
                if step not in current:
                    if self.optional:
                        return None
                    raise PathError(f"{self._upto(position + 1)} is absent", self.text)
                current = current[step]
        return current

    def _upto(self, count: int) -> str:
        text = ""
        for step in self.steps[:count]:
            text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
        return text or "the delivery"


def parse_path(text: str) -> Path:
    """`text` as a Path, or ValueError saying what is wrong with it."""
    raw = text.strip()
    optional = raw.endswith("?")
    if optional:
        raw = raw[:-1]
    if raw == "$":
        return Path(text, (), optional)
    steps: list[str | int] = []
    position = 0
    while position < len(raw):
        if steps and raw[position] == ".":
            position += 1
        match = _STEP.match(raw, position)
        if match is None or match.end() == position:
            raise ValueError(f"{text!r} is not a path (write keys with dots: a.b[0].c)")
        steps.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        position = match.end()
    if not steps:
        raise ValueError(f"{text!r} is not a path (write keys with dots: a.b[0].c)")
    return Path(text, tuple(steps), optional)


def check_path(text: str) -> str:
    """`text` when it parses (for validators)."""
    parse_path(text)
    return text


def check_time_format(text: str) -> str:
    if text in TIME_FORMATS or "%" in text:
        return text
    raise ValueError(f"{text!r}: use iso, epoch_s, epoch_ms or a strftime pattern such as %d.%m.%Y")


def read_time(value: object, format: str, where: str) -> int:
    """A time value as epoch microseconds under `format`, or PathError naming `where`."""
    if format in ("epoch_s", "epoch_ms"):
        number: float
        if isinstance(value, bool):
            raise PathError(f"{where}: {value!r} is not a number of seconds", where)
        if isinstance(value, int | float):
            number = value
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                raise PathError(f"{where}: {value!r} is not a number ({format})", where) from None
        else:
            raise PathError(f"{where}: {value!r} is not a number ({format})", where)
        scale = 1_000_000 if format == "epoch_s" else 1_000
        return round(number * scale)
    if not isinstance(value, str):
        raise PathError(f"{where}: {value!r} is not a time text ({format})", where)
    if format == "iso":
        try:
            return parse_instant(value)
        except TimestampError as exc:
            raise PathError(f"{where}: {exc}", where) from None
    try:
        moment = datetime.strptime(value.strip(), format)
    except ValueError:
        raise PathError(f"{where}: {value!r} does not match the format {format!r}", where) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
