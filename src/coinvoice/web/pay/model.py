"""The payer page model: what the templates show, built from the invoice's wire view."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import segno

from coinvoice.config import Settings
from coinvoice.domain.assets import FIAT_CURRENCIES, PAYMENT_ASSETS, PRICE_PRECISION, PaymentAsset
from coinvoice.domain.text import url_origin as checked_origin
from coinvoice.web.pay.uri import payment_uri

#: Statuses after which the page never changes again by itself.
FINAL = frozenset({"done", "expired", "refunded", "failed"})
#: Statuses in which the payer still has something to send.
PAYABLE = frozenset({"pending", "wrong"})
#: The network a payment asset travels on, as the "send only … on the … network" warning names it.
NETWORK_NAMES = {
    "bitcoin": "Bitcoin",
    "litecoin": "Litecoin",
    "bitcoincash": "Bitcoin Cash",
    "ethereum": "Ethereum",
    "bsc": "BNB Smart Chain",
    "tron": "TRON",
    "solana": "Solana",
    "ton": "TON",
}


@dataclass(frozen=True, slots=True)
class Deposit:
    amount: str
    confirmations: int
    txid: str
    explorer_url: str | None
    seen_at: str | None = None

    def confirmed(self, required: int) -> bool:
        return self.confirmations >= required


@dataclass(frozen=True, slots=True)
class Support:
    """Where the payer reaches the merchant: a support page and/or an email address."""

    url: str | None = None
    email: str | None = None

    def __bool__(self) -> bool:
        return bool(self.url or self.email)


@dataclass(frozen=True, slots=True)
class Payment:
    asset: PaymentAsset
    amount: str  # what to send now: the amount due, or what remains when underpaid
    due: str
    received: str
    remaining: str
    address: str
    tag: str | None  # memo / TON comment the payer must add
    reference: str | None  # Solana Pay reference key (a wallet adds it from the QR code)
    contract: str | None  # the token contract a token payment must come from
    uri: str  # what the QR code carries: the wallet URI, or the bare address where no standard URI exists
    wallet_uri: str | None  # the "Open in wallet" link; None where the asset has no standard URI (TRC-20)
    qr_title: str  # the QR code's <title>, for screen readers
    rate: str
    fee: str
    expires_at: str | None
    confirmations_required: int
    open: bool  # the payer may still send (before expiry)
    window_seconds: int  # how long the invoice is open once filled (the expiry bar's full length)
    value: str  # what ``amount`` is worth in the invoice currency, at the invoice's rate
    deposits: list[Deposit] = field(default_factory=list)

    @property
    def qr_svg(self) -> str:
        """The QR code of ``uri``, made only when a template shows it (a live poll that finds nothing new does not)."""
        return qr_code_svg(self.uri, self.qr_title)

    @property
    def short(self) -> bool:
        """Something was received (confirmed or not) and part of the amount is still missing."""
        return Decimal(self.received) > 0 and Decimal(self.remaining) > 0

    @property
    def network(self) -> str:
        return NETWORK_NAMES.get(self.asset.chain, self.asset.chain)

    @property
    def symbol(self) -> str:
        """The asset's ticker, for sentences ("USDT"); the label ("USDT (TRC-20)") names the choice."""
        return self.asset.asset.upper()

    @property
    def address_groups(self) -> list[str]:
        return [self.address[i : i + 4] for i in range(0, len(self.address), 4)]

    def unconfirmed(self) -> list[Deposit]:
        return [d for d in self.deposits if not d.confirmed(self.confirmations_required)]


@dataclass(frozen=True, slots=True)
class PayPage:
    id: str
    status: str
    company_name: str
    logo_url: str | None
    items: list[dict[str, str]]
    total: str
    currency: str
    preset: PaymentAsset | None
    choices: tuple[PaymentAsset, ...]
    payment: Payment | None
    redirect_url: str | None
    version: str
    email: str = ""
    support: Support = field(default_factory=Support)
    paid_at: str | None = None
    unlimited: bool = False  # an any-amount invoice: no price, the payer sends what they like
    amounts: dict[str, str] = field(default_factory=dict)  # payment asset code -> what it would cost now
    brand_color: str | None = None  # the merchant's accent (#rrggbb): the page loads pay.css with it appended

    description: str | None = None

    @property
    def reference(self) -> str:
        """The invoice's short code, as a payer reads it out to support: the first 8 hex digits of its id."""
        code = self.id.replace("-", "")[:8].upper()
        return f"{code[:4]}-{code[4:]}"

    @property
    def final(self) -> bool:
        return self.status in FINAL


def http_url(value: str | None) -> str | None:
    """The URL if it is absolute http(s); anything else (javascript:, data:, relative) is dropped."""
    if not value:
        return None
    parts = urlsplit(value)
    return value if parts.scheme in ("http", "https") and parts.netloc else None


def url_origin(value: str | None) -> str | None:
    """The origin of a well-formed logo URL for the CSP's img-src; a stored value that is not one gives None."""
    url = http_url(value)
    return None if url is None else checked_origin(url)


def price(value: str, currency: str) -> str:
    """A price as the currency writes it: fiat with all its decimal places (18.50 EUR), crypto as given."""
    code = currency.lower()
    if code not in FIAT_CURRENCIES:
        return value
    return f"{Decimal(value):.{PRICE_PRECISION[code]}f}"


def support_of(url: str | None, email: str | None) -> Support:
    clean_email = email if email and "@" in email and not any(c in email for c in '<>"\r\n ') else None
    return Support(http_url(url), clean_email)


#: QR codes of recent payment URIs, newest last: a payer's page is shown again and again with the same code.
QR_CACHE_SIZE = 1024
_qr_codes: OrderedDict[tuple[str, str], str] = OrderedDict()
_qr_lock = threading.Lock()  # codes are made in worker threads too (web/pay/handlers.py: _page)


def qr_code_svg(uri: str, title: str) -> str:
    """An inline SVG QR code of ``uri`` with a white quiet zone; its <title> names it for screen readers.
    Cached: encoding one takes 12-16 ms of pure Python (10 of them choosing the best of the eight masks)."""
    key = (uri, title)
    with _qr_lock:
        svg = _qr_codes.get(key)
        if svg is not None:
            _qr_codes.move_to_end(key)
            return svg
    code = segno.make(uri, error="m")
    svg = code.svg_inline(omitsize=True, title=title, svgclass="qr", lineclass=None, light="#fff", border=4)
    with _qr_lock:
        _qr_codes[key] = svg
        while len(_qr_codes) > QR_CACHE_SIZE:
            _qr_codes.popitem(last=False)
    return svg


def qr_code_cached(uri: str, title: str) -> bool:
    with _qr_lock:
        return (uri, title) in _qr_codes


def state_version(view: dict[str, Any], open_to_pay: bool = True) -> str:
    """A short fingerprint of everything the live part of the page shows."""
    txs = [(t["txid"], t["confirmations"], t["state"]) for t in view.get("invoiceTransactions", [])]
    parts = [view["status"], view.get("paymentDetails"), view.get("expiredAt"), txs, open_to_pay]
    key = json.dumps(parts, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _before(expires_at: str | None, now: datetime) -> bool:
    return expires_at is None or datetime.fromisoformat(expires_at.replace("Z", "+00:00")) > now


def _value(amount: str, rate: str, currency: str) -> str:
    if Decimal(rate) <= 0:
        return ""
    places = PRICE_PRECISION.get(currency.lower(), 2)
    return price(str((Decimal(amount) / Decimal(rate)).quantize(Decimal(1).scaleb(-places))), currency)


def _payment(view: dict[str, Any], settings: Settings, now: datetime) -> Payment | None:
    details = view.get("paymentDetails")
    address = view.get("address")
    if not details or not address:
        return None
    asset = PAYMENT_ASSETS[address["asset"]]
    chain_settings = settings.chain(asset.chain)
    network = chain_settings.network
    # underpaid, even before any confirmation: ask for what is missing at once
    short = Decimal(details["received"]) > 0 and Decimal(details["remaining"]) > 0
    to_send = details["remaining"] if short else details["amount"]
    contract = settings.tokens_of(asset.chain).get(asset.code) if asset.is_token else None
    uri = payment_uri(
        asset,
        address["address"],
        Decimal(to_send),
        network=network,
        contract=contract,
        tag=address["tag"],
        chain_id=chain_settings.chain_id,
        reference=address.get("reference"),
        label=view["company"]["name"],
        message=f"Invoice {view['id']}",
    )
    deposits = [
        # a public explorer knows nothing of a regtest transaction
        Deposit(
            t["amount"],
            t["confirmations"],
            t["txid"],
            http_url(t["txHash"]) if network != "regtest" else None,
            t.get("createdAt"),
        )
        for t in view.get("invoiceTransactions", [])
        if not t.get("late")
    ]
    return Payment(
        asset=asset,
        amount=to_send,
        due=details["amount"],
        received=details["received"],
        remaining=details["remaining"],
        address=address["address"],
        tag=address["tag"],
        reference=address.get("reference"),
        contract=contract,
        uri=uri,
        wallet_uri=uri if uri != address["address"] else None,
        qr_title=f"QR code: pay {to_send} {asset.asset.upper()} to {address['address']}",
        rate=details["rate"],
        fee=details["invoiceFee"],
        expires_at=view.get("expiredAt"),
        confirmations_required=settings.confirmations_for(asset.code),
        open=_before(view.get("expiredAt"), now),
        window_seconds=60 * settings.expiry_for(asset.code),
        value=_value(to_send, details["rate"], view["invoiceContent"]["invoiceCurrency"]),
        deposits=deposits,
    )


def _open_address(view: dict[str, Any], settings: Settings, now: datetime) -> Payment | None:
    """An any-amount invoice's address: the QR and wallet link name no amount; ``received`` is the running total."""
    address = view.get("address")
    if not address:
        return None
    asset = PAYMENT_ASSETS[address["asset"]]
    chain_settings = settings.chain(asset.chain)
    contract = settings.tokens_of(asset.chain).get(asset.code) if asset.is_token else None
    uri = payment_uri(
        asset,
        address["address"],
        None,
        network=chain_settings.network,
        contract=contract,
        tag=address["tag"],
        chain_id=chain_settings.chain_id,
        label=view["company"]["name"],
        message=view.get("description") or None,
    )
    total = next((r for r in view.get("received", []) if r["asset"] == asset.code), None)
    explorer = chain_settings.network != "regtest"
    return Payment(
        asset=asset,
        amount="",
        due="0",
        received=total["amount"] if total else "0",
        remaining="0",
        address=address["address"],
        tag=address["tag"],
        reference=None,
        contract=contract,
        uri=uri,
        wallet_uri=uri if uri != address["address"] else None,
        qr_title=f"QR code: send {asset.asset.upper()} to {address['address']}",
        rate="0",
        fee="0",
        expires_at=view.get("expiredAt"),
        confirmations_required=settings.confirmations_for(asset.code),
        open=_before(view.get("expiredAt"), now),
        window_seconds=int(3600 * settings.unlimited_open_hours),
        value="",
        deposits=[
            Deposit(
                t["amount"], t["confirmations"], t["txid"], http_url(t["txHash"]) if explorer else None, t["createdAt"]
            )
            for t in view.get("invoiceTransactions", [])
        ],
    )


def _build_unlimited(
    view: dict[str, Any],
    choices: tuple[PaymentAsset, ...],
    settings: Settings,
    now: datetime,
    support: Support,
    brand_color: str | None,
) -> PayPage:
    preset_code = view.get("paymentCurrency") if view["status"] == "created" else None
    payment = _open_address(view, settings, now)
    code = view.get("paymentCurrency") or ""
    return PayPage(
        id=view["id"],
        status=view["status"],
        company_name=view["company"]["name"],
        logo_url=http_url(view["company"].get("logoUrl")),
        items=[],
        total="",
        currency=code.upper(),
        preset=PAYMENT_ASSETS.get(preset_code) if preset_code else None,
        choices=choices,
        payment=payment,
        redirect_url=http_url(view.get("redirectURL")),
        version=state_version(view | {"paymentDetails": view.get("received")}, payment is None or payment.open),
        support=support,
        unlimited=True,
        description=view.get("description"),
        brand_color=brand_color,
    )


def build_page(
    view: dict[str, Any],
    choices: tuple[PaymentAsset, ...],
    settings: Settings,
    now: datetime | None = None,
    support: Support | None = None,
    updated_at: str | None = None,
    amounts: dict[str, str] | None = None,
    brand_color: str | None = None,
) -> PayPage:
    if view.get("kind") == "unlimited":
        return _build_unlimited(view, choices, settings, now or datetime.now(UTC), support or Support(), brand_color)
    content = view["invoiceContent"]
    preset_code = content.get("paymentCurrency") if view["status"] == "created" else None
    payment = _payment(view, settings, now or datetime.now(UTC))
    return PayPage(
        id=view["id"],
        status=view["status"],
        company_name=view["company"]["name"],
        logo_url=http_url(view["company"].get("logoUrl")),
        items=[{**item, "price": price(str(item["price"]), content["invoiceCurrency"])} for item in content["items"]],
        total=price(content["total"], content["invoiceCurrency"]),
        currency=content["invoiceCurrency"].upper(),
        preset=PAYMENT_ASSETS.get(preset_code) if preset_code else None,
        choices=choices,
        payment=payment,
        redirect_url=http_url(view.get("redirectURL")),
        version=state_version(view, payment is None or payment.open),
        support=support or Support(),
        paid_at=updated_at if view["status"] == "done" else None,
        amounts=amounts or {},
        brand_color=brand_color,
    )
