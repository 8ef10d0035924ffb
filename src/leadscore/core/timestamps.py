"""Timestamps as integer microseconds since the Unix epoch, UTC.

Two grammars, on purpose:

- `parse_timestamp` is SPEC §2.1's grammar for *values* that conditions compare (a date-valued
  attribute, `--as-of` in the reference): ISO 8601 `YYYY-MM-DD[(T| )HH:MM[:SS[.f…]]][Z|±HH:MM]`
  with 1 to 6 fraction digits. The vectorised engine mirrors it character for character
  (engine/columns.py), so it does not grow without the engine and the reference changing
  together.
- `parse_instant` is for timestamp *fields* (an event's or outcome's `occurred_at`, `as_of`,
  an override's `expires_at`, consent times, import and event files): everything
  `parse_timestamp` accepts, plus the RFC 3339 / ISO 8601 forms CRMs and ad platforms send —
  lowercase `t` and `z`, offsets `+0000` and `+00`, a comma before the fraction, and 1 to 9
  fraction digits, of which digits beyond the sixth are dropped (truncated, not rounded).

A date without a time is midnight UTC; a time without a zone is UTC. Integers keep every
comparison (`within`, `expires_after`, count windows) exact and shift-invariant.
`format_timestamp` always writes RFC 3339 in UTC with a four-digit year.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?"
    r"(Z|[+-]\d{2}:\d{2})?"
)
_INSTANT = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]{1,9}))?)?)?"
    r"([Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?"
)
SPACE = (
    "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0"
    "\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
)
"""The characters `str.strip()` removes (`str.isspace`), as a regex character class body."""
_YEAR = "(?:[0-9]{3}[1-9]|[0-9]{2}[1-9]0|[0-9][1-9]00|[1-9]000)"
_LEAP = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_MONTH_DAY = (
    "(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    "|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
)
INSTANT_PATTERN = (
    f"^[{SPACE}]*(?:{_YEAR}-{_MONTH_DAY}|{_LEAP}-02-29)"
    "(?:[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:[.,][0-9]{1,9})?)?)?"
    "(?:[Zz]|[+-](?:[01][0-9]|2[0-3])(?::?[0-5][0-9])?)?"
    f"[{SPACE}]*$"
)
"""`parse_instant`'s grammar as a JSON Schema (ECMA-262) pattern, calendar included (month
lengths, leap years, no year 0): the OpenAPI document gives it to every timestamp field, so a
client or a generator knows exactly what is accepted. The one thing it does not say: an
offset that moves 0001-01-01 or 9999-12-31 out of the supported range is refused too."""
EXAMPLE = "2026-01-31T09:30:00Z"


class TimestampError(ValueError):
    """A value that is not a timestamp of §2.1 (or, for fields, of RFC 3339 / ISO 8601)."""


def parse_timestamp(text: str) -> int:
    """Parse §2.1 ISO 8601 text (after trimming) into epoch microseconds, or raise
    TimestampError. The grammar of condition values: see the module's docstring."""
    match = _ISO.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise TimestampError(f"{text!r} is not an ISO 8601 timestamp (YYYY-MM-DD[THH:MM[:SS]][Z])")
    return _moment(text, *match.groups())


def parse_instant(text: str) -> int:
    """Parse a timestamp field (after trimming) into epoch microseconds, or raise
    TimestampError: RFC 3339 and the ISO 8601 forms of the module's docstring."""
    match = _INSTANT.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise TimestampError(
            f"{text!r} is not an ISO 8601 timestamp (RFC 3339 such as {EXAMPLE}, or"
            " 2026-01-31T09:30:00.000+0000, or 2026-01-31)"
        )
    return _moment(text, *match.groups())


def _moment(
    text: str,
    year: str,
    month: str,
    day: str,
    hour: str | None,
    minute: str | None,
    second: str | None,
    fraction: str | None,
    zone: str | None,
) -> int:
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=UTC,
        )
    except ValueError as exc:
        raise TimestampError(f"{text!r} is not a valid date or time: {exc}") from None
    if zone and zone not in "Zz":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:] or 0)
        if hours > 23 or minutes > 59:
            raise TimestampError(f"{text!r} has an invalid UTC offset {zone}")
        try:
            moment -= sign * timedelta(hours=hours, minutes=minutes)
        except OverflowError:
            raise TimestampError(f"{text!r} is outside the supported range of dates") from None
    return to_micros(moment)


def to_micros(moment: datetime | date) -> int:
    """Epoch microseconds of a datetime (naive means UTC) or a date (midnight UTC)."""
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def coerce_timestamp(value: object) -> int | None:
    """A field value as epoch microseconds, or None when it is not a timestamp."""
    if isinstance(value, datetime | date):
        return to_micros(value)
    if isinstance(value, str):
        try:
            return parse_timestamp(value)
        except TimestampError:
            return None
    return None


def format_timestamp(micros: int) -> str:
    """RFC 3339 in UTC with a Z and a four-digit year (`0999-01-01T00:00:00Z`),
    microseconds only when present."""
    moment = _EPOCH + timedelta(microseconds=micros)
    text = (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )
    if moment.microsecond:
        text += f".{moment.microsecond:06d}"
    return text + "Z"
