"""The sources file (§8): where leads and events come from besides the API — ad-platform
lead forms, mapped inbound webhooks and website tracking (docs/sources.md).

Each section has its own module (core/lead_forms.py, core/webhook_mapping.py,
core/tracking.py); this one composes them, loads the YAML with every problem named by key
path and line, and resolves secrets. A secret is never written in the file itself in
production: `env:NAME` reads the environment variable NAME when the service starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import Field, ValidationError

from leadscore.core.lead_forms import LeadForms
from leadscore.core.loader import FileError, located, pydantic_problems, read_yaml
from leadscore.core.model import Strict
from leadscore.core.tracking import Tracking
from leadscore.core.webhook_mapping import WebhookEndpoint

DEFAULT_MAX_BODY = 1_048_576
"""Largest inbound delivery read (bytes): a lead form or a webhook batch is far smaller."""

EndpointName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]


class SourcesFile(Strict):
    lead_forms: LeadForms = Field(default_factory=LeadForms)
    webhooks: dict[EndpointName, WebhookEndpoint] = Field(default_factory=dict)
    tracking: Tracking = Field(default_factory=Tracking)
    max_body_bytes: Annotated[int, Field(ge=1024, le=16 * 1_048_576)] = DEFAULT_MAX_BODY


class SourcesError(FileError):
    """An invalid sources file; `problems` lists every error found."""

    default_source = "sources"


def load_sources_text(text: str, source: str = "sources") -> SourcesFile:
    """Load and validate a sources YAML file: every problem with its key path and line."""
    data, lines, problems = read_yaml(
        text, what="a sources file must be a mapping (lead_forms, webhooks, tracking)"
    )
    if data is None:
        raise SourcesError(problems, source)
    found: dict[str, str] = {p.path: p.message for p in problems}
    try:
        parsed = SourcesFile.model_validate(data)
    except ValidationError as exc:
        known = (*SourcesFile.model_fields, "meta", "linkedin", "google", "tiktok", "sites")
        for path, message in pydantic_problems(exc, known):
            found.setdefault(path, message)
        parsed = None
    if parsed is not None and not found:
        return parsed
    raise SourcesError(located(found, problems, lines), source)


class SecretError(ValueError):
    """A secret that names an environment variable that is not set."""


def resolve_secret(value: str | None, environ: Mapping[str, str], where: str) -> str | None:
    """The secret a file value stands for: `env:NAME` is read from `environ` (an unset or
    empty variable is an error naming `where`), anything else is the secret itself."""
    if value is None:
        return None
    if value.startswith("env:"):
        name = value[4:]
        found = environ.get(name)
        if not found:
            raise SecretError(f"{where}: the environment variable {name} is not set")
        return found
    return value
