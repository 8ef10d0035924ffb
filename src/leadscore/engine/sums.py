"""Sums that equal Python's `sum()` bit for bit, per group, vectorised.

The reference adds a rule's decayed occurrences with the builtin `sum()` in time order. Float
addition is not associative, so a pairwise or SIMD sum (Polars, numpy) can differ in the last
bit, and a last bit can flip a rounding at x.xx5. Python 3.12 made `sum()` of floats
compensated (Neumaier); which one runs is detected once, here, and mirrored exactly.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

COMPENSATED = sum([1e100, 1.0, -1e100]) == 1.0
"""True when this Python's `sum()` of floats is Neumaier-compensated (3.12 and later)."""

LONG_GROUP = 2048
"""Groups longer than this are summed by the builtin itself (few; saves many tiny passes)."""


def python_sum(values: Iterable[float]) -> float:
    """Python's own `sum()` of a sequence of floats."""
    return sum(values)


def prefix_sums(value: float, count: int) -> np.ndarray:
    """`[sum([value] * n) for n in range(count + 1)]`, in O(count)."""
    out = np.zeros(count + 1, dtype=np.float64)
    if count == 0:
        return out
    total, comp = 0.0 + value, 0.0
    out[1] = total
    for n in range(2, count + 1):
        if COMPENSATED:
            t = total + value
            if abs(total) >= abs(value):
                comp += (total - t) + value
            else:
                comp += (value - t) + total
            total = t
            out[n] = total + comp if comp and np.isfinite(comp) else total
        else:
            total = total + value
            out[n] = total
    return out


def group_sums(values: np.ndarray, groups: np.ndarray, size: int) -> np.ndarray:
    """Python's `sum()` of `values` within each group, in array order.

    `groups` is sorted (the values of a group are contiguous); returns one sum per group id
    in `range(size)`, 0.0 for a group without values.
    """
    out = np.zeros(size, dtype=np.float64)
    if len(values) == 0:
        return out
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    lengths = np.diff(np.r_[starts, len(values)])
    ids = groups[starts]
    long = lengths > LONG_GROUP
    for start, length, gid in zip(starts[long], lengths[long], ids[long], strict=True):
        out[gid] = python_sum(values[start : start + length].tolist())
    starts, lengths, ids = starts[~long], lengths[~long], ids[~long]
    if len(starts) == 0:
        return out
    small = lengths.astype(np.int16) if lengths.max() < 2**15 else lengths  # radix sort
    order = np.argsort(-small, kind="stable")
    starts, lengths, ids = starts[order], lengths[order], ids[order]
    # Position k of every group still that long, one vectorised step per k.
    remaining = np.searchsorted(-lengths, -np.arange(1, lengths[0] + 1), side="right")
    total = 0.0 + values[starts]
    comp = np.zeros(len(starts), dtype=np.float64)
    for k in range(1, lengths[0]):
        m = remaining[k]
        x = values[starts[:m] + k]
        f = total[:m]
        t = f + x
        if COMPENSATED:
            bigger = np.abs(f) >= np.abs(x)
            comp[:m] += np.where(bigger, (f - t) + x, (x - t) + f)
        total[:m] = t
    if COMPENSATED:
        fix = (comp != 0) & np.isfinite(comp)
        total[fix] = total[fix] + comp[fix]
    out[ids] = total
    return out
