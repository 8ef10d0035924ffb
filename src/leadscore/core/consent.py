"""The lawful basis of processing a lead's personal data (SPEC §9), as a pure rule.

A lead has a basis when its `consent_basis` is set (consent, legitimate_interest, contract,
…) and its consent was not withdrawn after it was last given: a `consent_withdrawn_at` later
than `consent_given_at` (or with no `consent_given_at`) takes the basis away. The store's
SQL form of this rule is `store.consent.LAWFUL`; a test holds the two equal.
"""

from __future__ import annotations

NO_BASIS = "no lawful basis"
"""The reason recorded wherever something is not sent about a lead for want of a basis."""


def has_lawful_basis(basis: str | None, given_at: int | None, withdrawn_at: int | None) -> bool:
    """Whether a lead with these consent fields (times in epoch µs) has a lawful basis."""
    if not basis:
        return False
    if withdrawn_at is None:
        return True
    return given_at is not None and withdrawn_at <= given_at
