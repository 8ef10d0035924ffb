"""The one exception type the predictive commands turn into a clean exit-2 message."""

from __future__ import annotations


class MLInputError(Exception):
    """A problem with the user's data, options or model folder (not a bug): shown in one line."""
