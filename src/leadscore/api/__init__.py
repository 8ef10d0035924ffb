"""The HTTP API of the live service (SPEC §4): a FastAPI app over `leadscore.service`."""

from leadscore.api.app import create_app

__all__ = ["create_app"]
