"""leadscore: open, exact, explainable lead scoring and qualification.

The public face: load a model, score one lead with the reference scorer, or score whole
tables with the vectorised kernel (which gives the same numbers).
"""

from importlib.metadata import version
from typing import TYPE_CHECKING

from leadscore.core.evaluate import score_lead
from leadscore.core.loader import ModelError, load_model_text
from leadscore.core.records import Event, Lead
from leadscore.engine.model_file import load_model_file

if TYPE_CHECKING:  # at run time `__getattr__` below imports it, on first use
    from leadscore.engine.kernel import score_frame

__version__ = version("leadscore")  # pyproject.toml is the one place the version is written

__all__ = [
    "Event",
    "Lead",
    "ModelError",
    "__version__",
    "load_model_file",
    "load_model_text",
    "score_frame",
    "score_lead",
]


def __getattr__(name: str) -> object:
    """`score_frame` imports Polars only when asked for."""
    if name == "score_frame":
        from leadscore.engine.kernel import score_frame

        return score_frame
    raise AttributeError(f"module 'leadscore' has no attribute {name!r}")
