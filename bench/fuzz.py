"""Fuzz the file loaders and readers with many more inputs than `make test` does (issue 15,
item 5), printing per target the inputs tried, how many loaded (a valid result), how many
were refused with our clear error, and the crashes (any other exception: a traceback a user
would see), with the first input of each kind of crash.

    .venv/bin/python bench/fuzz.py [--examples 2000] [--seed N] [--target NAME ...]

The targets and their inputs are leadscore.testing.fuzzing's (tests/fuzz runs the same ones,
derandomized and fewer). Random each run unless --seed is given; the validate commands are
given fewer inputs (a whole command each: `Target.cost`).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, seed, settings

from leadscore.cli.app import app
from leadscore.testing.fuzzing import Target, targets


def fuzz(target: Target, examples: int, at: int) -> tuple[Counter[str], dict[str, Any]]:
    """Outcome counts (`valid`, `clear`, `crash`) and the first input of each crash kind."""
    counts: Counter[str] = Counter()
    first: dict[str, Any] = {}

    @seed(at)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(target.inputs)
    def run(value: Any) -> None:
        try:
            target.call(value)
        except target.clear:
            counts["clear"] += 1
        except Exception as exc:  # noqa: BLE001 - a crash is what is counted here
            counts["crash"] += 1
            kind = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}"
            first.setdefault(kind, value)
        else:
            counts["valid"] += 1

    run()
    return counts, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--target", action="append", help="only these (repeatable)")
    args = parser.parse_args()
    at = args.seed if args.seed is not None else random.randrange(2**32)
    print(f"seed {at}; {args.examples:,} inputs per target (fewer for commands)")
    print(f"{'target':32} {'inputs':>8} {'valid':>8} {'clear':>8} {'crashes':>8} {'s':>7}")
    total_inputs = total_crashes = 0
    for target in targets(app):
        if args.target and target.name not in args.target:
            continue
        started = time.perf_counter()
        counts, first = fuzz(target, max(1, args.examples // target.cost), at)
        inputs = sum(counts.values())
        total_inputs += inputs
        total_crashes += counts["crash"]
        print(
            f"{target.name:32} {inputs:8,} {counts['valid']:8,} {counts['clear']:8,}"
            f" {counts['crash']:8,} {time.perf_counter() - started:7.1f}",
            flush=True,
        )
        for kind, value in first.items():
            print(f"    crash {kind}\n      first input: {value!r:.300}")
    print(f"total: {total_inputs:,} inputs, {total_crashes:,} crashes")
    sys.exit(1 if total_crashes else 0)


if __name__ == "__main__":
    main()
