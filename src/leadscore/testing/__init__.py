"""Test support that tests and users can reuse: random models and data (needs hypothesis)."""
