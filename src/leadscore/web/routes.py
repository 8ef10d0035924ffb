"""Mounting the dashboard into the API app: its static files at /assets, the login and
logout, the pages, and the handlers that turn a missing login into a redirect and a missing
role or CSRF token into a 403 page. No route appears in the OpenAPI document."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from leadscore.locales import N_
from leadscore.service import users
from leadscore.service.users import WebUser
from leadscore.web import account, admin, analytics, automations, leads, models
from leadscore.web.rendering import ASSETS_URL, STATIC, BrowserLanguage, page, security_headers
from leadscore.web.sessions import (
    COOKIE,
    LOGIN_CSRF_COOKIE,
    Forbidden,
    LoginRequired,
    TooManyFailures,
    check_login_allowed,
    context,
    current_user,
    form_fields,
    local_path,
    login_failed,
    posted_by,
    same_token,
    secure_cookies,
)

router = APIRouter(include_in_schema=False)


def install(app: FastAPI) -> None:
    app.add_middleware(BrowserLanguage)
    app.mount(ASSETS_URL, StaticFiles(directory=STATIC), name="assets")
    app.include_router(router)
    app.include_router(leads.router)
    app.include_router(automations.router)
    app.include_router(admin.router)
    app.include_router(analytics.router)
    app.include_router(models.router)
    app.include_router(account.router)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        if request.headers.get("HX-Request") == "true":
            return Response(status_code=401, headers={"HX-Redirect": exc.next_path})
        return RedirectResponse(exc.next_path, 303, headers=security_headers())

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        user = getattr(request.state, "user", None)
        return page("forbidden.html", 403, user=user, reason=exc.args[0])

    @app.exception_handler(TooManyFailures)
    async def _too_many(request: Request, exc: TooManyFailures) -> Response:
        reason = N_("Too many failed logins; try again in %(seconds)s s.", seconds=exc.retry_after)
        response = page("forbidden.html", 429, user=None, reason=reason)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/leads", 303)


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    target = local_path(next)
    if await current_user(request) is not None:
        return RedirectResponse(target, 303)
    return _login_page(request, target, None, 200)


def _login_page(request: Request, target: str, error: str | None, status: int) -> Response:
    """The form, with a fresh login CSRF token in a cookie and a hidden field (a login form
    posted from another site cannot log a browser into the attacker's account)."""
    token = secrets.token_urlsafe(32)
    response = page(
        "login.html", status, user=None, next=target, csrf_token=token, error=error, email=""
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(context(request)),
        path="/login",
    )
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    fields = await form_fields(request)
    target = local_path(fields.get("next"))
    if not same_token(request.cookies.get(LOGIN_CSRF_COOKIE), fields.get("csrf_token", "")):
        raise Forbidden(N_("The login form expired; reload the page."))
    check_login_allowed(request)
    ctx = context(request)
    token = await run_in_threadpool(
        users.log_in, ctx, fields.get("email", ""), fields.get("password", "")
    )
    if token is None:
        login_failed(request)
        return _login_page(request, target, N_("Wrong e-mail or password."), 401)
    response = RedirectResponse(target, 303, headers=security_headers())
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(ctx.settings.session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=secure_cookies(ctx),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(
    request: Request, posted: tuple[WebUser, dict[str, str]] = Depends(posted_by("viewer"))
) -> Response:
    """Ends the session in the database: the old cookie no longer logs anyone in."""
    token = request.cookies.get(COOKIE, "")
    await run_in_threadpool(users.log_out, context(request), token)
    response = RedirectResponse("/login", 303, headers=security_headers())
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
    return response
