"""Check real answers against /api/openapi.json: the documented success schema of the operation that answered.

The `api` fixture's client runs every JSON success answer of every API test through ``check_answer``, so the
document's response schemas are proved by all the flows the tests drive, not only by the contract run.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import jsonschema_rs

from coinvoice.web.api.openapi import openapi_document


@cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    paths = openapi_document()["paths"]
    # literal paths first, so /api/invoices/v1/export never reads as a template's {id}
    ordered = sorted(paths, key=lambda p: ("{" in p, p))
    return [(re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(p)) + "$"), p) for p in ordered]


def documented_path(path: str) -> str | None:
    """The document's path template that ``path`` (no query string) falls under, or None."""
    return next((template for pattern, template in _templates() if pattern.match(path)), None)


@cache
def _validator(template: str, method: str, status: str) -> Any:
    doc = openapi_document()
    answer = doc["paths"][template][method]["responses"].get(status)
    if answer is None:
        raise AssertionError(f"{method.upper()} {template} answered {status}, which the document does not list")
    schema = answer["content"]["application/json"]["schema"]
    return jsonschema_rs.Draft202012Validator({"components": doc["components"], **schema}, validate_formats=True)


def check_answer(method: str, path: str, status: int, body: Any) -> None:
    """Fail when a 2xx JSON ``body`` of a documented operation does not match its documented schema."""
    template = documented_path(path.split("?", 1)[0])
    if template is None or not 200 <= status < 300:
        return
    operation = openapi_document()["paths"][template].get(method.lower())
    if operation is None:
        return
    errors = [
        f"{'/'.join(map(str, e.instance_path))}: {e.message}"
        for e in _validator(template, method.lower(), str(status)).iter_errors(body)
    ]
    assert not errors, f"{method} {path} ({status}) does not match the document: " + "; ".join(errors[:5])
