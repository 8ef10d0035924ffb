"""Reading a model file from disk: the one step of loading a model that is I/O, kept out of
the pure core (core/loader.py validates the text)."""

from __future__ import annotations

from pathlib import Path

from leadscore.core.loader import ModelError, Problem, load_model_text
from leadscore.core.model import Model


def load_model_file(path: str | Path) -> Model:
    """Load and validate a model file; raises ModelError (also for bytes that are not UTF-8
    text) or OSError for an unreadable file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:  # found by fuzzing (tests/fuzz): was a traceback
        where = f"byte {exc.start}: {exc.reason}"
        raise ModelError([Problem("", f"not UTF-8 text ({where})")], str(path)) from None
    return load_model_text(text, source=str(path))
