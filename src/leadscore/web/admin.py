"""The settings page (admins only): API keys (list, create — the key shown once, on the
answer to the form, never again — and revoke after a confirmation), dashboard users (list,
create, change a role) and owners and teams (list; add an owner). Every form posts with the
session's CSRF token and an admin's role, checked here whatever the page showed; a wrong
field comes back beside the field it concerns."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from leadscore.core.languages import LANGUAGES
from leadscore.locales import N_
from leadscore.service import keys, owners, users
from leadscore.service.context import Context
from leadscore.service.errors import Conflict, Invalid, NotFound
from leadscore.service.users import WebUser
from leadscore.web.rendering import page
from leadscore.web.sessions import Admin, context, posted_by

router = APIRouter(include_in_schema=False)
Posted = tuple[WebUser, dict[str, str]]
AdminPost = Depends(posted_by("admin"))


def _lists(ctx: Context) -> dict[str, Any]:
    return {
        "keys": keys.list_keys(ctx),
        "users": users.list_users(ctx),
        "owners": owners.list_owners(ctx),
        "teams": owners.list_teams(ctx),
    }


async def _page(
    request: Request,
    user: WebUser,
    status: int = 200,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    """The settings page; `errors` by form field (`key_name`, `user_email`, …), `values`
    what was typed, shown back (never a password)."""
    lists = await run_in_threadpool(_lists, context(request))
    return page(
        "settings.html",
        status,
        user=user,
        section="settings",
        scopes=keys.SCOPES,
        roles=users.ROLES,
        languages=LANGUAGES,
        errors=errors or {},
        values=values or {},
        notice=notice,
        **lists,
    )


@router.get("/settings")
async def settings_page(request: Request, user: WebUser = Admin) -> Response:
    revoked = request.query_params.get("revoked", "")[:200]
    notice = N_("API key %(name)s revoked.", name=repr(revoked)) if revoked else None
    return await _page(request, user, notice=notice)


def _field_errors(prefix: str, problems: list[tuple[tuple[Any, ...], str]]) -> dict[str, str]:
    """Problems by the form field they concern: loc ("email",) → `user_email`; a problem
    without a field goes to the form's own line (`user_form`)."""
    found: dict[str, str] = {}
    for loc, message in problems:
        name = next((str(p) for p in reversed(loc) if isinstance(p, str) and p != "body"), "")
        key = f"{prefix}_{name}" if name else f"{prefix}_form"
        found[key] = f"{found[key]}; {message}" if key in found else message
    return found


# --- API keys ------------------------------------------------------------------------------


@router.post("/settings/keys")
async def create_key(request: Request, posted: Posted = AdminPost) -> Response:
    """Create an API key and show it on this answer only: the database keeps its hash."""
    user, fields = posted
    name = fields.get("name", "").strip()
    chosen = [scope for scope in keys.SCOPES if fields.get(f"scope_{scope}")]
    values = {"key_name": name, **{f"key_scope_{s}": "on" for s in chosen}}
    errors: dict[str, str] = {}
    if not name:
        errors["key_name"] = N_("Give the key a name.")
    elif len(name) > 200:
        errors["key_name"] = N_("At most 200 characters.")
    if not chosen:
        errors["key_scopes"] = N_("Choose at least one scope.")
    if errors:
        return await _page(request, user, 422, errors=errors, values=values)
    try:
        key = await run_in_threadpool(keys.create_key, context(request), name, chosen, user.email)
    except Conflict as exc:
        return await _page(request, user, 409, errors={"key_name": str(exc)}, values=values)
    except Invalid as exc:
        errors = {"key_scopes": str(exc)}
        return await _page(request, user, 422, errors=errors, values=values)
    return page(
        "key_created.html",
        201,
        user=user,
        section="settings",
        key_name=name,
        key=key,
        scopes=chosen,
    )


@router.get("/settings/keys/revoke")
async def confirm_revoke(request: Request, user: WebUser = Admin) -> Response:
    """The confirmation step: what revoking means, and the button that does it (the name in
    the query, so any name works, even one with a '/')."""
    name = request.query_params.get("name", "")
    found = await run_in_threadpool(keys.list_keys, context(request))
    key = next((k for k in found if k["name"] == name and not k["revoked"]), None)
    if key is None:
        return page("not_found.html", 404, user=user)
    return page("confirm_revoke.html", user=user, section="settings", key=key)


@router.post("/settings/keys/revoke")
async def revoke_key(request: Request, posted: Posted = AdminPost) -> Response:
    user, fields = posted
    name = fields.get("name", "")
    try:
        await run_in_threadpool(keys.revoke_key, context(request), name, user.email)
    except NotFound:
        return page("not_found.html", 404, user=user)
    return RedirectResponse(f"/settings?revoked={quote(name, safe='')}#keys", 303)


# --- users ---------------------------------------------------------------------------------


@router.post("/settings/users")
async def create_user(request: Request, posted: Posted = AdminPost) -> Response:
    """A new dashboard user: the password typed twice, hashed with argon2id."""
    user, fields = posted
    email, role = fields.get("email", "").strip(), fields.get("role", "")
    password, again = fields.get("password", ""), fields.get("password2", "")
    language = fields.get("language", "")
    values = {"user_email": email, "user_role": role, "user_language": language}
    if password != again:
        errors: dict[str, str] = {"user_password2": N_("The two passwords differ.")}
        return await _page(request, user, 422, errors=errors, values=values)
    try:
        await run_in_threadpool(
            users.create_user, context(request), email, password, role, language, user.email
        )
    except Invalid as exc:
        problems = [(p.loc, p.msg) for p in exc.problems]
        errors = _field_errors("user", problems)
        return await _page(request, user, 422, errors=errors, values=values)
    except Conflict as exc:
        return await _page(request, user, 409, errors={"user_email": str(exc)}, values=values)
    return RedirectResponse("/settings#users", 303)


@router.post("/settings/users/role")
async def change_role(request: Request, posted: Posted = AdminPost) -> Response:
    user, fields = posted
    email, role = fields.get("email", ""), fields.get("role", "")
    try:
        await run_in_threadpool(users.set_role, context(request), email, role, user.email)
    except NotFound:
        return page("not_found.html", 404, user=user)
    except (Invalid, Conflict) as exc:
        return await _page(request, user, 409, errors={"role_form": str(exc)})
    return RedirectResponse("/settings#users", 303)


# --- owners --------------------------------------------------------------------------------


@router.post("/settings/owners")
async def create_owner(request: Request, posted: Posted = AdminPost) -> Response:
    """A new owner for assignment (as POST /api/v1/owners)."""
    user, fields = posted
    given = {name: fields.get(name, "").strip() for name in ("id", "name", "email", "capacity")}
    values = {f"owner_{name}": value for name, value in given.items()}
    body: dict[str, Any] = {"id": given["id"], "name": given["name"]}
    if given["email"]:
        body["email"] = given["email"]
    if given["capacity"]:
        capacity = given["capacity"]
        body["capacity"] = int(capacity) if capacity.isdigit() and len(capacity) < 19 else capacity
    try:
        item = owners.OwnerIn.model_validate(body)
        await run_in_threadpool(owners.create_owner, context(request), item, user.email)
    except ValidationError as exc:
        problems = [(tuple(e["loc"]), str(e["msg"])) for e in exc.errors()]
        errors = _field_errors("owner", problems)
        return await _page(request, user, 422, errors=errors, values=values)
    except Conflict as exc:
        return await _page(request, user, 409, errors={"owner_id": str(exc)}, values=values)
    return RedirectResponse("/settings#owners", 303)
