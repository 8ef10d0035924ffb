"""Timestamps of SPEC §2.1 as integer microseconds since the Unix epoch, UTC.

Accepted text: ISO 8601 `YYYY-MM-DD[(T| )HH:MM[:SS[.f…]]][Z|±HH:MM]` with 1 to 6 fraction
digits. A date without a time is midnight UTC; a time without a zone is UTC. Integers keep
every comparison (`within`, `expires_after`, count windows) exact and shift-invariant.
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


class TimestampError(ValueError):
    """A value that is not a timestamp of §2.1."""


def parse_timestamp(text: str) -> int:
    """Parse ISO 8601 text (after trimming) into epoch microseconds, or raise TimestampError."""
    match = _ISO.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise TimestampError(f"{text!r} is not an ISO 8601 timestamp (YYYY-MM-DD[THH:MM[:SS]][Z])")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0").ljust(6, "0")),
            tzinfo=UTC,
        )
    except ValueError as exc:
        raise TimestampError(f"{text!r} is not a valid date or time: {exc}") from None
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        hours, minutes = int(zone[1:3]), int(zone[4:6])
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
    """ISO 8601 in UTC with a Z, microseconds only when present."""
    moment = _EPOCH + timedelta(microseconds=micros)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}"
    return text + "Z"
