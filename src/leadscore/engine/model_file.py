"""Reading a model file from disk: the one step of loading a model that is I/O, kept out of
the pure core (core/loader.py validates the text)."""

from __future__ import annotations

from pathlib import Path

from leadscore.core.loader import load_model_text
from leadscore.core.model import Model


def load_model_file(path: str | Path) -> Model:
    """Load and validate a model file; raises ModelError (or OSError for an unreadable file)."""
    path = Path(path)
    return load_model_text(path.read_text(encoding="utf-8"), source=str(path))
