"""The user's own account page: who they are, and the dashboard language they choose for
themselves (every role may; the form carries the session's CSRF token)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from leadscore.core.languages import LANGUAGES
from leadscore.service import users
from leadscore.service.errors import Invalid
from leadscore.service.users import WebUser
from leadscore.web.rendering import BROWSER_LANGUAGE, page
from leadscore.web.sessions import Viewer, context, posted_by

router = APIRouter(include_in_schema=False)
ViewerPost = Depends(posted_by("viewer"))


def _page(user: WebUser, status: int = 200, **extra: object) -> Response:
    return page(
        "account.html",
        status,
        user=user,
        section="account",
        languages=LANGUAGES,
        browser_language=BROWSER_LANGUAGE.get(),
        **extra,
    )


@router.get("/account")
async def account_page(request: Request, user: WebUser = Viewer) -> Response:
    return _page(user, saved=request.query_params.get("saved") == "language")


@router.post("/account/language")
async def choose_language(
    request: Request, posted: tuple[WebUser, dict[str, str]] = ViewerPost
) -> Response:
    """Keep the chosen language (empty: follow the browser); the next page speaks it."""
    user, fields = posted
    try:
        await run_in_threadpool(users.set_language, context(request), user, fields.get("language"))
    except Invalid as exc:
        return _page(user, 422, error=exc.problems[0].msg, saved=False)
    return RedirectResponse("/account?saved=language", 303)
