"""The running part every fake shares: uvicorn on a free port in a thread, a log of calls,
and injected faults applied before any route runs."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: str
    body: bytes
    headers: dict[str, str]


@dataclass
class Fault:
    status: int
    remaining: int
    body: Any
    headers: dict[str, str]
    path_prefix: str


@dataclass
class FakeServer:
    """A vendor's API on 127.0.0.1. Subclasses give `routes()`; `url` is where it listens
    once started (use it as a context manager)."""

    calls: list[Call] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _faults: list[Fault] = field(default_factory=list)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    port: int = 0

    # --- what a subclass gives ------------------------------------------------------------

    def routes(self) -> list[Route]:
        raise NotImplementedError

    def fault_body(self, status: int) -> Any:
        """The vendor's error body for an injected fault."""
        return {"message": f"injected {status}"}

    # --- faults -----------------------------------------------------------------------------

    def fail_next(
        self,
        count: int = 1,
        status: int = 503,
        *,
        path_prefix: str = "",
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> None:
        """The next `count` requests (whose path starts with `path_prefix`) get `status`."""
        with self.lock:
            self._faults.append(
                Fault(
                    status,
                    count,
                    self.fault_body(status) if body is None else body,
                    headers or {},
                    path_prefix,
                )
            )

    def throttle_next(
        self, count: int = 1, retry_after: float = 1, *, path_prefix: str = ""
    ) -> None:
        """The next `count` requests get 429 with `Retry-After: retry_after`."""
        self.fail_next(
            count, 429, path_prefix=path_prefix, headers={"Retry-After": f"{retry_after:g}"}
        )

    def clear_faults(self) -> None:
        """Forget every injected fault not yet served."""
        with self.lock:
            self._faults.clear()

    def _fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self._faults:
                if fault.remaining > 0 and path.startswith(fault.path_prefix):
                    fault.remaining -= 1
                    return fault
            self._faults = [f for f in self._faults if f.remaining > 0]
        return None

    def calls_to(self, method: str, path_prefix: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method and c.path.startswith(path_prefix)]

    # --- running ----------------------------------------------------------------------------

    def app(self) -> Starlette:
        async def record(
            request: Request, call_next: Callable[[Request], Awaitable[Response]]
        ) -> Response:
            body = await request.body()
            with self.lock:
                self.calls.append(
                    Call(
                        request.method,
                        request.url.path,
                        request.url.query,
                        body,
                        {k.lower(): v for k, v in request.headers.items()},
                    )
                )
            fault = self._fault(request.url.path)
            if fault is not None:
                return JSONResponse(fault.body, fault.status, headers=fault.headers)
            return await call_next(request)

        return Starlette(
            routes=self.routes(), middleware=[Middleware(BaseHTTPMiddleware, dispatch=record)]
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app(), log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.run(sockets=[sock]), name=type(self).__name__, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{type(self).__name__} did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FakeServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
