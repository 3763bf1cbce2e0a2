"""Fast JSON encoding (orjson) for responses and database parameters; Decimal becomes a string, never a float."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import orjson
from aiohttp import web


def _default(value: Any) -> str:
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> str:
    return orjson.dumps(value, default=_default).decode()


def json_response(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(data, default=_default), status=status, headers=headers, content_type="application/json"
    )
