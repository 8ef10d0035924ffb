"""Page cursors of the lists (leads, a lead's events, its history): opaque to clients, and
checked completely when they come back.

A cursor is the URL-safe base64 of the JSON `[kind, value, pk]`: the list (and, for leads,
the sort) it belongs to, and the keyset of the last row of its page (pagination continues
after (value, pk)). It is not signed: nothing in it is secret, and any cursor a client could
forge names a place in the same list it may read anyway. Instead a cursor is decoded
strictly, so that whatever a client sends — bad base64, another list's or sort's cursor, an
object, a list of the wrong shape, a string where a number belongs, a number out of the
column's range — is a 422 naming `cursor` and never reaches SQL: `value` must be of the
column's kind (a finite number for scores; epoch microseconds within 64 bits for times) and
`pk` a positive 32-bit integer.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Literal, overload

from leadscore.service.errors import Invalid, Problem

ValueKind = Literal["number", "micros"]
INT64 = (-(2**63), 2**63 - 1)
PK_MAX = 2**31 - 1
"""The largest surrogate key (an INTEGER column: 32 bits on PostgreSQL)."""


def encode_cursor(kind: str, value: object, pk: int) -> str:
    raw = json.dumps([kind, value, pk], allow_nan=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@overload
def decode_cursor(cursor: str, kind: str, value_kind: Literal["micros"]) -> tuple[int, int]: ...
@overload
def decode_cursor(cursor: str, kind: str, value_kind: ValueKind) -> tuple[float | int, int]: ...
def decode_cursor(cursor: str, kind: str, value_kind: ValueKind) -> tuple[float | int, int]:
    """(value, pk) of a cursor this list (`kind`) returned, or Invalid naming `cursor`."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        raise _invalid("it is not a cursor of this API") from None
    if not isinstance(decoded, list) or len(decoded) != 3:
        raise _invalid("it is not a cursor of this API")
    found, value, pk = decoded
    if found != kind:
        raise _invalid("it belongs to another list or sort order")
    if not _is_int(pk) or not 1 <= pk <= PK_MAX:
        raise _invalid("its key is not a row key")
    if value_kind == "number":
        if not (_is_int(value) or isinstance(value, float)):
            raise _invalid("its value is not a number")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise _invalid("its value is not a finite number")
        return number, pk
    if not _is_int(value) or not INT64[0] <= value <= INT64[1]:
        raise _invalid("its value is not a time")
    return value, pk


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _invalid(reason: str) -> Invalid:
    message = f"not a cursor returned by this list ({reason}); pass next_cursor as it came"
    return Invalid([Problem(("query", "cursor"), message, "cursor_invalid")])
