"""Company pages: deposits not credited (accept into an invoice, dismiss), settings (profile, webhook, limits, assets), wallets and API keys."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from coinvoice.addresses.derive import WALLET_CHAINS
from coinvoice.addresses.shared import SHARED_CHAINS
from coinvoice.appkeys import COMPANIES, POOL, SETTINGS
from coinvoice.domain.assets import COMPANY_ASSETS
from coinvoice.domain.errors import Conflict, DomainError, NotFound
from coinvoice.services import account, companies
from coinvoice.services.dashboard_users import DashboardUser
from coinvoice.services.decisions import accept_deposit, dismiss_deposit
from coinvoice.services.deposit_list import list_deposits
from coinvoice.web.api.account_schemas import LimitsIn, SettingsIn, WebhookUrlIn
from coinvoice.web.api.schemas import WalletIn, parse
from coinvoice.web.dashboard.render import page, redirect
from coinvoice.web.dashboard.session import Form, action, signed_in

routes = web.RouteTableDef()
SETTINGS_PAGE = "/dashboard/settings"
PROFILE_FIELDS = ("name", "logoUrl", "redirectURL", "supportUrl", "supportEmail")


async def _deposits_page(
    request: web.Request, user: DashboardUser, *, status: int = 200, error: str | None = None, notice: str | None = None
) -> web.Response:
    try:
        result = await list_deposits(
            request.app[POOL],
            request.app[SETTINGS],
            user.company_id,
            credited=False,
            dismissed=False,
            limit=50,
            cursor=request.query.get("cursor") or None,
        )
    except DomainError as exc:
        return page(request, "deposits.html", status=400, user=user, error=exc.message, deposits=[], next_cursor=None)
    return page(
        request,
        "deposits.html",
        status=status,
        user=user,
        error=error,
        notice=notice,
        deposits=result["items"],
        next_cursor=result["nextCursor"],
    )


@routes.get("/dashboard/deposits")
@signed_in
async def deposits(request: web.Request, user: DashboardUser) -> web.Response:
    """Payments that reached the company's addresses but count toward no invoice (late, wrong asset, ...)."""
    notice = None
    if request.query.get("dismissed"):
        notice = "Deposit dismissed."
    elif accepted := request.query.get("accepted"):
        notice = f"Deposit accepted into invoice {accepted}."
    return await _deposits_page(request, user, notice=notice)


@routes.post("/dashboard/deposits/{deposit_id}/dismiss")
@action()
async def dismiss(request: web.Request, user: DashboardUser, form: Form) -> web.Response:
    try:
        deposit_id = uuid.UUID(request.match_info["deposit_id"])
        await dismiss_deposit(request.app[POOL], request.app[SETTINGS], user.company_id, deposit_id)
    except (ValueError, NotFound):
        return page(request, "not_found.html", status=404, user=user)
    except Conflict as exc:
        return await _deposits_page(request, user, status=409, error=exc.message)
    return redirect("/dashboard/deposits?dismissed=1")


@routes.post("/dashboard/deposits/{deposit_id}/accept")
@action()
async def accept(request: web.Request, user: DashboardUser, form: Form) -> web.Response:
    """Credit a deposit to an invoice (the API's service and events); a wrong invoice id is shown on the page."""
    try:
        deposit_id = uuid.UUID(request.match_info["deposit_id"])
    except ValueError:
        return page(request, "not_found.html", status=404, user=user)
    try:
        invoice_id = uuid.UUID(str(form.get("invoice_id", "")).strip())
    except ValueError:
        return await _deposits_page(request, user, status=400, error="Enter the id of the invoice to credit.")
    try:
        await accept_deposit(request.app[POOL], request.app[SETTINGS], user.company_id, deposit_id, invoice_id)
    except NotFound as exc:
        if exc.code == "deposit_not_found":
            return page(request, "not_found.html", status=404, user=user)
        return await _deposits_page(request, user, status=404, error="No invoice of yours has this id.")
    except Conflict as exc:
        return await _deposits_page(request, user, status=409, error=f"Not accepted: {exc.message}.")
    return redirect(f"/dashboard/deposits?accepted={invoice_id}")


async def _settings_page(
    request: web.Request, user: DashboardUser, *, status: int = 200, error: str | None = None, notice: str | None = None
) -> web.Response:
    pool = request.app[POOL]
    return page(
        request,
        "settings.html",
        status=status,
        user=user,
        error=error,
        notice=notice,
        profile=await account.get_settings(pool, user.company_id),
        limits=(await account.get_underpayment_limits(pool, user.company_id))["assets"],
        assets=(await companies.get_assets(pool, user.company_id))["assets"],
    )


@routes.get(SETTINGS_PAGE)
@signed_in
async def settings_page(request: web.Request, user: DashboardUser) -> web.Response:
    notice = "Saved." if request.query.get("saved") else None
    return await _settings_page(request, user, notice=notice)


def _text(form: Form, name: str) -> str | None:
    value = str(form.get(name, "")).strip()
    return value or None


async def _saved(request: web.Request, user: DashboardUser, change: Any) -> web.Response:
    """Run one change through its service; show the error on the page, or go back to it."""
    try:
        await change
    except DomainError as exc:
        return await _settings_page(request, user, status=400, error=exc.message)
    finally:
        request.app[COMPANIES].clear()  # read-your-writes for the API in this process (others get a NOTIFY)
    return redirect(f"{SETTINGS_PAGE}?saved=1")


async def _update_profile(request: web.Request, user: DashboardUser, form: Form) -> None:
    body = parse(SettingsIn, {name: _text(form, name) for name in PROFILE_FIELDS})
    changes = {name: getattr(body, name) for name in PROFILE_FIELDS}
    await account.update_settings(request.app[POOL], user.company_id, changes)


@routes.post(f"{SETTINGS_PAGE}/profile")
@action()
async def save_profile(request: web.Request, user: DashboardUser, form: Form) -> web.Response:
    return await _saved(request, user, _update_profile(request, user, form))


async def _set_webhook(request: web.Request, user: DashboardUser, form: Form) -> None:
    body = parse(WebhookUrlIn, {"webHookUrl": _text(form, "webHookUrl")})
    await account.set_webhook_url(request.app[POOL], request.app[SETTINGS], user.company_id, body.webHookUrl)


@routes.post(f"{SETTINGS_PAGE}/webhook")
@action()
async def save_webhook(request: web.Request, user: DashboardUser, form: Form) -> web.Response:
    return await _saved(request, user, _set_webhook(request, user, form))


@routes.post(f"{SETTINGS_PAGE}/webhook/test")
@action()
async def test_webhook(request: web.Request, user: DashboardUser, form: Form) -> web.Response:
    try:
        await account.send_test_event(request.app[POOL], user.company_id)
    except DomainError as exc:
        return await _settings_page(request, user, status=400, error=exc.message)
    return await _settings_page(request, user, notice="Test event queued: it is on its way to your webhook URL.")


async def _set_limits(request: web.Request, user: DashboardUser, form: Form) -> None:
    limits = {
        asset: {"static": _text(form, f"static_{asset}") or "0", "percentage": _text(form, f"percent_{asset}") or "0"}
        for asset in COMPANY_ASSETS
    }
    body = parse(LimitsIn, {"assets": limits})
    changes = {asset: (limit.static, limit.percentage) for asset, limit in body.assets.items()}
    await account.set_underpayment_limits(request.app[POOL], user.company_id, changes)


@routes.post(f"{SETTINGS_PAGE}/limits")
@action()
async def save_limits(request: web.Request, user: DashboardUser, form: Form) -> web.Response:
    return await _saved(request, user, _set_limits(request, user, form))


async def _set_assets(request: web.Request, user: DashboardUser, form: Form) -> None:
    current = (await companies.get_assets(request.app[POOL], user.company_id))["assets"]
    changes = {
        a["asset"]: form.get(f"asset_{a['asset']}") == "on"
        for a in current
        if (form.get(f"asset_{a['asset']}") == "on") != a["isAllowed"]
    }
    if changes:
        await companies.set_assets(request.app[POOL], user.company_id, changes)


@routes.post(f"{SETTINGS_PAGE}/assets")
@action()
async def save_assets(request: web.Request, user: DashboardUser, form: Form) -> web.Response:
    return await _saved(request, user, _set_assets(request, user, form))


async def _wallets_page(
    request: web.Request, user: DashboardUser, *, status: int = 200, error: str | None = None, notice: str | None = None
) -> web.Response:
    wallets = await companies.wallets_with_preview(request.app[POOL], request.app[SETTINGS], user.company_id)
    return page(
        request,
        "wallets.html",
        status=status,
        user=user,
        error=error,
        notice=notice,
        wallets=wallets,
        key_chains=WALLET_CHAINS,
        address_chains=SHARED_CHAINS,
    )


@routes.get("/dashboard/wallets")
@signed_in
async def wallets_page(request: web.Request, user: DashboardUser) -> web.Response:
    notice = "Wallet saved. Compare the addresses below with your own wallet." if request.query.get("saved") else None
    return await _wallets_page(request, user, notice=notice)


@routes.post("/dashboard/wallets")
@action()
async def save_wallet(request: web.Request, user: DashboardUser, form: Form) -> web.Response:
    chain = str(form.get("chain", ""))
    key = _text(form, "key")
    try:
        body = parse(WalletIn, {"address": key} if chain in SHARED_CHAINS else {"xpub": key})
        await companies.set_wallet(
            request.app[POOL],
            request.app[SETTINGS],
            user.company_id,
            chain,
            body.xpub.strip() if body.xpub is not None else None,
            address=body.address,
        )
    except DomainError as exc:
        return await _wallets_page(request, user, status=400, error=exc.message)
    finally:
        request.app[COMPANIES].clear()
    return redirect("/dashboard/wallets?saved=1")


@routes.get("/dashboard/keys")
@signed_in
async def keys_page(request: web.Request, user: DashboardUser) -> web.Response:
    return page(request, "keys.html", user=user, shown=None)


@routes.post("/dashboard/keys/public-token")
@action()
async def rotate_public_token(request: web.Request, user: DashboardUser, form: Form) -> web.Response:
    result = await companies.replace_public_token(request.app[POOL], user.company_id)
    request.app[COMPANIES].clear()
    shown = {
        "label": "New public token",
        "value": result["publicToken"],
        "note": "Every earlier public token stopped working now.",
    }
    return page(request, "keys.html", user=user, shown=shown)


@routes.post("/dashboard/keys/secret-key")
@action()
async def rotate_secret_key(request: web.Request, user: DashboardUser, form: Form) -> web.Response:
    result = await account.rotate_secret_key(request.app[POOL], request.app[SETTINGS], user.company_id)
    until = result["previousKeysValidUntil"]
    note = f"Earlier keys keep signing webhooks until {until}." if until else "This is the only active key."
    shown = {"label": "New secret key", "value": result["secretKey"], "note": note}
    return page(request, "keys.html", user=user, shown=shown)
