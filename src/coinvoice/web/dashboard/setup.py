"""Registers the dashboard on the application: its routes under /dashboard/, templates and static files."""

from __future__ import annotations

from aiohttp import web

from coinvoice.web.dashboard import company, invoices, signin, users
from coinvoice.web.dashboard.render import STATIC, page, setup_render
from coinvoice.web.dashboard.session import current_user
from coinvoice.web.pay.render import static_response

routes = web.RouteTableDef()


@routes.get("/dashboard/static/{name}")
async def dashboard_static(request: web.Request) -> web.Response:
    return static_response(request, request.app[STATIC])


@routes.get(r"/dashboard/{path:.+}")
async def dashboard_not_found(request: web.Request) -> web.Response:
    return page(request, "not_found.html", status=404, user=await current_user(request))


def setup_dashboard(app: web.Application) -> None:
    """Add before the payer page (its catch-all 404 would take /dashboard/ paths)."""
    setup_render(app)
    app.add_routes(signin.routes)
    app.add_routes(invoices.routes)
    app.add_routes(company.routes)
    app.add_routes(users.routes)
    app.add_routes(routes)  # last: the dashboard's own 404
