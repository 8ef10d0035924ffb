"""The dashboard (issue 13): server-rendered pages (Jinja2 + htmx), behind a login, served
by the API app at `/` (the JSON API stays under /api/v1). `install(app)` mounts it."""

from leadscore.web.routes import install

__all__ = ["install"]
