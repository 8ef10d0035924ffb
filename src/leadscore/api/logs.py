"""The server's logs: one line per record on stderr, as text (the default, for a terminal)
or as JSON (LEADSCORE_LOG_FORMAT=json, for production log collectors), at
LEADSCORE_LOG_LEVEL.

Every record logged while a request is served carries its request id (the one api/
middleware.py gives each request and returns in X-Request-ID): the middleware sets
`REQUEST_ID`, a context variable, which follows the request into the worker threads
FastAPI runs it on; a logging filter copies it onto each record. So an operator given a
request id by a client finds every line about that request, uvicorn's access line included.

A JSON line holds `time` (UTC, ISO 8601), `level`, `logger`, `message`, `request_id` (null
outside a request) and, when there is one, `exception` (the formatted traceback).
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from leadscore.settings import Settings

REQUEST_ID: ContextVar[str | None] = ContextVar("leadscore_request_id", default=None)
"""The id of the request being served in this context (None outside a request)."""

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (`record.request_id`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


_SOURCE_QUERY = re.compile(r"(/sources/webhooks/[^?\s]*\?)\S*")


class HiddenSourceQuery(logging.Filter):
    """Hides the query of the mapped webhooks' endpoints in uvicorn's access line: a tool
    that cannot sign (Mailchimp) carries its token there, and a token must never reach the
    logs (docs/sources.md)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], _SOURCE_QUERY.sub(r"\1…", args[2]), *args[3:])
        return True


def hide_source_queries() -> None:
    """Put HiddenSourceQuery on uvicorn's access logger, once, whatever configures the
    logging (`configure` below, or a test's own uvicorn)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, HiddenSourceQuery) for f in access.filters):
        access.addFilter(HiddenSourceQuery())


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        entry: dict[str, Any] = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def config(settings: Settings) -> dict[str, Any]:
    """The `logging.config.dictConfig` of the server: one stderr handler on the root logger,
    uvicorn's loggers sent to it."""
    formatter: dict[str, Any] = (
        {"()": JsonFormatter}
        if settings.log_format == "json"
        else {"format": TEXT_FORMAT, "datefmt": "%Y-%m-%dT%H:%M:%S%z"}
    )
    uvicorn = {"handlers": [], "propagate": True, "level": settings.log_level}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"leadscore": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "leadscore",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["stderr"], "level": settings.log_level},
        "loggers": {
            "uvicorn": uvicorn,
            "uvicorn.error": uvicorn,
            "uvicorn.access": uvicorn,
        },
    }


def configure(settings: Settings) -> None:
    """Set the process's logging up as `config` says (the server does at start)."""
    logging.config.dictConfig(config(settings))
