"""Request schemas and query-string parsing for the merchant account API."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, StrictInt, StrictStr, WithJsonSchema
from pydantic_core import PydanticCustomError

from coinvoice.domain.errors import Invalid, NotFound
from coinvoice.domain.text import ASCII_DIGITS, decimal_problem, text_problem, url_problem
from coinvoice.web.api.schemas import EMAIL_PATTERN, TEXT_PATTERN, HttpUrl, whole_number, wire_decimal

MAX_GRACE_SECONDS = 30 * 24 * 3600
MAX_LIMIT_PLACES = 18

MAX_LIMIT_VALUE = Decimal("1e15")


def _amount(value: Any) -> Decimal | None:
    """A non-negative decimal sent as a JSON number or a plain ASCII decimal string."""
    if value is None:
        return None
    number = wire_decimal(value, "invalid_number", "a limit", "0.5")
    if problem := decimal_problem(number, max_places=MAX_LIMIT_PLACES, below=MAX_LIMIT_VALUE):
        raise PydanticCustomError("out_of_range", f"must be a number >= 0 that {problem}")
    if number < 0:
        raise PydanticCustomError("out_of_range", "must be a finite number >= 0")
    return number


def _name(value: Any) -> Any:
    if isinstance(value, str):
        if not value.strip():
            raise PydanticCustomError("empty", "name must not be blank")
        if problem := text_problem(value):
            raise PydanticCustomError("invalid_text", problem)
    return value


def _webhook_url(value: Any) -> Any:
    if isinstance(value, str) and (problem := url_problem(value)):
        raise PydanticCustomError("invalid_url", problem)
    return value


def _grace(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= MAX_GRACE_SECONDS:
        raise PydanticCustomError(
            "out_of_range", f"gracePeriodSeconds must be between 0 and {MAX_GRACE_SECONDS} (30 days)"
        )
    return value


Amount = Annotated[Decimal | None, BeforeValidator(_amount)]


class WebhookUrlIn(BaseModel):
    webHookUrl: Annotated[StrictStr | None, BeforeValidator(_webhook_url)]


class SettingsIn(BaseModel):
    """Only the fields sent change; ``null`` clears one (never ``name``)."""

    name: Annotated[
        StrictStr | None,
        Field(min_length=1, max_length=200),
        BeforeValidator(_name),
        WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 200, "pattern": TEXT_PATTERN}),
    ] = None
    logoUrl: HttpUrl = None
    redirectURL: HttpUrl = None
    supportUrl: HttpUrl = None  # shown to payers when something needs a person (expired, incomplete)
    supportEmail: Annotated[
        StrictStr | None,
        Field(max_length=254),
        WithJsonSchema({"anyOf": [{"type": "string", "maxLength": 254, "pattern": EMAIL_PATTERN}, {"type": "null"}]}),
    ] = None
    #: the payer page's accent (#rrggbb); the page keeps it readable (4.5:1) in light and dark mode
    brandColor: Annotated[
        StrictStr | None,
        Field(max_length=7),
        WithJsonSchema({"anyOf": [{"type": "string", "pattern": "^#[0-9A-Fa-f]{6}$"}, {"type": "null"}]}),
    ] = None


class LimitIn(BaseModel):
    static: Amount = None
    percentage: Amount = None


class AcceptDepositIn(BaseModel):
    invoiceId: Annotated[
        StrictStr, Field(description="the invoice to credit the deposit to", json_schema_extra={"format": "uuid"})
    ]


class LimitsIn(BaseModel):
    assets: dict[str, LimitIn]


class RotateIn(BaseModel):
    gracePeriodSeconds: Annotated[
        StrictInt | None, Field(ge=0, le=MAX_GRACE_SECONDS), BeforeValidator(_grace), BeforeValidator(whole_number)
    ] = None


def query_int(query: Any, name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not ASCII_DIGITS.fullmatch(raw) or len(raw) > 6:
        raise Invalid("invalid_number", f"{name} must be a whole number", name)
    return int(raw)


def query_time(query: Any, name: str) -> datetime | None:
    """An ISO 8601 time with a zone (a trailing Z is fine)."""
    raw = query.get(name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise Invalid("invalid_time", f"{name} must be an ISO 8601 time like 2026-01-31T12:00:00Z", name) from None
    if value.tzinfo is None:
        raise Invalid("invalid_time", f"{name} must include a zone, e.g. a trailing Z", name)
    return value


def uuid_or_404(value: str | None, code: str, what: str, field: str) -> uuid.UUID | None:
    """A UUID from a path or query value; a malformed one is as unknown as a missing object (404)."""
    if value is None:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(code, f"no {what} with this id", field) from None
