"""Currencies and exact amounts: the analytics never add amounts of different currencies
(no exchange rates), and keep amounts in minor units so that sums are exact."""

from __future__ import annotations

import re
from decimal import Decimal

CURRENCIES = ("EUR", "PLN", "RON", "RSD", "USD")
"""ISO 4217 codes accepted for costs and revenue; each has 2 minor digits."""
MINOR_DIGITS = 2
AMOUNT = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?")
"""An amount as text: digits, optionally a point and 1 or 2 decimals (under a trillion)."""
AMOUNT_PATTERN = "^[0-9]{1,12}(\\.[0-9]{1,2})?$"
MAX_WHOLE = 999_999_999_999
MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
MONTH_PATTERN = "^[0-9]{4}-(0[1-9]|1[0-2])$"


def parse_amount(value: object) -> Decimal:
    """A cost: an integer, or text of digits with at most 2 decimals ("1234.5"); 0 or more,
    under a trillion. No floats: 0.1 + 0.2 is not what anyone paid."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value <= MAX_WHOLE:
            raise ValueError(f"{value} is not between 0 and {MAX_WHOLE}")
        return Decimal(value)
    if isinstance(value, float) and value.is_integer():
        return parse_amount(int(value))
    if not isinstance(value, str):
        raise ValueError('must be an integer or a text such as "1234.50"')
    if not AMOUNT.fullmatch(value):
        raise ValueError(
            f"{value!r} is not an amount such as 1234.50 (digits, a point and at most 2"
            " decimals; no sign, spaces or thousands separators)"
        )
    return Decimal(value)


def to_minor(amount: Decimal) -> int:
    return int(amount.scaleb(MINOR_DIGITS))


def from_minor(minor: int) -> Decimal:
    return Decimal(minor).scaleb(-MINOR_DIGITS)


def parse_currency(value: object) -> str:
    """One of CURRENCIES, or ValueError naming those accepted."""
    if not isinstance(value, str) or value not in CURRENCIES:
        raise ValueError(f"{value!r} is not one of {', '.join(CURRENCIES)} (ISO 4217)")
    return value


def parse_month(value: object) -> str:
    """A calendar month as YYYY-MM ("2026-03"), or ValueError."""
    if not isinstance(value, str) or not MONTH.fullmatch(value):
        raise ValueError(f"{value!r} is not a month written YYYY-MM, such as 2026-03")
    return value
