"""Request schemas (pydantic) and the translation of their errors into our error codes."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from aiohttp import web
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from coinvoice.domain.assets import INVOICE_CURRENCIES, PAYMENT_ASSETS
from coinvoice.domain.errors import Invalid
from coinvoice.domain.invoice import MAX_ITEM_NAME, MAX_ITEMS
from coinvoice.domain.text import decimal_problem, plain_decimal, text_problem, url_problem

M = TypeVar("M", bound=BaseModel)
MAX_PRICE = Decimal("1e15")
MAX_PRICE_PLACES = 18
MAX_DEPTH = 32
_NO_BODY = object()
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def too_deep(raw: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether JSON text nests arrays and objects deeper than ``limit`` (strings ignored); checked before the
    parser sees it, whose recursion a hostile body could exhaust."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    for byte in _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS):
        depth += 1 if byte in b"[{" else -1
        if depth > limit:
            return True
    return False


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


#: One decoder for every request (json.loads with arguments builds a new one each call).
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant)


async def read_json(request: web.Request, *, empty: Any = _NO_BODY) -> Any:
    """The request body as JSON, numbers as Decimal (never float); a clear 400 otherwise.

    ``empty`` is what an empty body stands for, where the endpoint allows one; otherwise it is invalid JSON.
    """
    raw = await request.read()
    if not raw.strip():
        return None if empty is _NO_BODY else empty
    if too_deep(raw):
        raise Invalid("invalid_json", f"the body nests arrays and objects more than {MAX_DEPTH} deep", None)
    try:
        return _DECODER.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))  # what json.loads does
    except json.JSONDecodeError as exc:
        raise Invalid("invalid_json", f"the body is not valid JSON: {exc.msg} at offset {exc.pos}", None) from None
    except RecursionError:
        raise Invalid("invalid_json", "the body is nested too deeply", None) from None
    except UnicodeDecodeError:
        raise Invalid("invalid_json", "the body is not UTF-8", None) from None
    except ValueError as exc:
        what = "a number in the body has too many digits" if "digits" in str(exc) else "the body is not valid JSON"
        raise Invalid("invalid_json", what, None) from None


def wire_decimal(value: Any, code: str, what: str, example: str) -> Decimal:
    """A JSON number or a plain ASCII decimal string as a Decimal; ``code`` names the error otherwise."""
    parsed = plain_decimal(value) if isinstance(value, str) else None
    if isinstance(value, bool) or (not isinstance(value, int | Decimal) and parsed is None):
        raise PydanticCustomError(code, f'{what} must be a number or a plain decimal string like "{example}"')
    return Decimal(value) if parsed is None else parsed


def _price(value: Any) -> Decimal:
    """A JSON number or a plain ASCII decimal string, below 1e15 in size with at most 18 decimal places."""
    price = wire_decimal(value, "invalid_price", "price", "10.99")
    if problem := decimal_problem(price, max_places=MAX_PRICE_PLACES, below=MAX_PRICE):
        raise PydanticCustomError("invalid_price", f"price {problem}")
    return price


def whole_number(value: Any) -> Any:
    """JSON Schema counts ``998.0`` as an integer, and so do we; a number with a fraction stays an error."""
    if isinstance(value, Decimal) and value.is_finite() and abs(value) < 10**18 and value == value.to_integral_value():
        return int(value)
    return value


def _text(value: Any) -> Any:
    if isinstance(value, str) and (problem := text_problem(value)):
        raise PydanticCustomError("invalid_text", problem)
    return value


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
    if not isinstance(value, str):
        raise PydanticCustomError("invalid_url", "must be an http(s) URL or null")
    if problem := url_problem(value):
        raise PydanticCustomError("invalid_url", problem)
    return value


def _item_name(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        raise PydanticCustomError("invalid_name", "name must not be empty")
    if isinstance(value, str) and len(value) > MAX_ITEM_NAME:
        raise PydanticCustomError("name_too_long", f"name must be at most {MAX_ITEM_NAME} characters")
    return _text(value)


DECIMAL_PATTERN = "^-?[0-9]+(\\.[0-9]+)?$"
#: what a price may be, as a pattern: below 10^15, at most 18 decimal places
PRICE_PATTERN = "^-?[0-9]{1,15}(\\.[0-9]{1,18})?$"
#: an absolute http(s) URL the checks accept (a subset, for the document: DNS names, a port 1-9999, a plain path)
URL_PATTERN = (
    "^https?://[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
    "(:[1-9][0-9]{0,3})?(/[A-Za-z0-9._~/-]*)?$"
)


def price_schema(*, negative: bool = True) -> dict[str, Any]:
    """The JSON schema of a price: a JSON number or a plain decimal string, |price| < 1e15, <= 18 places."""
    low = -1e15 if negative else 0
    return {
        "anyOf": [
            {"type": "number", "exclusiveMinimum": low, "exclusiveMaximum": 1e15, "multipleOf": 0.01}
            if negative
            else {"type": "number", "minimum": 0, "exclusiveMaximum": 1e15, "multipleOf": 0.01},
            {"type": "string", "pattern": PRICE_PATTERN if negative else PRICE_PATTERN.replace("^-?", "^")},
        ],
        "description": "a JSON number or a plain decimal string; |price| < 1e15, at most 18 decimal places"
        + ("" if negative else "; not negative"),
        "examples": ["10.99"],
    }


Price = Annotated[Decimal, BeforeValidator(_price), WithJsonSchema(price_schema())]
HttpUrl = Annotated[
    str | None,
    BeforeValidator(_http_url),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "pattern": URL_PATTERN, "maxLength": 2048}, {"type": "null"}],
            "description": "an absolute http(s) URL, ASCII only (international names as punycode, other "
            "characters percent-encoded), no blanks, quotes or angle brackets, port 1-65535",
            "examples": ["https://shop.example/done"],
        }
    ),
]


TEXT_PATTERN = "^[^\\x00-\\x1f\\x7f]*[^\\s\\x00-\\x1f\\x7f][^\\x00-\\x1f\\x7f]*$"


ItemName = Annotated[
    StrictStr,
    BeforeValidator(_item_name),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": MAX_ITEM_NAME, "pattern": TEXT_PATTERN}),
]
#: an email address of the common dot-atom form, for the document (the check also takes international ones)
EMAIL_PATTERN = (
    "^[A-Za-z0-9_%+-]+(\\.[A-Za-z0-9_%+-]+)*@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    "(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


class ItemIn(BaseModel):
    name: ItemName
    price: Price


class CreateRegularIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "invoiceCurrency": "eur",
                    "items": [{"name": "Coffee", "price": "10.99"}, {"name": "Discount", "price": -3}],
                    "isMerchantPaysFee": False,
                    "paymentCurrency": "ltc",
                    "redirectURL": "https://shop.example/done",
                }
            ]
        }
    )
    invoiceCurrency: Annotated[
        str,
        BeforeValidator(_lower_choice(INVOICE_CURRENCIES, "unknown_currency", "invoiceCurrency")),
        WithJsonSchema({"type": "string", "enum": list(INVOICE_CURRENCIES), "description": "any case"}),
    ]
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=MAX_ITEMS)]
    isMerchantPaysFee: StrictBool = False
    paymentCurrency: Annotated[
        str | None,
        BeforeValidator(_lower_choice(tuple(PAYMENT_ASSETS), "unknown_payment_currency", "paymentCurrency")),
        WithJsonSchema({"anyOf": [{"type": "string", "enum": list(PAYMENT_ASSETS)}, {"type": "null"}]}),
    ] = None
    redirectURL: HttpUrl = None


class ProceedIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"clientEmail": "payer@example.com", "paymentCurrency": "ltc"}]}
    )
    clientEmail: Annotated[StrictStr, Field(max_length=254), BeforeValidator(_text)]
    paymentCurrency: Annotated[StrictStr | None, BeforeValidator(_text)] = None


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


class ErrorDetail(BaseModel):
    code: str = Field(description="stable, machine-readable: what went wrong")
    message: str = Field(description="for people; may change")
    field: str | None = Field(description="the field, query parameter or header at fault, or null")


class ErrorOut(BaseModel):
    """Every 4xx and 5xx answer of the API."""

    error: ErrorDetail
