"""Request schemas of the billing API: products, prices, customers and billing invoices (camelCase)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt, StrictStr, WithJsonSchema
from pydantic_core import PydanticCustomError

from coinvoice.domain.assets import INVOICE_CURRENCIES, PAYMENT_ASSETS
from coinvoice.domain.billing import MAX_DAYS_UNTIL_DUE, MAX_LINES, MAX_NOTES
from coinvoice.web.api.schemas import HttpUrl, Price, _item_name, _lower_choice

Name = Annotated[StrictStr, BeforeValidator(_item_name)]
Currency = Annotated[str, BeforeValidator(_lower_choice(INVOICE_CURRENCIES, "unknown_currency", "invoiceCurrency"))]
Metadata = dict[StrictStr, StrictStr]


def _aware_time(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        raise PydanticCustomError("invalid_time", "must be an ISO 8601 time like 2026-01-31T12:00:00Z")
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise PydanticCustomError("invalid_time", "must be an ISO 8601 time like 2026-01-31T12:00:00Z") from None
    if at.tzinfo is None:
        raise PydanticCustomError("invalid_time", "must include a zone, e.g. a trailing Z")
    return at


AwareTime = Annotated[datetime | None, BeforeValidator(_aware_time)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProductIn(Strict):
    name: Name
    description: Annotated[StrictStr, Field(max_length=2000)] | None = None
    metadata: Metadata = {}


class ProductPatch(Strict):
    name: Name | None = None
    description: Annotated[StrictStr, Field(max_length=2000)] | None = None
    active: StrictBool | None = None
    metadata: Metadata | None = None


class PriceIn(Strict):
    productId: StrictStr
    invoiceCurrency: Currency
    unitAmount: Price
    metadata: Metadata = {}


class PricePatch(Strict):
    productId: StrictStr | None = None
    invoiceCurrency: Currency | None = None
    unitAmount: Price | None = None
    active: StrictBool | None = None
    metadata: Metadata | None = None


class CustomerIn(Strict):
    email: Annotated[StrictStr, Field(max_length=254)] | None = None
    name: Annotated[StrictStr, Field(max_length=200)] | None = None
    metadata: Metadata = {}


class CustomerPatch(CustomerIn):
    metadata: Metadata | None = None  # type: ignore[assignment]
    active: StrictBool | None = None


class LineIn(Strict):
    priceId: StrictStr | None = None
    name: Name | None = None
    price: Price | None = None
    quantity: StrictInt = 1


Lines = Annotated[list[LineIn], Field(min_length=1, max_length=MAX_LINES)]
Notes = Annotated[StrictStr, Field(max_length=MAX_NOTES)]
Days = Annotated[StrictInt, Field(ge=0, le=MAX_DAYS_UNTIL_DUE)]


class BillingInvoiceIn(Strict):
    customerId: StrictStr
    invoiceCurrency: Currency | None = None
    lineItems: Lines
    dueDate: AwareTime = None
    daysUntilDue: Days | None = None
    metadata: Metadata = {}
    notes: Notes | None = None
    isMerchantPaysFee: StrictBool = False


class BillingInvoicePatch(Strict):
    customerId: StrictStr | None = None
    invoiceCurrency: Currency | None = None
    lineItems: Lines | None = None
    dueDate: AwareTime = None
    daysUntilDue: Days | None = None
    metadata: Metadata | None = None
    notes: Notes | None = None
    isMerchantPaysFee: StrictBool | None = None


class UnlimitedInvoiceIn(Strict):
    """An any-amount invoice: the asset the payer sends (or none: the payer picks), no price."""

    paymentCurrency: Annotated[
        str | None,
        BeforeValidator(_lower_choice(tuple(PAYMENT_ASSETS), "unknown_payment_currency", "paymentCurrency")),
        WithJsonSchema({"anyOf": [{"type": "string", "enum": list(PAYMENT_ASSETS)}, {"type": "null"}]}),
    ] = None
    description: Annotated[StrictStr, Field(max_length=2000)] | None = None
    reference: Annotated[StrictStr, Field(max_length=200)] | None = None
    metadata: Metadata = {}
    redirectURL: HttpUrl = None
