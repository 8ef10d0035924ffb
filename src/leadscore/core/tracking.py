"""Website tracking (§8): the `tracking:` section of the sources file (sites, their public
keys and allowed origins) and the pure rules of beacons (docs/sources.md).

STUB: to be completed (issue 17, tracking).
"""

from __future__ import annotations

from leadscore.core.model import Strict


class Tracking(Strict):
    """The `tracking:` section."""
