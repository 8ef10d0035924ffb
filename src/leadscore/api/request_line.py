"""Checks of the request line that FastAPI does not make: every query parameter must be one
the operation declares (a typo such as `?stag=mql` must not silently return the unfiltered
list), and path and query text obey the text rule of `service.input_rules` (no NUL, which
`%00` decodes to). Both are a 422 naming each offending parameter.

`check(request)` runs after the API key is accepted (api/auth.py), so an unauthenticated
caller learns nothing about the request beyond the 401.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from leadscore.service.errors import Invalid, Problem
from leadscore.service.input_rules import text_error


def declared_query(dependant: Dependant) -> set[str]:
    """The query parameter names an operation declares, its dependencies' included."""
    names: set[str] = set()
    stack = [dependant]
    while stack:
        current = stack.pop()
        names.update(p.alias for p in current.query_params)
        stack.extend(current.dependencies)
    return names


def check(request: Request) -> None:
    """Raise Invalid naming each unknown query parameter and each path or query value (or
    name) that breaks the text rule."""
    problems: list[Problem] = []
    for name, value in request.path_params.items():
        if isinstance(value, str) and (reason := text_error(value)) is not None:
            problems.append(Problem(("path", name), reason, "text_invalid"))
    query = request.query_params.multi_items() if request.scope.get("query_string") else []
    route = request.scope.get("route")
    known = declared_query(route.dependant) if query and isinstance(route, APIRoute) else None
    unknown: list[str] = []
    for name, value in query:
        if (reason := text_error(name)) is not None:
            problems.append(Problem(("query", name), f"the name {reason}", "text_invalid"))
        elif known is not None and name not in known:
            if name not in unknown:
                unknown.append(name)
        elif (reason := text_error(value)) is not None:
            problems.append(Problem(("query", name), reason, "text_invalid"))
    for name in unknown:
        choices = ", ".join(sorted(known or ())) or "none"
        message = f"unknown query parameter {name!r}; this operation takes: {choices}"
        problems.append(Problem(("query", name), message, "query_unknown"))
    if problems:
        raise Invalid(problems)


def checked(request: Request) -> None:
    """`check` as a FastAPI dependency, for operations that need no key (health)."""
    check(request)
