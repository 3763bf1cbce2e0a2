"""The users page (owners only): the company's users, invite one (a one-time sign-in link), change a role, remove."""

from __future__ import annotations

import uuid

from aiohttp import web

from coinvoice.appkeys import POOL, SETTINGS
from coinvoice.domain.errors import Conflict, DomainError, NotFound
from coinvoice.services import dashboard_users as users
from coinvoice.services.dashboard_users import ROLES, DashboardUser
from coinvoice.web.dashboard.render import page, redirect
from coinvoice.web.dashboard.session import Form, action, forbidden, signed_in

routes = web.RouteTableDef()
USERS_PAGE = "/dashboard/users"
NOTICES = {"role": "Role changed.", "removed": "User removed: their sessions have ended."}


async def _users_page(
    request: web.Request,
    user: DashboardUser,
    *,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
    invited: dict[str, str] | None = None,
    email: str = "",
) -> web.Response:
    return page(
        request,
        "users.html",
        status=status,
        user=user,
        error=error,
        notice=notice,
        users=await users.list_users(request.app[POOL], user.company_id),
        roles=ROLES,
        invited=invited,
        email=email,
    )


@routes.get(USERS_PAGE)
@signed_in
async def users_page(request: web.Request, user: DashboardUser) -> web.Response:
    if not user.can_write:
        return forbidden(request, user, "Only an owner manages users.")
    return await _users_page(request, user, notice=NOTICES.get(request.query.get("done", "")))


@routes.post(USERS_PAGE)
@action()
async def invite(request: web.Request, user: DashboardUser, form: Form) -> web.Response:
    """The CLI's create_user without a password: the new user sets one through the link, shown here once."""
    email, role = str(form.get("email", "")).strip(), str(form.get("role", ""))
    try:
        created = await users.create_user(request.app[POOL], user.company_id, email, role, None)
    except DomainError as exc:
        status = 409 if isinstance(exc, Conflict) else 400
        return await _users_page(request, user, status=status, error=exc.message, email=email)
    link = f"{request.app[SETTINGS].public_url}/dashboard/link/{created['signInToken']}"
    invited = {"email": created["email"], "role": created["role"], "link": link}
    return await _users_page(request, user, invited=invited)


def _user_id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["user_id"])
    except ValueError:
        raise NotFound("user_not_found", "no user with this id", "id") from None


@routes.post(USERS_PAGE + "/{user_id}/role")
@action()
async def change_role(request: web.Request, user: DashboardUser, form: Form) -> web.Response:
    try:
        await users.change_role(request.app[POOL], user.company_id, _user_id(request), str(form.get("role", "")))
    except NotFound:
        return page(request, "not_found.html", status=404, user=user)
    except DomainError as exc:
        status = 409 if isinstance(exc, Conflict) else 400
        return await _users_page(request, user, status=status, error=exc.message)
    return redirect(f"{USERS_PAGE}?done=role")


@routes.post(USERS_PAGE + "/{user_id}/remove")
@action()
async def remove(request: web.Request, user: DashboardUser, form: Form) -> web.Response:
    try:
        await users.remove_user(request.app[POOL], user.company_id, _user_id(request))
    except NotFound:
        return page(request, "not_found.html", status=404, user=user)
    except Conflict as exc:
        return await _users_page(request, user, status=409, error=exc.message)
    return redirect(f"{USERS_PAGE}?done=removed")
