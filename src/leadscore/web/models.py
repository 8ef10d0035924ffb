"""The models page: the scoring-model versions (who uploaded each, when, which is active),
each version's YAML, a diff of two versions, an editor whose YAML is validated as it is typed
(managers; errors with their key path and line) and saved as a new version, and activation
and rollback (admins) after a confirmation saying what will happen: every lead is rescored,
and how many leads' stage and tier would change (counted in a job: web/model_jobs.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from leadscore.core.loader import ModelError, load_model_text
from leadscore.core.text_diff import unified
from leadscore.locales import N_
from leadscore.service import scoring_models
from leadscore.service.errors import Conflict, Invalid, NotFound
from leadscore.service.users import WebUser
from leadscore.web import model_jobs
from leadscore.web.rendering import page
from leadscore.web.sessions import Admin, Manager, Viewer, context, posted_by

router = APIRouter(include_in_schema=False)
router.include_router(model_jobs.router)  # first: /models/backtest before /models/{version}
Posted = tuple[WebUser, dict[str, str]]
MAX_YAML = 512 * 1024
"""A model file is a few kilobytes; more is refused before parsing."""


def problems_of(text: str) -> list[dict[str, Any]]:
    """The problems of model YAML as the page lists them (path, message, line), none when it
    is valid."""
    if len(text) > MAX_YAML:
        return [{"path": "", "message": f"more than {MAX_YAML} characters", "line": None}]
    if not text.strip():
        return [{"path": "", "message": "the model is empty", "line": None}]
    try:
        load_model_text(text, source="editor")
    except ModelError as exc:
        return [{"path": p.path, "message": p.message, "line": p.line} for p in exc.problems]
    return []


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


@router.get("/models")
async def models_page(request: Request, user: WebUser = Viewer) -> Response:
    versions = await run_in_threadpool(scoring_models.list_versions, context(request))
    query = request.query_params
    return page(
        "models.html",
        user=user,
        section="models",
        versions=versions,
        done={
            k: query[k][:40] for k in ("saved", "activated", "rescored", "changed") if k in query
        },
    )


@router.get("/models/diff")
async def diff_page(request: Request, user: WebUser = Viewer) -> Response:
    """Two versions' YAML, line by line: `+` and <ins> for added, `-` and <del> for removed."""
    ctx = context(request)
    a, b = _int(request.query_params.get("a")), _int(request.query_params.get("b"))
    versions = await run_in_threadpool(scoring_models.list_versions, ctx)
    if a is None or b is None:
        return page(
            "models_diff.html",
            422,
            user=user,
            section="models",
            versions=versions,
            a=a,
            b=b,
            lines=None,
            error=N_("Choose two versions."),
        )
    try:
        first = await run_in_threadpool(scoring_models.get_version, ctx, a)
        second = await run_in_threadpool(scoring_models.get_version, ctx, b)
    except NotFound:
        return page("not_found.html", 404, user=user)
    lines = unified(first["yaml"], second["yaml"])
    return page(
        "models_diff.html",
        user=user,
        section="models",
        versions=versions,
        a=a,
        b=b,
        lines=lines,
        error=None,
    )


@router.get("/models/edit")
async def editor(request: Request, user: WebUser = Manager) -> Response:
    """The editor, starting from the active version (or the one asked with `?from=`)."""
    ctx = context(request)
    versions = await run_in_threadpool(scoring_models.list_versions, ctx)
    start = _int(request.query_params.get("from"))
    if start is None:
        start = next((v["version"] for v in versions if v["active"]), None)
    text = ""
    if start is not None:
        try:
            text = (await run_in_threadpool(scoring_models.get_version, ctx, start))["yaml"]
        except NotFound:
            return page("not_found.html", 404, user=user)
    return page(
        "models_edit.html", user=user, section="models", text=text, start=start, problems=None
    )


@router.post("/models/validate")
async def validate(posted: Posted = Depends(posted_by("manager"))) -> Response:
    """The editor's htmx call: the list of problems, or "valid"."""
    _, fields = posted
    found = await run_in_threadpool(problems_of, fields.get("yaml", ""))
    return page("models_problems.html", problems=found)


@router.post("/models")
async def save(request: Request, posted: Posted = Depends(posted_by("manager"))) -> Response:
    """Store the editor's YAML as a new (inactive) version; when invalid, the editor again
    with each problem at its line."""
    user, fields = posted
    text = fields.get("yaml", "")
    found = await run_in_threadpool(problems_of, text)
    if not found:
        try:
            saved = await run_in_threadpool(
                scoring_models.upload, context(request), text, user.email
            )
        except Invalid as exc:
            found = [{"path": "", "message": p.msg, "line": None} for p in exc.problems]
        else:
            return RedirectResponse(f"/models?saved={saved['version']}", 303)
    return page(
        "models_edit.html", 422, user=user, section="models", text=text, start=None, problems=found
    )


@router.get("/models/{version}")
async def version_page(request: Request, version: int, user: WebUser = Viewer) -> Response:
    try:
        found = await run_in_threadpool(scoring_models.get_version, context(request), version)
    except NotFound:
        return page("not_found.html", 404, user=user)
    return page(
        "model_version.html",
        user=user,
        section="models",
        model=found,
        lines=found["yaml"].splitlines(),
    )


@router.get("/models/{version}/activate")
async def confirm_activate(request: Request, version: int, user: WebUser = Admin) -> Response:
    return await _confirm(request, user, version, "activate")


@router.get("/models/{version}/rollback")
async def confirm_rollback(request: Request, version: int, user: WebUser = Admin) -> Response:
    return await _confirm(request, user, version, "rollback")


async def _confirm(request: Request, user: WebUser, version: int, kind: str) -> Response:
    """What activating (or rolling back) means before it is done: every lead is rescored."""
    try:
        found = await run_in_threadpool(scoring_models.get_version, context(request), version)
    except NotFound:
        return page("not_found.html", 404, user=user)
    if kind == "rollback" and not found["active"]:
        return page("not_found.html", 404, user=user)
    job = await model_jobs.preview_job(request, version, kind)
    return page("models_confirm.html", user=user, section="models", model=found, kind=kind, job=job)


@router.post("/models/{version}/activate")
async def activate(
    request: Request, version: int, posted: Posted = Depends(posted_by("admin"))
) -> Response:
    user, _ = posted
    try:
        report = await run_in_threadpool(
            scoring_models.activate, context(request), version, user.email
        )
    except NotFound:
        return page("not_found.html", 404, user=user)
    return _done(report)


@router.post("/models/{version}/rollback")
async def rollback(
    request: Request, version: int, posted: Posted = Depends(posted_by("admin"))
) -> Response:
    user, _ = posted
    try:
        report = await run_in_threadpool(
            scoring_models.rollback, context(request), version, user.email
        )
    except NotFound:
        return page("not_found.html", 404, user=user)
    except Conflict as exc:
        found = await run_in_threadpool(scoring_models.get_version, context(request), version)
        return page(
            "models_confirm.html",
            409,
            user=user,
            section="models",
            model=found,
            kind="rollback",
            job=None,
            error=str(exc),
        )
    return _done(report)


def _done(report: dict[str, Any]) -> Response:
    query = {k: report[k] for k in ("rescored", "changed")}
    return RedirectResponse("/models?" + urlencode({"activated": report["version"], **query}), 303)
