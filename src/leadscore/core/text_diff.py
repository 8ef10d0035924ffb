"""A unified diff of two texts as marked lines, for people comparing two model versions: each
line says whether it was added, removed, kept for context or starts a hunk, so a page can mark
it with a sign and a tag rather than with colour alone."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

Kind = Literal["added", "removed", "context", "hunk"]


@dataclass(frozen=True)
class DiffLine:
    kind: Kind
    text: str
    old: int | None = None
    """Line number in the first text (removed and context lines)."""
    new: int | None = None
    """Line number in the second text (added and context lines)."""


def unified(a: str, b: str, context: int = 3) -> list[DiffLine]:
    """The lines of `difflib.unified_diff(a, b)` without its file header, numbered; an empty
    list when the texts are equal."""
    old = new = 0
    out: list[DiffLine] = []
    raw = difflib.unified_diff(a.splitlines(), b.splitlines(), n=context, lineterm="")
    for line in raw:
        if line.startswith(("---", "+++")) and not out:
            continue
        if line.startswith("@@"):
            ranges = line.split("@@")[1].split()
            old = int(ranges[0][1:].split(",")[0])
            new = int(ranges[1][1:].split(",")[0])
            out.append(DiffLine("hunk", line))
        elif line.startswith("+"):
            out.append(DiffLine("added", line[1:], new=new))
            new += 1
        elif line.startswith("-"):
            out.append(DiffLine("removed", line[1:], old=old))
            old += 1
        else:
            out.append(DiffLine("context", line[1:], old=old, new=new))
            old += 1
            new += 1
    return out
