"""When a Python regular expression may run on Polars' Rust engine with the same answer.

Models are written with Python `re` syntax (SPEC §2.1 `matches`); Polars runs Rust's `regex`
crate. The two agree on a common core of syntax over plain ASCII text, and disagree elsewhere:
Rust reads `[[:alpha:]]`, `[a&&b]`, `\\<` and `(?x)` whitespace differently, Python has
backreferences, lookaround and possessive quantifiers, and over non-ASCII text `\\w`, `\\s`,
`\\b` and case folding follow different Unicode tables. `rust_pattern` accepts a pattern only
when every token is in that core (an allow-list, not a deny-list); the kernel then runs it on
rows whose text is printable ASCII and asks Python's `re` about every other row and pattern.
"""

from __future__ import annotations

import re

import polars as pl

SAFE_TEXT = r"^[\t\n\x0B\x0C\r\x20-\x7E]*$"
"""Text on which an accepted pattern means the same in both engines."""

_CLASS_ESCAPES = set("dDwWsStnrfva") | set("\\]^-[.$*+?(){}|/")
_ESCAPES = set("dDwWsSbBAtnrfva") | set("\\.^$*+?()[]{}|/-#&~ \"'%,:;=@_`!")
_REPEAT = re.compile(r"\{(\d+)(,(\d*))?\}")
_NAME = re.compile(r"\(\?P<([A-Za-z_][A-Za-z0-9_]*)>")
_INLINE = re.compile(r"\(\?([ims]*)(?:-([ims]+))?([:)])")


class _Unsafe(Exception):
    pass


def rust_pattern(pattern: str, case_sensitive: bool) -> str | None:
    """The pattern to give Polars, or None when only Python's `re` may evaluate it."""
    if not all(" " <= ch <= "~" for ch in pattern):
        return None
    try:
        _check(pattern)
    except _Unsafe:
        return None
    translated = pattern if case_sensitive else "(?i)" + pattern
    try:
        pl.Series([""], dtype=pl.String).str.contains(translated)
    except pl.exceptions.PolarsError:
        return None
    return translated


def _check(pattern: str) -> None:
    i, n = 0, len(pattern)
    can_repeat = False
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= n or pattern[i + 1] not in _ESCAPES:
                raise _Unsafe
            can_repeat = pattern[i + 1] not in "bBA"
            i += 2
        elif ch == "[":
            i = _class(pattern, i)
            can_repeat = True
        elif ch == "(":
            i = _group(pattern, i)
            can_repeat = False
        elif ch in "*+?":
            if not can_repeat:
                raise _Unsafe
            i = _lazy(pattern, i + 1)
            can_repeat = False
        elif ch == "{":
            match = _REPEAT.match(pattern, i)
            if match is None or not can_repeat:
                raise _Unsafe
            i = _lazy(pattern, match.end())
            can_repeat = False
        elif ch in ")":
            can_repeat = True
            i += 1
        elif ch in "|^$":
            can_repeat = False
            i += 1
        elif ch == "}":
            raise _Unsafe
        else:
            can_repeat = True
            i += 1


def _lazy(pattern: str, i: int) -> int:
    """Skip a lazy `?`; a possessive `+` (Python 3.11) has no Rust equivalent."""
    if i < len(pattern) and pattern[i] == "?":
        return i + 1
    if i < len(pattern) and pattern[i] in "+*{":
        raise _Unsafe
    return i


def _class(pattern: str, i: int) -> int:
    """Skip a character class `[...]` that holds no nesting or set operation."""
    j = i + 1
    if j < len(pattern) and pattern[j] == "^":
        j += 1
    if j < len(pattern) and pattern[j] == "]":
        j += 1
    previous = ""
    while j < len(pattern):
        ch = pattern[j]
        if ch == "]":
            return j + 1
        if ch == "[":
            raise _Unsafe
        if ch in "&-~|" and previous == ch:
            raise _Unsafe
        if ch == "\\":
            if j + 1 >= len(pattern) or pattern[j + 1] not in _CLASS_ESCAPES:
                raise _Unsafe
            previous = ""
            j += 2
            continue
        previous = ch
        j += 1
    raise _Unsafe


def _group(pattern: str, i: int) -> int:
    """Skip the opening of a group: plain, `(?:`, `(?P<name>`, or inline i/m/s flags."""
    if not pattern.startswith("(?", i):
        return i + 1
    name = _NAME.match(pattern, i)
    if name is not None:
        return name.end()
    inline = _INLINE.match(pattern, i)
    if inline is None:
        raise _Unsafe
    return inline.end()
