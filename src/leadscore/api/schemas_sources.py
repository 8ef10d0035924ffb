"""Response shape of GET /api/v1/sources (service/source_overview.py): kept apart from
api/schemas.py, which it reuses."""

from __future__ import annotations

from pydantic import Field

from leadscore.api.schemas import Out


class SecretState(Out):
    from_: str | None = Field(alias="from", description="env:NAME, or the sources file")
    ok: bool = Field(description="whether the secret resolves now")
    problem: str | None


class LeadFormSource(Out):
    platform: str
    url: str = Field(description="the address to paste into the platform")
    event: str
    forms: list[str] = Field(description="the forms with their own field map")
    secrets: dict[str, SecretState]


class WebhookSource(Out):
    name: str
    preset: str | None
    url: str
    verify: str = Field(description="hmac, token, ecdsa, or preset (the preset's check)")
    secrets: dict[str, SecretState]


class TrackedSite(Out):
    name: str
    key: str = Field(description="the site's public key (not a secret)")
    allowed_origins: list[str]
    consent: str
    snippet: str


class Tracking(Out):
    endpoint: str
    sites: list[TrackedSite]


class SourcesOverview(Out):
    lead_forms: list[LeadFormSource]
    webhooks: list[WebhookSource]
    tracking: Tracking
    max_body_bytes: int
    problems: list[str] = Field(description="secrets that do not resolve, named")
