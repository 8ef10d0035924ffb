"""Timestamp fields are lenient where the standards are (RFC 3339 and the ISO 8601 forms CRMs
and ad platforms send) and always written back as RFC 3339 with a four-digit year; the §2.1
grammar of condition values stays as it was."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadscore.core.timestamps import (
    TimestampError,
    format_timestamp,
    parse_instant,
    parse_timestamp,
    to_micros,
)

NOON = to_micros(datetime(2026, 1, 31, 12, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-31T12:00:00Z", NOON),
        ("2026-01-31t12:00:00z", NOON),  # lowercase separators (RFC 3339 §5.6 allows them)
        ("2026-01-31T12:00:00+0000", NOON),  # Salesforce
        ("2026-01-31T12:00:00.000+0000", NOON),
        ("2026-01-31T12:00:00+00", NOON),
        ("2026-01-31T12:00:00-00:00", NOON),  # RFC 3339's "offset unknown"
        ("2026-01-31T13:30:00+0130", NOON),
        ("2026-01-31T10:00:00-02", NOON),
        ("2026-01-31 12:00:00Z", NOON),
        ("  2026-01-31T12:00Z ", NOON),
        ("2026-01-31T12:00:00.123456789Z", NOON + 123_456),  # 9 digits: truncated to µs
        ("2026-01-31T12:00:00.9999999Z", NOON + 999_999),  # truncated, never rounded up
        ("2026-01-31T12:00:00,5Z", NOON + 500_000),  # ISO 8601's decimal comma
        ("2026-01-31", NOON - 12 * 3_600_000_000),
    ],
)
def test_fields_accept_rfc_3339_and_what_crms_send(text: str, expected: int) -> None:
    assert parse_instant(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-31T12:00:00.1234567890Z",  # 10 fraction digits
        "2026-01-31T12:00:00+000",  # a three-digit offset
        "2026-01-31T12:00:00+24:00",
        "2026-01-31T12:00:00+0060",
        "2026-1-31",
        "31/01/2026",
        "2026-01-31T25:00:00Z",
        "2026-02-30",
        "yesterday",
        "",
        "0000-01-01",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
    ],
)
def test_fields_still_reject_what_is_not_a_timestamp(text: str) -> None:
    with pytest.raises(TimestampError, match="timestamp|valid|offset|range"):
        parse_instant(text)


@pytest.mark.parametrize(
    "text", ["2026-01-31t12:00:00z", "2026-01-31T12:00:00+0000", "2026-01-31T12:00:00.1234567Z"]
)
def test_condition_values_keep_the_section_2_1_grammar(text: str) -> None:
    with pytest.raises(TimestampError):
        parse_timestamp(text)


@pytest.mark.parametrize(
    ("micros", "text"),
    [
        (to_micros(datetime(1, 1, 1, tzinfo=UTC)), "0001-01-01T00:00:00Z"),
        (to_micros(datetime(999, 12, 31, 23, 59, 59, 5, tzinfo=UTC)), "0999-12-31T23:59:59.000005Z"),
        (NOON, "2026-01-31T12:00:00Z"),
        (to_micros(datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
         "9999-12-31T23:59:59.999999Z"),
    ],
)  # fmt: skip
def test_written_times_are_rfc_3339_with_four_digit_years(micros: int, text: str) -> None:
    assert format_timestamp(micros) == text
    assert parse_timestamp(text) == parse_instant(text) == micros


MOMENTS = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)


@given(MOMENTS)
def test_format_then_parse_gives_the_same_microsecond(moment: datetime) -> None:
    micros = to_micros(moment)
    text = format_timestamp(micros)
    assert parse_instant(text) == parse_timestamp(text) == micros


OFFSETS = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timedelta(minutes=m))


@given(
    MOMENTS,
    OFFSETS,
    st.integers(0, 999),  # nanoseconds below the microsecond, to be truncated
    st.sampled_from(["T", "t", " "]),
    st.sampled_from(["+HH:MM", "+HHMM", "+HH", "Z"]),
    st.sampled_from([".", ","]),
)
def test_every_accepted_spelling_of_an_instant_parses_to_its_microsecond(
    moment: datetime, offset: timedelta, nanos: int, sep: str, style: str, decimal: str
) -> None:
    if style == "+HH":
        offset = timedelta(hours=int(offset.total_seconds() // 3600))
    if style == "Z":
        offset = timedelta(0)
    local = moment.astimezone(timezone(offset))
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    zone = {
        "+HH:MM": f"{sign}{minutes // 60:02d}:{minutes % 60:02d}",
        "+HHMM": f"{sign}{minutes // 60:02d}{minutes % 60:02d}",
        "+HH": f"{sign}{minutes // 60:02d}",
        "Z": sep == "t" and "z" or "Z",
    }[style]
    text = (
        f"{local.year:04d}-{local.month:02d}-{local.day:02d}{sep}"
        f"{local.hour:02d}:{local.minute:02d}:{local.second:02d}"
        f"{decimal}{local.microsecond:06d}{nanos:03d}{zone}"
    )
    assert parse_instant(text) == to_micros(moment), text
