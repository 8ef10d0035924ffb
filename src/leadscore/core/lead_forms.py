"""Ad-platform lead forms (§8): Meta, LinkedIn, Google Ads and TikTok — their section of
the sources file and the pure parsing of what each platform delivers (docs/sources.md).

STUB: to be completed (issue 17, lead forms).
"""

from __future__ import annotations

from leadscore.core.model import Strict


class LeadForms(Strict):
    """The `lead_forms:` section: one entry per platform, each absent until configured."""
