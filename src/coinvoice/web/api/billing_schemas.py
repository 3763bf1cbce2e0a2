"""Request schemas of the billing API: products, prices, customers and billing invoices (camelCase)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt, StrictStr, WithJsonSchema
from pydantic.json_schema import JsonDict
from pydantic_core import PydanticCustomError

from coinvoice.domain.assets import INVOICE_CURRENCIES, PAYMENT_ASSETS
from coinvoice.domain.billing import (
    MAX_DAYS_UNTIL_DUE,
    MAX_LINES,
    MAX_METADATA_KEY,
    MAX_METADATA_KEYS,
    MAX_METADATA_VALUE,
    MAX_NOTES,
    MAX_QUANTITY,
)
from coinvoice.web.api.schemas import (
    EMAIL_PATTERN,
    HttpUrl,
    ItemName,
    Price,
    _lower_choice,
    _price,
    _text,
    price_schema,
    whole_number,
)

Name = ItemName
Currency = Annotated[
    str,
    BeforeValidator(_lower_choice(INVOICE_CURRENCIES, "unknown_currency", "invoiceCurrency")),
    WithJsonSchema({"type": "string", "enum": list(INVOICE_CURRENCIES), "description": "any case"}),
]
#: text without control characters or lone surrogates (PostgreSQL refuses NUL; none belongs in a page or email)
Text = Annotated[StrictStr, BeforeValidator(_text)]
Metadata = Annotated[
    dict[Text, Text],
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": MAX_METADATA_KEYS,
            "propertyNames": {"minLength": 1, "maxLength": MAX_METADATA_KEY},
            "additionalProperties": {"type": "string", "maxLength": MAX_METADATA_VALUE},
            "description": "your own keys and values (strings)",
        }
    ),
]
UnitAmount = Annotated[Decimal, BeforeValidator(_price), WithJsonSchema(price_schema(negative=False))]
ObjectId = Annotated[StrictStr, WithJsonSchema({"type": "string", "format": "uuid"})]
Email = Annotated[
    Text, Field(max_length=254), WithJsonSchema({"type": "string", "maxLength": 254, "pattern": EMAIL_PATTERN})
]


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
    description: Annotated[Text, Field(max_length=2000)] | None = None
    metadata: Metadata = {}


class ProductPatch(Strict):
    name: Name | None = None
    description: Annotated[Text, Field(max_length=2000)] | None = None
    active: StrictBool | None = None
    metadata: Metadata | None = None


class PriceIn(Strict):
    productId: ObjectId
    invoiceCurrency: Currency
    unitAmount: UnitAmount
    metadata: Metadata = {}


class PricePatch(Strict):
    productId: ObjectId | None = None
    invoiceCurrency: Currency | None = None
    unitAmount: UnitAmount | None = None
    active: StrictBool | None = None
    metadata: Metadata | None = None


class CustomerIn(Strict):
    email: Email | None = None
    name: Annotated[Text, Field(max_length=200)] | None = None
    metadata: Metadata = {}


class CustomerPatch(CustomerIn):
    metadata: Metadata | None = None  # type: ignore[assignment]
    active: StrictBool | None = None


Quantity = Annotated[
    StrictInt,
    BeforeValidator(whole_number),
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_QUANTITY, "default": 1}),
]


class LineIn(Strict):
    """A line from a price (``priceId``), or a free one (``name`` and ``price``)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [{"required": ["priceId"]}, {"required": ["name", "price"]}],
            "not": {"anyOf": [{"required": ["priceId", "name"]}, {"required": ["priceId", "price"]}]},
        },
    )
    priceId: ObjectId | None = None
    name: Name | None = None
    price: Price | None = None
    quantity: Quantity = 1


Lines = Annotated[list[LineIn], Field(min_length=1, max_length=MAX_LINES)]
Notes = Annotated[Text, Field(max_length=MAX_NOTES)]
Days = Annotated[StrictInt, Field(ge=0, le=MAX_DAYS_UNTIL_DUE), BeforeValidator(whole_number)]


_ONE_DUE_FIELD: JsonDict = {
    "not": {
        "required": ["dueDate", "daysUntilDue"],
        "properties": {"dueDate": {"type": "string"}, "daysUntilDue": {"type": "integer"}},
    },
    "description": "dueDate or daysUntilDue, not both",
}


class BillingInvoiceIn(Strict):
    """A draft. ``invoiceCurrency`` is needed unless a line uses a price (then it is the prices' currency);
    the lines' total must be above 0."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            **_ONE_DUE_FIELD,
            "if": {"properties": {"lineItems": {"contains": {"not": {"required": ["priceId"]}}}}},
            "then": {"required": ["invoiceCurrency"], "properties": {"invoiceCurrency": {"type": "string"}}},
        },
    )
    customerId: ObjectId
    invoiceCurrency: Currency | None = None
    lineItems: Lines
    dueDate: AwareTime = None
    daysUntilDue: Days | None = None
    metadata: Metadata = {}
    notes: Notes | None = None
    isMerchantPaysFee: StrictBool = False


class BillingInvoicePatch(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_ONE_DUE_FIELD)
    customerId: ObjectId | None = None
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
    description: Annotated[Text, Field(max_length=2000)] | None = None
    reference: Annotated[Text, Field(max_length=200)] | None = None
    metadata: Metadata = {}
    redirectURL: HttpUrl = None
