"""Mapped inbound webhooks (§8): a declarative mapping from a JSON delivery to submissions,
with an HMAC or token check, and the ready presets (docs/sources.md).

STUB: to be completed (issue 17, mapped webhooks).
"""

from __future__ import annotations

from leadscore.core.model import Strict


class WebhookEndpoint(Strict):
    """One endpoint of the `webhooks:` section: POST /api/v1/sources/webhooks/{name}."""
