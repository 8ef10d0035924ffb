"""JSON responses encoded with orjson, for the hot write endpoints (POST /events).

The bytes are those of Starlette's `JSONResponse` for what these endpoints return (compact
separators, UTF-8 text not escaped, the same shortest float digits; only a number below 1e-4
is written 0.00001 instead of 1e-05, the same value, and scores have two decimals), and
orjson writes them several times faster than the standard library. A value orjson refuses
(an integer beyond 64 bits) is encoded by the standard encoder instead, as before.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse


class FastJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except orjson.JSONEncodeError:
            return super().render(content)
