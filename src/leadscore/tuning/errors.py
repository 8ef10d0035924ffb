"""The one error type of tuning that a user can fix (bad inputs, too little history)."""

from __future__ import annotations


class TuningError(ValueError):
    """A problem with the inputs that the user can fix; the CLI prints it and exits 2."""
