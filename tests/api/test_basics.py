"""Smoke: health, docs, redirect."""

from __future__ import annotations

import httpx


def test_health_needs_no_key(api) -> None:
    for path in ("/health", "/api/v1/health"):
        response = httpx.get(api.server.base_url + path)
        assert response.status_code == 200
        assert response.json()["status"] == "ok"
