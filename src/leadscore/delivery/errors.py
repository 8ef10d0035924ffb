"""The one error every delivery raises, and whether trying again can help.

The outbox worker needs a single answer from an adapter: was it delivered, and if not,
should the action be retried (and not before when)? Connection errors, timeouts, 408, 429
and 5xx are worth retrying; any other 4xx, and a configuration error (a missing secret, a bad
URL, a broken template), fails the same way on every attempt, so it is permanent.
"""

from __future__ import annotations


class DeliveryError(Exception):
    """A delivery that did not happen: `message` says why in one line, `retryable` whether a
    later attempt may succeed, and `retry_after` (seconds) how long the receiver asked us to
    wait, when it said so."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return (
            f"DeliveryError({self.message!r}, retryable={self.retryable}, "
            f"retry_after={self.retry_after})"
        )


def permanent(message: str) -> DeliveryError:
    """A failure that every later attempt would repeat (bad configuration, a 4xx refusal)."""
    return DeliveryError(message, retryable=False)


def retryable_status(status: int) -> bool:
    """Whether an HTTP status is worth another attempt: 408, 429 and every 5xx."""
    return status in (408, 429) or 500 <= status <= 599
