"""Response schemas (pydantic) of the merchant, payer and public API: the shapes /api/openapi.json documents.

Closed shapes (``extra="forbid"``) become ``additionalProperties: false``, so the contract check refuses an answer
that grows a field the document does not name. A key that only some answers carry (an invoice's ``address`` once
it is filled) is optional; a key always present whose value may be missing is required and nullable.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, WithJsonSchema

from coinvoice.domain.assets import COMPANY_ASSETS
from coinvoice.domain.chains import CHAINS
from coinvoice.domain.invoice import Status

DecimalText = Annotated[
    str, Field(pattern=r"^-?[0-9]+(\.[0-9]+)?$", description="a decimal as a string, plain notation")
]
Units = Annotated[str, Field(pattern=r"^[0-9]+$", description="an integer amount in the asset's base units")]
Time = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Id = Annotated[str, Field(json_schema_extra={"format": "uuid"})]


def _one_of(names: Iterable[str]) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "enum": list(names)})


StatusName = Annotated[str, _one_of(s.value for s in Status)]
ChainName = Annotated[str, _one_of(CHAINS)]
AssetName = Annotated[str, _one_of(COMPANY_ASSETS)]


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AssetAllowed(Closed):
    asset: AssetName
    isAllowed: bool


class CompanyCard(Closed):
    name: str
    logoUrl: str | None
    assets: list[AssetAllowed]


class ItemOut(Closed):
    name: str
    price: DecimalText


class InvoiceContent(Closed):
    invoiceCurrency: str
    items: list[ItemOut]
    total: DecimalText
    paymentCurrency: str | None
    isMerchantPaysFee: bool
    redirectURL: str | None


class DepositAddress(Closed):
    id: Id
    address: str
    tag: str | None
    asset: str
    reference: str | None = Field(None, description="Solana Pay: the key the payer's wallet adds to the transfer")


class RateSource(Closed):
    source: str
    rate: DecimalText
    at: Time
    via: str | None


class PaymentDetails(Closed):
    rate: DecimalText
    invoiceFee: DecimalText
    amount: DecimalText
    received: DecimalText
    remaining: DecimalText
    networkFee: DecimalText
    rateSources: list[RateSource]


class InvoiceTransaction(Closed):
    id: Id
    amount: DecimalText
    asset: str | None
    from_: str | None = Field(alias="from")
    txHash: str
    txid: str
    confirmations: int
    state: str
    late: bool
    companyId: Id
    invoiceId: Id
    addressId: Id
    createdAt: Time


class CustomerSnapshot(Closed):
    id: Id
    email: str | None
    name: str | None


class LineItemOut(Closed):
    priceId: Id | None
    name: str
    unitAmount: DecimalText
    quantity: int
    amount: DecimalText


class PayerInvoiceOut(Closed):
    """An invoice as anyone with its id sees it: never the payer's email, never the merchant's metadata."""

    id: Id
    status: StatusName
    createdAt: Time
    company: CompanyCard
    invoiceContent: InvoiceContent
    redirectURL: str | None
    # a billing invoice (kind "billing") carries these as well
    kind: Literal["billing"] | None = None
    reference: str | None = None
    customerId: Id | None = None
    customer: CustomerSnapshot | None = None
    lineItems: list[LineItemOut] | None = None
    dueDate: Time | None = None
    daysUntilDue: int | None = None
    notes: str | None = None
    finalizedAt: Time | None = None
    closedAt: Time | None = None
    hostedUrl: str | None = None
    # once the payer filled it
    address: DepositAddress | None = None
    paymentDetails: PaymentDetails | None = None
    invoiceTransactions: list[InvoiceTransaction] | None = None
    expiredAt: Time | None = None


class InvoiceOut(PayerInvoiceOut):
    """An invoice as its merchant sees it."""

    clientEmail: str | None = None
    metadata: dict[str, str] | None = None


class ReceivedTotal(Closed):
    """An any-amount invoice's running total in one asset."""

    asset: str
    amount: DecimalText
    confirmed: DecimalText
    count: int = Field(ge=0)


class UnlimitedTransaction(Closed):
    id: Id
    amount: DecimalText
    asset: str
    txHash: str
    txid: str
    confirmations: int
    state: str
    late: bool
    createdAt: Time


class PayerUnlimitedOut(Closed):
    """An any-amount invoice as anyone with its id sees it: no price; once filled, its address and what arrived."""

    id: Id
    kind: Literal["unlimited"]
    status: StatusName
    createdAt: Time
    company: CompanyCard
    paymentCurrency: str | None
    description: str | None
    reference: str | None
    redirectURL: str | None
    hostedUrl: str
    received: list[ReceivedTotal]
    address: DepositAddress | None = None
    invoiceTransactions: list[UnlimitedTransaction] | None = None
    filledAt: Time | None = None
    expiredAt: Time | None = Field(None, description="when the deposit window closes (or closed)")


class UnlimitedOut(PayerUnlimitedOut):
    """An any-amount invoice as its merchant sees it."""

    clientEmail: str | None = None
    metadata: dict[str, str]


class AnyPayerInvoice(RootModel[PayerInvoiceOut | PayerUnlimitedOut]):
    """An invoice read by its id: a priced invoice (regular or billing) or an any-amount one."""


class AnyInvoice(RootModel[InvoiceOut | UnlimitedOut]):
    """An invoice as its merchant sees it: priced (regular or billing) or any-amount."""


class InvoicePage(Closed):
    items: list[InvoiceOut | UnlimitedOut]
    nextCursor: str | None


class DepositOut(Closed):
    id: Id
    chain: ChainName
    asset: str | None = Field(description="the payment asset, or null for an unknown token")
    contract: str | None
    amount: DecimalText | None = Field(description="null when the token is unknown")
    amountUnits: Units
    address: str
    tag: str | None
    txid: str
    index: int
    txHash: str
    confirmations: int
    state: str
    blockHeight: int | None
    invoiceId: Id | None
    credited: bool
    reason: Literal["wrong_asset", "unknown_token", "after_late_window", "no_invoice"] | None
    late: bool
    createdAt: Time
    acceptedAt: Time | None = Field(description="when the merchant accepted it into its invoice, or null")
    acceptedReason: Literal["wrong_asset", "after_late_window", "no_invoice"] | None = Field(
        description="why it was not credited before the merchant accepted it"
    )


class DepositPage(Closed):
    items: list[DepositOut]
    nextCursor: str | None


class DepositAccepted(Closed):
    deposit: DepositOut
    invoice: InvoiceOut | UnlimitedOut


class DepositDismissed(Closed):
    id: Id
    dismissedAt: Time


class WalletSet(Closed):
    chain: ChainName
    network: str
    xpub: str | None = Field(None, description="the account key, on chains that derive an address per invoice")
    address: str | None = Field(None, description="the one address, on solana and ton")


class WalletOut(WalletSet):
    addressesAllocated: int = Field(ge=0)


class WalletList(Closed):
    wallets: list[WalletOut]


class AssetsOut(Closed):
    assets: list[AssetAllowed]


class BrandShades(Closed):
    accent: str
    buttonBackground: str
    buttonText: str


class BrandPalette(Closed):
    light: BrandShades
    dark: BrandShades


class SettingsOut(Closed):
    name: str
    logoUrl: str | None
    redirectURL: str | None
    webHookUrl: str | None
    supportUrl: str | None
    supportEmail: str | None
    brandColor: str | None = Field(description="#rrggbb as set, or null")
    brandPalette: BrandPalette | None = Field(description="the colours the payer page uses (contrast-adjusted)")


class WebhookUrlOut(Closed):
    webHookUrl: str | None


class LimitOut(Closed):
    static: DecimalText
    percentage: DecimalText


class LimitsOut(Closed):
    assets: dict[str, LimitOut]


class RotatedKey(Closed):
    secretKey: str = Field(description="shown only now")
    previousKeysValidUntil: Time | None
    activeKeys: int = Field(ge=1)


class AttemptOut(Closed):
    attemptedAt: Time
    url: str
    statusCode: int | None
    error: str | None
    durationMs: int | None
    responseExcerpt: str | None = Field(description="the start of the receiver's answer, at most 500 bytes")


class DeliveryOut(Closed):
    id: Id
    eventId: Id
    invoiceId: Id | None
    type: str
    state: Literal["pending", "delivered", "failed"]
    attempts: int = Field(ge=0)
    nextAttemptAt: Time | None
    lastStatusCode: int | None
    lastError: str | None
    deliveredAt: Time | None
    createdAt: Time
    recentAttempts: list[AttemptOut]


class DeliveryPage(Closed):
    items: list[DeliveryOut]
    nextCursor: str | None


class RateOut(Closed):
    from_: str = Field(alias="from")
    to: str
    rate: DecimalText
    spreadPercent: DecimalText
    sources: list[RateSource]
    updatedAt: Time


class ExportRecord(Closed):
    id: Id
    kind: Literal["regular", "billing"]
    status: StatusName
    reference: str | None
    invoiceCurrency: str
    total: DecimalText
    paymentCurrency: str | None
    amountDue: DecimalText | None
    received: DecimalText | None
    clientEmail: str | None
    customerEmail: str | None
    createdAt: Time
    finalizedAt: Time | None
    dueDate: Time | None
    expiresAt: Time | None
    updatedAt: Time


class Health(Closed):
    status: Literal["ok", "ready"]
