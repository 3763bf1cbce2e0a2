"""Who is signed in: the session cookie, CSRF checks on every form and the owner-only rule for changes."""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from multidict import MultiDictProxy

from coinvoice.appkeys import POOL, SETTINGS
from coinvoice.services import dashboard_users as users
from coinvoice.services.dashboard_users import SESSION_LIFETIME, DashboardUser
from coinvoice.web.dashboard.render import page, redirect

SESSION_COOKIE = "coinvoice_session"
#: The sign-in form's CSRF token before there is a session (double submit: this cookie equals the form field).
PRESESSION_COOKIE = "coinvoice_signin"
COOKIE_PATH = "/dashboard"
SIGN_IN = "/dashboard/sign-in"

Form = MultiDictProxy[str | bytes | Any]
PageHandler = Callable[[web.Request, DashboardUser], Awaitable[web.StreamResponse]]
ActionHandler = Callable[[web.Request, DashboardUser, Form], Awaitable[web.StreamResponse]]


def _secure(request: web.Request) -> bool:
    return request.app[SETTINGS].public_url.startswith("https://")


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        secure=_secure(request),
        samesite="Lax",
    )


def drop_cookie(request: web.Request, response: web.StreamResponse, name: str) -> None:
    response.del_cookie(name, path=COOKIE_PATH, secure=_secure(request), samesite="Lax")


def start_session(request: web.Request, response: web.StreamResponse, token: str) -> None:
    set_cookie(request, response, SESSION_COOKIE, token, int(SESSION_LIFETIME.total_seconds()))
    drop_cookie(request, response, PRESESSION_COOKIE)


def presession_token(request: web.Request) -> str:
    return request.cookies.get(PRESESSION_COOKIE) or secrets.token_urlsafe(32)


def same_token(expected: str, sent: object) -> bool:
    return isinstance(sent, str) and bool(expected) and hmac.compare_digest(expected.encode(), sent.encode())


async def current_user(request: web.Request) -> DashboardUser | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return await users.session_user(request.app[POOL], token)


async def read_form(request: web.Request) -> Form:
    try:
        return await request.post()
    except (ValueError, AssertionError, HttpProcessingError) as exc:
        raise web.HTTPBadRequest(text="the form could not be read") from exc


def forbidden(request: web.Request, user: DashboardUser | None, message: str) -> web.Response:
    return page(request, "forbidden.html", status=403, user=user, message=message)


def signed_in(handler: PageHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A page for any signed-in user; others are sent to the sign-in page."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        user = await current_user(request)
        if user is None:
            return redirect(SIGN_IN)
        return await handler(request, user)

    return wrapper


def action(*, write: bool = True) -> Callable[[ActionHandler], Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    """A form post: needs a session and its CSRF token (403 otherwise); ``write`` ones need the owner role."""

    def decorate(handler: ActionHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        @functools.wraps(handler)
        async def wrapper(request: web.Request) -> web.StreamResponse:
            user = await current_user(request)
            form = await read_form(request)
            if user is None:
                return forbidden(request, None, "Your session has ended. Sign in again.")
            if not same_token(user.csrf_token, form.get("csrf")):
                return forbidden(request, user, "The form was stale or not sent by this dashboard. Reload and retry.")
            if write and not user.can_write:
                return forbidden(request, user, "Your role is viewer: you can look but not change anything.")
            return await handler(request, user, form)

        return wrapper

    return decorate
