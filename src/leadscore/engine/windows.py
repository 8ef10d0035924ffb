"""The greedy count windows of SPEC §2.4, for every lead at once.

Per lead the reference scans its occurrences in time order: a window opens at an occurrence;
if the N-th occurrence of the window is at most D after the first, the window awards (at that
N-th occurrence) and the next window opens right after it; otherwise the window slides by one.

Vectorised: a window opening at i would award when the (i + N − 1)-th occurrence is the same
lead's and at most D later (one comparison per occurrence). A lead's scan then jumps from
award to award — to the first awarding opening at or after its position (a binary search in
the sorted list of openings), then N further — so one vectorised step per award rank serves
every lead: the number of steps is the largest number of awards any lead gets, not the
number of occurrences.
"""

from __future__ import annotations

import numpy as np


def count_windows(
    groups: np.ndarray, times: np.ndarray, at_least: int, within: int, first_only: bool = False
) -> np.ndarray:
    """Indices of the awarding occurrences (the N-th of each window), in array order.

    `groups` and `times` are sorted by (group, time). With `first_only`, at most one award
    per group (a rule with `once: true`).
    """
    n = len(times)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    ends = np.r_[starts[1:], n]
    # ok[i]: a window opening at i awards — its N-th occurrence exists in the same group
    # (groups are contiguous) and is at most `within` after the first.
    span = n - (at_least - 1)
    if span <= 0:
        return np.zeros(0, dtype=np.int64)
    head, tail = slice(0, span), slice(at_least - 1, n)
    ok = (groups[tail] == groups[head]) & (times[tail] - times[head] <= within)
    openings = np.flatnonzero(ok)  # where a window would award, in order
    if len(openings) == 0:
        return np.zeros(0, dtype=np.int64)
    awards: list[np.ndarray] = []
    pos, end = starts, ends
    while len(pos):
        # The first awarding opening at or after each lead's scan position, if in its group.
        at = np.searchsorted(openings, pos)
        found = at < len(openings)
        opening = np.where(found, openings[np.minimum(at, len(openings) - 1)], n)
        valid = opening < end
        opening, end = opening[valid], end[valid]
        awards.append(opening + (at_least - 1))
        if first_only:
            break
        pos = opening + at_least
        more = pos < end
        pos, end = pos[more], end[more]
    if not awards:
        return np.zeros(0, dtype=np.int64)
    return np.sort(np.concatenate(awards))
