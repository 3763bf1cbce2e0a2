"""A small typed async client of the coinvoice API: invoices, the merchant account, webhook verification.

    async with CoinvoiceClient("https://pay.shop.example", token="pk_…") as api:
        invoice = await api.create_invoice("eur", [Item("Coffee", "10.99")], idempotency_key=order_id)

Every error answer becomes an ``ApiError`` with the API's stable ``code`` and the ``field`` at fault.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import Any, Literal, TypedDict

import aiohttp

from coinvoice.webhooks.signing import verify_signature

Status = Literal["created", "pending", "processing", "done", "wrong", "refunded", "failed", "expired"]


class ApiError(Exception):
    """An error answer: HTTP status, stable code, message, and the field at fault (or None)."""

    def __init__(self, status: int, code: str, message: str, field: str | None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.field = status, code, message, field


@dataclass(frozen=True, slots=True)
class Item:
    name: str
    price: Decimal | int | str


class Invoice(TypedDict, total=False):
    """The invoice as the API returns it (fields beyond these may be added; read them with .get)."""

    id: str
    status: Status
    createdAt: str
    company: dict[str, Any]
    invoiceContent: dict[str, Any]
    redirectURL: str | None
    clientEmail: str  # merchant reads only
    address: dict[str, Any]
    paymentDetails: dict[str, Any]
    expiresAt: str


class InvoicePage(TypedDict):
    items: list[Invoice]
    nextCursor: str | None


def verify_webhook(
    body: bytes, headers: Mapping[str, str], secret_keys: str | Sequence[str], tolerance: int = 300
) -> bool:
    """True when the raw ``body`` carries a valid, recent ``Coinvoice-Signature`` made with one of the keys."""
    return verify_signature(body, headers, secret_keys, tolerance=tolerance)


class CoinvoiceClient:
    def __init__(self, base_url: str, token: str | None = None, *, session: aiohttp.ClientSession | None = None):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._session = session
        self._own_session = session is None

    async def __aenter__(self) -> CoinvoiceClient:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
    ) -> tuple[Any, Mapping[str, str]]:
        if self._session is None:
            raise RuntimeError("use the client as 'async with CoinvoiceClient(...) as api'")
        hdrs = dict(headers or {})
        if auth and self.token:
            hdrs["Authorization"] = f"Bearer {self.token}"
        async with self._session.request(method, self.base_url + path, json=json, params=params, headers=hdrs) as resp:
            body = await resp.json(content_type=None) if resp.content_length != 0 else None
            if resp.status >= 400:
                error = (body or {}).get("error", {}) if isinstance(body, dict) else {}
                raise ApiError(
                    resp.status, error.get("code", "http_error"), error.get("message", ""), error.get("field")
                )
            return body, resp.headers

    # invoices
    async def create_invoice(
        self,
        invoice_currency: str,
        items: Sequence[Item],
        *,
        payment_currency: str | None = None,
        merchant_pays_fee: bool = False,
        redirect_url: str | None = None,
        idempotency_key: str | None = None,
    ) -> Invoice:
        body = {
            "invoiceCurrency": invoice_currency,
            "items": [{"name": i.name, "price": str(i.price)} for i in items],
            "isMerchantPaysFee": merchant_pays_fee,
            "paymentCurrency": payment_currency,
            "redirectURL": redirect_url,
        }
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        invoice, _ = await self._call("POST", "/api/invoices/v1/regular", json=body, headers=headers)
        return invoice  # type: ignore[no-any-return]

    async def get_invoice(self, invoice_id: str) -> Invoice:
        invoice, _ = await self._call("GET", f"/api/invoices/v1/regular/{invoice_id}", auth=False)
        return invoice  # type: ignore[no-any-return]

    async def proceed(self, invoice_id: str, client_email: str, payment_currency: str | None = None) -> Invoice:
        body = {"clientEmail": client_email, "paymentCurrency": payment_currency}
        invoice, _ = await self._call("POST", f"/api/invoices/v1/regular/{invoice_id}/proceed", json=body, auth=False)
        return invoice  # type: ignore[no-any-return]

    async def list_invoices(
        self, *, status: Sequence[Status] = (), limit: int = 20, cursor: str | None = None
    ) -> InvoicePage:
        params = {"limit": str(limit)}
        if status:
            params["status"] = ",".join(status)
        if cursor:
            params["cursor"] = cursor
        page, _ = await self._call("GET", "/api/invoices/v1", params=params)
        return page  # type: ignore[no-any-return]

    async def accept(self, invoice_id: str) -> Invoice:
        invoice, _ = await self._call("POST", f"/api/invoices/v1/regular/{invoice_id}/accept")
        return invoice  # type: ignore[no-any-return]

    async def reject(self, invoice_id: str) -> Invoice:
        invoice, _ = await self._call("POST", f"/api/invoices/v1/regular/{invoice_id}/reject")
        return invoice  # type: ignore[no-any-return]

    # account
    async def settings(self) -> dict[str, Any]:
        return (await self._call("GET", "/api/company/settings"))[0]  # type: ignore[no-any-return]

    async def update_settings(self, **changes: str | None) -> dict[str, Any]:
        return (await self._call("PATCH", "/api/company/settings", json=changes))[0]  # type: ignore[no-any-return]

    async def set_webhook_url(self, url: str | None) -> dict[str, Any]:
        body = {"webHookUrl": url}
        return (await self._call("PUT", "/api/company/settings/webhook-url", json=body))[0]  # type: ignore[no-any-return]

    async def set_wallet(self, chain: str, *, xpub: str | None = None, address: str | None = None) -> dict[str, Any]:
        body = {"xpub": xpub} if xpub is not None else {"address": address}
        return (await self._call("PUT", f"/api/company/wallets/{chain}", json=body))[0]  # type: ignore[no-any-return]

    async def allow_assets(self, **allowed: bool) -> dict[str, Any]:
        body = {"assets": {asset: {"isAllowed": value} for asset, value in allowed.items()}}
        return (await self._call("PATCH", "/api/company/assets", json=body))[0]  # type: ignore[no-any-return]

    async def rotate_secret_key(self, grace_period_seconds: int | None = None) -> dict[str, Any]:
        body = {} if grace_period_seconds is None else {"gracePeriodSeconds": grace_period_seconds}
        return (await self._call("POST", "/api/company/secret-key/rotate", json=body))[0]  # type: ignore[no-any-return]
