"""What the sources file configures, as a person setting up a platform needs it (§8): each
source's address to paste into the platform, how deliveries are verified and whether each
secret resolves — never a secret's value. Shared by `leadscore sources check` and
GET /api/v1/sources."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leadscore.core.sources import SecretError, SourcesFile, resolve_secret

PLATFORM_SECRETS = {
    "meta": ("app_secret", "verify_token", "access_token"),
    "linkedin": ("client_secret", "access_token"),
    "google": ("key",),
    "tiktok": ("client_secret",),
}


def _secret(value: str | None, environ: Mapping[str, str], where: str) -> dict[str, Any]:
    """Where a secret comes from and whether it resolves, never its value."""
    if value is None:
        return {"from": None, "ok": False, "problem": f"{where}: not set"}
    origin = value if value.startswith("env:") else "the sources file (literal)"
    try:
        resolve_secret(value, environ, where)
    except SecretError as exc:
        return {"from": origin, "ok": False, "problem": str(exc)}
    return {"from": origin, "ok": True, "problem": None}


def overview(file: SourcesFile, public_url: str, environ: Mapping[str, str]) -> dict[str, Any]:
    """Every configured source with its URL (under `public_url`) and its secrets' state."""
    base = public_url.rstrip("/")
    forms = []
    for platform, names in PLATFORM_SECRETS.items():
        config = getattr(file.lead_forms, platform)
        if config is None:
            continue
        forms.append(
            {
                "platform": platform,
                "url": f"{base}/api/v1/sources/{platform}",
                "event": config.event,
                "forms": sorted(config.forms),
                "secrets": {
                    name: _secret(getattr(config, name), environ, f"lead_forms.{platform}.{name}")
                    for name in names
                },
            }
        )
    webhooks = [
        {
            "name": name,
            "preset": endpoint.preset,
            "url": f"{base}/api/v1/sources/webhooks/{name}",
            "verify": endpoint.verify.kind if endpoint.verify is not None else "preset",
            "secrets": {"secret": _secret(endpoint.secret, environ, f"webhooks.{name}.secret")},
        }
        for name, endpoint in sorted(file.webhooks.items())
    ]
    sites = []
    for name, site in sorted(file.tracking.sites.items()):
        consent = "" if site.consent == "required" else ' data-consent="not_required"'
        sites.append(
            {
                "name": name,
                "key": site.key,
                "allowed_origins": list(site.allowed_origins),
                "consent": site.consent,
                "snippet": f'<script src="{base}/t.js" data-site="{site.key}"{consent}'
                " async></script>",
            }
        )
    problems = [secret["problem"] for secret in _all_secrets(forms, webhooks) if not secret["ok"]]
    return {
        "lead_forms": forms,
        "webhooks": webhooks,
        "tracking": {"endpoint": f"{base}/api/v1/sources/track", "sites": sites},
        "max_body_bytes": file.max_body_bytes,
        "problems": problems,
    }


def _all_secrets(
    forms: list[dict[str, Any]], webhooks: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    return [s for f in [*forms, *webhooks] for s in f["secrets"].values()]
