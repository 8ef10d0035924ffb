"""GET /sources: the configured lead sources, with the addresses to paste into each
platform (docs/sources.md). Admin: it tells where deliveries are accepted."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from leadscore.api import schemas
from leadscore.api.auth import Admin
from leadscore.api.errors import error_response
from leadscore.api.schemas_sources import SourcesOverview
from leadscore.service.principals import Principal
from leadscore.service.source_overview import overview
from leadscore.service.sources import SourcesConfigError, configured

router = APIRouter(tags=["sources"])


@router.get(
    "/sources",
    response_model=SourcesOverview,
    response_model_by_alias=True,
    summary="The configured lead sources and their addresses",
    responses={503: {"model": schemas.Error, "description": "The sources file is invalid"}},
)
def sources_overview(request: Request, principal: Principal = Admin) -> Any:
    """Each lead form, webhook endpoint and tracked site of LEADSCORE_SOURCES_FILE: its URL
    under LEADSCORE_PUBLIC_URL, its check, whether each secret resolves (never a value)."""
    ctx = request.app.state.ctx
    try:
        found = configured(ctx)
    except SourcesConfigError as exc:
        return error_response(request.scope, 503, f"the sources file: {exc}")
    return overview(found.file, ctx.settings.public_url, found.environ)
