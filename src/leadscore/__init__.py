"""leadscore: open, exact, explainable lead scoring and qualification.

The public face: load a model, score one lead with the reference scorer, or score whole
tables with the vectorised kernel (which gives the same numbers), in one process or on Spark.
Everything the documented Python examples use is here; the modules below are internals.
"""

from importlib.metadata import version
from typing import TYPE_CHECKING

from leadscore.core.evaluate import score_lead
from leadscore.core.explain import Contribution, ScoreResult
from leadscore.core.loader import ModelError, load_model_text
from leadscore.core.model import Model
from leadscore.core.records import Event, Lead
from leadscore.core.timestamps import format_timestamp, parse_timestamp
from leadscore.engine.model_file import load_model_file

if TYPE_CHECKING:  # at run time `__getattr__` below imports them, on first use
    from leadscore.engine.kernel import score_frame
    from leadscore.engine.spark import dedupe_events, score_spark
    from leadscore.engine.spark import session as spark_session

__version__ = version("leadscore")  # pyproject.toml is the one place the version is written

__all__ = [
    "Contribution",
    "Event",
    "FakeHubSpot",
    "FakePipedrive",
    "FakeSalesforce",
    "FieldSpec",
    "HubSpotConnector",
    "PipedriveConnector",
    "SalesforceConnector",
    "Update",
    "check_connector",
    "Lead",
    "Model",
    "ModelError",
    "ScoreResult",
    "__version__",
    "dedupe_events",
    "format_timestamp",
    "load_model_file",
    "load_model_text",
    "parse_timestamp",
    "score_frame",
    "score_lead",
    "score_spark",
    "spark_session",
]

_LAZY = {
    "score_frame": ("leadscore.engine.kernel", "score_frame"),
    "score_spark": ("leadscore.engine.spark", "score_spark"),
    "dedupe_events": ("leadscore.engine.spark", "dedupe_events"),
    "spark_session": ("leadscore.engine.spark", "session"),
    "HubSpotConnector": ("leadscore.connectors.hubspot", "HubSpotConnector"),
    "SalesforceConnector": ("leadscore.connectors.salesforce", "SalesforceConnector"),
    "PipedriveConnector": ("leadscore.connectors.pipedrive", "PipedriveConnector"),
    "Update": ("leadscore.connectors.base", "Update"),
    "FieldSpec": ("leadscore.connectors.base", "FieldSpec"),
    "FakeHubSpot": ("leadscore.testing.fakes.hubspot", "FakeHubSpot"),
    "FakeSalesforce": ("leadscore.testing.fakes.salesforce", "FakeSalesforce"),
    "FakePipedrive": ("leadscore.testing.fakes.pipedrive", "FakePipedrive"),
    "check_connector": ("leadscore.testing.connectors", "check_connector"),
}
"""Names whose modules import Polars, PySpark, httpx or a web server: loaded only when asked
for."""


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from importlib import import_module

        module, attribute = _LAZY[name]
        return getattr(import_module(module), attribute)
    raise AttributeError(f"module 'leadscore' has no attribute {name!r}")
