"""Request schemas (pydantic) and the translation of their errors into our error codes."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import BaseModel, BeforeValidator, Field, StrictBool, StrictStr, ValidationError
from pydantic_core import PydanticCustomError

from coinvoice.domain.assets import INVOICE_CURRENCIES, PAYMENT_ASSETS
from coinvoice.domain.errors import Invalid
from coinvoice.domain.invoice import MAX_ITEM_NAME, MAX_ITEMS

M = TypeVar("M", bound=BaseModel)
MAX_PRICE = Decimal("1e15")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


async def read_json(request: web.Request) -> Any:
    """The request body as JSON, numbers as Decimal (never float); a clear 400 otherwise."""
    raw = await request.read()
    try:
        return json.loads(raw or b"null", parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid("invalid_json", f"the body is not valid JSON: {exc}", None) from exc


def _price(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise PydanticCustomError("invalid_price", "price must be a number")
    try:
        price = Decimal(value) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise PydanticCustomError("invalid_price", "price must be a number") from None
    if not price.is_finite():
        raise PydanticCustomError("invalid_price", "price must be a finite number")
    if abs(price) >= MAX_PRICE:
        raise PydanticCustomError("invalid_price", "price is too large")
    return price


def _lower_choice(choices: tuple[str, ...], code: str, what: str) -> Any:
    def check(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str) or value.lower() not in choices:
            raise PydanticCustomError(code, f"{what} must be one of: {', '.join(choices)}")
        return value.lower()

    return check


def _http_url(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 2048:
        raise PydanticCustomError("invalid_url", "must be an http(s) URL of at most 2048 characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PydanticCustomError("invalid_url", "must be an absolute http or https URL")
    return value


def _item_name(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        raise PydanticCustomError("invalid_name", "name must not be empty")
    if isinstance(value, str) and len(value) > MAX_ITEM_NAME:
        raise PydanticCustomError("name_too_long", f"name must be at most {MAX_ITEM_NAME} characters")
    return value


Price = Annotated[Decimal, BeforeValidator(_price)]
HttpUrl = Annotated[str | None, BeforeValidator(_http_url)]


class ItemIn(BaseModel):
    name: Annotated[StrictStr, BeforeValidator(_item_name)]
    price: Price


class CreateRegularIn(BaseModel):
    invoiceCurrency: Annotated[
        str, BeforeValidator(_lower_choice(INVOICE_CURRENCIES, "unknown_currency", "invoiceCurrency"))
    ]
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=MAX_ITEMS)]
    isMerchantPaysFee: StrictBool = False
    paymentCurrency: Annotated[
        str | None,
        BeforeValidator(_lower_choice(tuple(PAYMENT_ASSETS), "unknown_payment_currency", "paymentCurrency")),
    ] = None
    redirectURL: HttpUrl = None


class ProceedIn(BaseModel):
    clientEmail: Annotated[StrictStr, Field(max_length=254)]
    paymentCurrency: StrictStr | None = None


class WalletIn(BaseModel):
    """An account key (``xpub``), or one address on a shared-address chain (solana, ton)."""

    xpub: Annotated[StrictStr, Field(min_length=1, max_length=200)] | None = None
    address: Annotated[StrictStr, Field(min_length=1, max_length=200)] | None = None


class AssetSetting(BaseModel):
    isAllowed: StrictBool


class AssetsIn(BaseModel):
    assets: dict[str, AssetSetting]


_CODES = {
    "missing": "required",
    "too_short": "empty",
    "string_too_short": "empty",
    "too_long": "too_many",
    "string_too_long": "too_long",
    "bool_type": "invalid_type",
    "string_type": "invalid_type",
    "list_type": "invalid_type",
    "dict_type": "invalid_type",
    "model_type": "invalid_type",
}


def _field(loc: tuple[Any, ...]) -> str | None:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or None


def parse(model: type[M], data: Any) -> M:
    """Validate ``data`` against ``model``; the first problem becomes a 400 naming the field."""
    if not isinstance(data, dict):
        raise Invalid("invalid_body", "the body must be a JSON object", None)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = _field(tuple(err["loc"]))
        code = _CODES.get(err["type"], err["type"])
        if field == "items" and code in ("empty", "too_many"):
            code = {"empty": "empty_items", "too_many": "too_many_items"}[code]
        raise Invalid(code, f"{field}: {err['msg']}" if field else err["msg"], field) from None
