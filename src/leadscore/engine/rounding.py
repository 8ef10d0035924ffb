"""Python's `round(x, 2)` (correctly rounded, half to even on the exact binary value) for
whole arrays, and the grade/tier lookups that compare the rounded values (SPEC §2.5).

`round(x, 2)` is the double nearest to the decimal m/100 where m is x·100 rounded half to
even *exactly*. The product x·100 is computed with its exact rounding error (Dekker's
two-product), which decides every tie and near-tie; m/100 is then one correctly rounded
division, the same double Python's decimal-string round trip gives.
"""

from __future__ import annotations

import numpy as np

_SPLIT = 134_217_729.0  # 2**27 + 1
_LIMIT = 1e13  # beyond this x·100 nears 2**53: leave those (rare) values to Python


def round2(x: np.ndarray) -> np.ndarray:
    """`explain.round2` of each value: `round(x, 2)`, never -0.0."""
    x = np.asarray(x, dtype=np.float64)
    # Fast path: where x·100 is not near a half, rounding the computed product is exact.
    with np.errstate(over="ignore", invalid="ignore"):
        p = x * 100.0
        n = np.rint(p)
        clear = (np.abs(np.abs(p - n) - 0.5) > 1e-6) & (np.abs(p) < 2.0**30)
    out = np.where(clear, n / 100.0, 0.0)
    if not clear.all():
        out[~clear] = _exact(x[~clear])
    out[out == 0] = 0.0
    return out


def _exact(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    plain = np.isfinite(x) & (np.abs(x) < _LIMIT)
    xs = np.abs(x[plain])  # round half to even is symmetric: work on |x|
    p = xs * 100.0
    big = _SPLIT * xs
    hi = big - (big - xs)
    lo = xs - hi
    err = (hi * 100.0 - p) + lo * 100.0  # exact: |x|·100 = p + err
    n = np.floor(p)
    half = (p - n) - 0.5  # its sign is exact, and |half| > |err| unless half == 0
    odd = np.fmod(n, 2.0) != 0
    up = (half > 0) | ((half == 0) & ((err > 0) | ((err == 0) & odd)))
    out[plain] = np.copysign((n + up) / 100.0, x[plain])
    for i in np.flatnonzero(~plain):
        out[i] = round(float(x[i]), 2)
    return out


def first_at_or_below(thresholds: dict[str, float], values: np.ndarray) -> np.ndarray:
    """Index into `thresholds` of the first name whose threshold ≤ value; -1 for none."""
    out = np.full(len(values), -1, dtype=np.int64)
    for i, threshold in reversed(list(enumerate(thresholds.values()))):
        out[threshold <= values] = i
    return out
