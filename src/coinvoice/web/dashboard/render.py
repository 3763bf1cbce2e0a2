"""The dashboard's templates and static files, and its HTML responses (the payer page's strict headers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from coinvoice.web.pay.render import StaticFile, load_static, security_headers

HERE = Path(__file__).parent
TEMPLATES = web.AppKey("dashboard_templates", jinja2.Environment)
STATIC = web.AppKey("dashboard_static", dict[str, StaticFile])

#: Badge wording per invoice status (the payer page's words, from the merchant's side).
STATUS_LABELS = {
    "draft": "Draft",
    "created": "Created",
    "pending": "Waiting for payment",
    "processing": "Processing",
    "done": "Paid",
    "wrong": "Incomplete",
    "refunded": "Rejected",
    "failed": "Failed",
    "expired": "Expired",
    "voided": "Voided",
    "uncollectible": "Uncollectible",
}


def make_templates(static: dict[str, StaticFile]) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # merchant and payer text (item names, emails) is always escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates ship with the package: no stat() of every file on every render
    )
    env.globals["static_url"] = lambda name: f"/dashboard/static/{name}?v={static[name].etag}"
    env.globals["status_label"] = lambda status: STATUS_LABELS.get(status, status)
    return env


def setup_render(app: web.Application) -> None:
    app[STATIC] = load_static(HERE / "static")
    app[TEMPLATES] = make_templates(app[STATIC])


def page(request: web.Request, template: str, *, status: int = 200, **context: Any) -> web.Response:
    context.setdefault("user", None)
    context.setdefault("error", None)
    context.setdefault("notice", None)
    body = request.app[TEMPLATES].get_template(template).render(path=request.path, **context)
    response = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
    response.headers.update(security_headers())
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})
