"""Signing in (password or one-time link), setting a password, signing out here or everywhere."""

from __future__ import annotations

from aiohttp import web

from coinvoice.appkeys import POOL
from coinvoice.domain.errors import Invalid
from coinvoice.services import dashboard_users as users
from coinvoice.services.dashboard_users import DashboardUser
from coinvoice.web.client import client_address
from coinvoice.web.dashboard.render import page, redirect
from coinvoice.web.dashboard.session import (
    PRESESSION_COOKIE,
    SESSION_COOKIE,
    SIGN_IN,
    Form,
    action,
    current_user,
    drop_cookie,
    forbidden,
    presession_token,
    read_form,
    same_token,
    set_cookie,
    signed_in,
    start_session,
)

routes = web.RouteTableDef()
HOME = "/dashboard/invoices"


def _sign_in_page(
    request: web.Request, *, status: int = 200, error: str | None = None, email: str = ""
) -> web.Response:
    token = presession_token(request)
    response = page(request, "sign_in.html", status=status, error=error, email=email, csrf=token)
    set_cookie(request, response, PRESESSION_COOKIE, token, 3600)
    return response


@routes.get("/dashboard")
@routes.get("/dashboard/")
async def home(request: web.Request) -> web.Response:
    return redirect(HOME if await current_user(request) else SIGN_IN)


@routes.get(SIGN_IN)
async def sign_in_form(request: web.Request) -> web.Response:
    if await current_user(request):
        return redirect(HOME)
    return _sign_in_page(request)


@routes.post(SIGN_IN)
async def sign_in(request: web.Request) -> web.Response:
    form = await read_form(request)
    if not same_token(request.cookies.get(PRESESSION_COOKIE, ""), form.get("csrf")):
        return forbidden(request, None, "The form was stale or not sent by this dashboard. Reload and retry.")
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    try:
        session = await users.sign_in(request.app[POOL], email, password, client_address(request))
    except users.Throttled:
        error = "Too many failed sign-ins. Wait 15 minutes and try again."
        return _sign_in_page(request, status=429, error=error, email=email)
    if session is None:
        return _sign_in_page(request, status=401, error="Wrong email or password.", email=email)
    response = redirect(HOME)
    start_session(request, response, session[0])
    return response


@routes.get("/dashboard/link/{token}")
async def link_form(request: web.Request) -> web.Response:
    """A link only shows a button: mail scanners that open links must not use it up."""
    csrf = presession_token(request)
    response = page(request, "link.html", token=request.match_info["token"], csrf=csrf)
    set_cookie(request, response, PRESESSION_COOKIE, csrf, 3600)
    return response


@routes.post("/dashboard/link/{token}")
async def link_sign_in(request: web.Request) -> web.Response:
    form = await read_form(request)
    if not same_token(request.cookies.get(PRESESSION_COOKIE, ""), form.get("csrf")):
        return forbidden(request, None, "The form was stale or not sent by this dashboard. Reload and retry.")
    session = await users.sign_in_with_link(request.app[POOL], request.match_info["token"])
    if session is None:
        return page(
            request, "link.html", status=410, token=None, csrf="", error="This sign-in link was used or has expired."
        )
    response = redirect("/dashboard/password")
    start_session(request, response, session[0])
    return response


@routes.get("/dashboard/password")
@signed_in
async def password_form(request: web.Request, user: DashboardUser) -> web.Response:
    return page(request, "password.html", user=user)


@routes.post("/dashboard/password")
@action(write=False)
async def set_password(request: web.Request, user: DashboardUser, form: Form) -> web.Response:
    try:
        await users.set_password(request.app[POOL], user, str(form.get("password", "")))
    except Invalid as exc:
        return page(request, "password.html", status=400, user=user, error=exc.message)
    return page(request, "password.html", user=user, notice="Your password is set.")


@routes.post("/dashboard/sign-out")
@action(write=False)
async def sign_out(request: web.Request, user: DashboardUser, form: Form) -> web.Response:
    await users.sign_out(request.app[POOL], request.cookies.get(SESSION_COOKIE, ""))
    response = redirect(SIGN_IN)
    drop_cookie(request, response, SESSION_COOKIE)
    return response


@routes.post("/dashboard/sign-out-everywhere")
@action(write=False)
async def sign_out_everywhere(request: web.Request, user: DashboardUser, form: Form) -> web.Response:
    await users.sign_out_everywhere(request.app[POOL], user)
    response = redirect(SIGN_IN)
    drop_cookie(request, response, SESSION_COOKIE)
    return response
