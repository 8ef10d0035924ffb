"""The duration grammar of SPEC §2.2: `Ns`, `Nm`, `Nh`, `Nd`, `Nw`, N a positive integer.

Durations are held as whole microseconds, the unit of every timestamp in the core, so that
comparisons of ages against durations are exact integer comparisons.
"""

from __future__ import annotations

import re

MICROS = {"s": 1_000_000, "m": 60_000_000, "h": 3_600_000_000, "d": 86_400_000_000}
MICROS["w"] = 7 * MICROS["d"]

_DURATION = re.compile(r"([0-9]+)([smhdw])")


class DurationError(ValueError):
    """A value that is not a duration of §2.2."""


def parse_duration(value: object) -> int:
    """Return the duration in microseconds, or raise DurationError naming the bad value."""
    if isinstance(value, str):
        match = _DURATION.fullmatch(value)
        if match and int(match.group(1)) > 0:
            return int(match.group(1)) * MICROS[match.group(2)]
    raise DurationError(
        f"{value!r} is not a duration (a positive integer followed by s, m, h, d or w, e.g. 30d)"
    )


def format_duration(micros: int) -> str:
    """The shortest §2.2 spelling of a duration (for explanations and round-trips)."""
    for unit in ("w", "d", "h", "m", "s"):
        if micros % MICROS[unit] == 0:
            return f"{micros // MICROS[unit]}{unit}"
    raise ValueError(f"{micros} µs is not a whole number of seconds")
