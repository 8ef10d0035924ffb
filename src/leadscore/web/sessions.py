"""Who is logged in: the session cookie, the role a page needs, the CSRF check of a posted
form, and safe `next` addresses.

Unauthenticated page requests are redirected to /login?next=… (htmx requests get the same
address in `HX-Redirect`); a known user without the role gets 403; a POST whose CSRF token
(form field `csrf_token` or header `X-CSRF-Token`) is not the session's gets 403. A client IP
that fails to log in LEADSCORE_AUTH_FAIL_LIMIT times within the window is refused (429) for
a cool-down (service/auth_failures.py). What a logged-in user changes is audited with their
e-mail and client IP.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl, quote

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from leadscore.locales import N_
from leadscore.service import auth_failures, users
from leadscore.service.audit import set_origin
from leadscore.service.context import Context
from leadscore.service.users import WebUser

COOKIE = "leadscore_session"
LOGIN_CSRF_COOKIE = "leadscore_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class LoginRequired(Exception):
    """No live session: go to the login page, then back to `next`."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class Forbidden(Exception):
    """A logged-in user without the role, or a form without the session's CSRF token."""


class TooManyFailures(Exception):
    """Too many failed logins from this address: wait `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def client_ip(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def check_login_allowed(request: Request) -> None:
    """Raise TooManyFailures while this client IP cools down after failed logins."""
    wait = auth_failures.of(context(request)).retry_after(client_ip(request))
    if wait is not None:
        raise TooManyFailures(wait)


def login_failed(request: Request) -> None:
    auth_failures.of(context(request)).failed(client_ip(request))


def context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def secure_cookies(ctx: Context) -> bool:
    """Cookies are Secure when people reach the service over https."""
    return ctx.settings.public_url.startswith("https://")


def local_path(target: str | None, default: str = "/leads") -> str:
    """`target` when it is a path on this site (`/leads?x=1`), else `default`: never
    `//evil.com`, `/\\evil.com`, `https://…` or anything with control characters."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith(("//", "/\\"))
        or any(c in target for c in "\\\r\n\t\x00")
        or len(target) > 2000
    ):
        return default
    return target


def login_url(request: Request) -> str:
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?next=" + quote(local_path(path), safe="/")


async def current_user(request: Request) -> WebUser | None:
    token = request.cookies.get(COOKIE)
    if not token or len(token) > 200:
        return None
    return await run_in_threadpool(users.session_user, context(request), token)


def require_role(role: str) -> Callable[[Request], Awaitable[WebUser]]:
    """A dependency giving the logged-in user when their role is `role` or above."""
    users.parse_role(role)

    async def dependency(request: Request) -> WebUser:
        user = await current_user(request)
        if user is None:
            raise LoginRequired(login_url(request))
        if not user.allows(role):
            raise Forbidden(N_("This needs the %(role)s role.", role=role))
        request.state.user = user
        set_origin(client_ip(request))
        return user

    return dependency


async def form_fields(request: Request) -> dict[str, str]:
    """A posted urlencoded form (the dashboard's forms post no files): first value of each
    field."""
    body = await request.body()
    fields: dict[str, str] = {}
    for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        fields.setdefault(name, value)
    return fields


def same_token(given: str | None, expected: str) -> bool:
    return given is not None and secrets.compare_digest(given.encode(), expected.encode())


def posted_by(role: str) -> Callable[..., Awaitable[tuple[WebUser, dict[str, str]]]]:
    """A dependency for a state-changing form: (the user with `role`, the form's fields)
    once the CSRF token matches the session's."""

    async def dependency(
        request: Request, user: WebUser = Depends(require_role("viewer"))
    ) -> tuple[WebUser, dict[str, str]]:
        fields = await form_fields(request)
        given = request.headers.get(CSRF_HEADER) or fields.get(CSRF_FIELD)
        if not same_token(given, user.csrf_token):
            raise Forbidden(N_("The form's CSRF token is missing or wrong; reload the page."))
        if not user.allows(role):
            raise Forbidden(N_("This needs the %(role)s role.", role=role))
        return user, fields

    return dependency


Viewer = Depends(require_role("viewer"))
Manager = Depends(require_role("manager"))
Admin = Depends(require_role("admin"))
