"""Failed-authentication limits: a client IP that fails to authenticate `limit` times within
`window` seconds (a wrong API key, a wrong dashboard password) is refused — 429 with
`Retry-After` — for `window` seconds, before its next guess is even checked.

The count is kept in memory, per process: N server processes allow N times the limit (a
reverse proxy's limit is the place for a fleet-wide one). Successful requests are never
counted; an API key verified a moment ago (service.keys' cache) passes without asking here,
so the authenticated hot path does not change.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque

from leadscore.service.context import Context

MAX_CLIENTS = 10_000
"""Most IPs remembered at once; the least recently failing are forgotten first."""


EXTRA = "auth_failures"


def of(ctx: Context) -> AuthFailures:
    """The context's counts (one per process and database, shared by the API and the
    dashboard; forgotten with the context's caches)."""
    found = ctx.extras.get(EXTRA)
    if not isinstance(found, AuthFailures):
        found = ctx.extras[EXTRA] = AuthFailures(
            ctx.settings.auth_fail_limit, ctx.settings.auth_fail_window_seconds
        )
    return found


class AuthFailures:
    """Failure times per client IP, and the IPs cooling down."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._blocked: dict[str, float] = {}
        self._lock = threading.Lock()

    def retry_after(self, ip: str) -> int | None:
        """Seconds (≥ 1) until `ip` may try again; None when it may try now."""
        if not self.limit or not self._blocked:
            return None
        with self._lock:
            until = self._blocked.get(ip)
            if until is None:
                return None
            left = until - time.monotonic()
            if left <= 0:
                del self._blocked[ip]
                return None
            return max(1, math.ceil(left))

    def failed(self, ip: str) -> None:
        """Count one failed authentication by `ip`; the limit-th within the window starts
        its cool-down."""
        if not self.limit:
            return
        now = time.monotonic()
        with self._lock:
            times = self._failures.pop(ip, None) or deque()
            times.append(now)
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) >= self.limit:
                self._blocked[ip] = now + self.window
                times.clear()
            else:
                self._failures[ip] = times
            while len(self._failures) > MAX_CLIENTS:
                self._failures.popitem(last=False)
            if len(self._blocked) > MAX_CLIENTS:
                self._blocked = {k: v for k, v in self._blocked.items() if v > now}
