"""What the kernel computes per rule and per section, for every lead at once: the engine form
of core/evaluate.py's RuleOutcome and SectionOutcome.

Apart from kernel.py so that the explanation column (engine/explain.py) and engagement
(engine/engagement.py) read the same shapes without importing the kernel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class RuleResult:
    """One rule's outcome for every lead (rows where `occurrences == 0` did not contribute)."""

    rule_id: str
    group: str | None
    occurrences: np.ndarray
    raw: np.ndarray


@dataclass
class SectionResult:
    """One section's rules and clamps for every lead (engine form of evaluate.SectionOutcome)."""

    rules: list[RuleResult]
    capped: list[np.ndarray]
    groups: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    summed: np.ndarray | None = None
    points: np.ndarray | None = None
