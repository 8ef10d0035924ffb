"""Random streams and vectorised draws over whole chunks, with time in integer microseconds.

Every draw takes its generator explicitly and works on arrays, never row by row: that is what
keeps a million leads fast and each chunk reproducible on its own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
MONTH = 30 * DAY
YEAR = 365 * DAY
NEVER = np.iinfo(np.int64).max


def sigmoid(x: np.ndarray) -> np.ndarray:
    p: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return p


def stream(seed: int, *key: int) -> np.random.Generator:
    """An independent random stream per purpose and chunk: chunks never share draws."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def member(rng: np.random.Generator, group: np.ndarray, groups: Any) -> np.ndarray:
    """A uniform member of each row's group, as an index into the flattened groups."""
    size = np.array([len(g) for g in groups])
    index: np.ndarray = starts(size)[group] + (rng.random(len(group)) * size[group]).astype(
        np.int64
    )
    return index


def starts(sizes: np.ndarray) -> np.ndarray:
    first: np.ndarray = np.cumsum(sizes) - sizes
    return first


def pick(rng: np.random.Generator, logits: np.ndarray) -> np.ndarray:
    """One category per row from per-row logits (the Gumbel-max trick)."""
    choice: np.ndarray = np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)
    return choice


def ranks(counts: np.ndarray) -> np.ndarray:
    """0, 1, … within each run of `np.repeat(x, counts)`."""
    rank: np.ndarray = np.arange(int(counts.sum())) - np.repeat(starts(counts), counts)
    return rank


def uniform_in(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Microsecond timestamps uniform in [lo, hi)."""
    moment: np.ndarray = lo + (rng.random(len(lo)) * (hi - lo)).astype(np.int64)
    return moment


def delay(rng: np.random.Generator, mean_us: float, n: int) -> np.ndarray:
    """Positive exponential delays (at least a second), so effects follow their causes."""
    wait: np.ndarray = rng.exponential(mean_us, n).astype(np.int64) + SECOND
    return wait


def micros(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
