"""Request schemas and query-string parsing for the merchant account API."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, StrictInt, StrictStr
from pydantic_core import PydanticCustomError

from coinvoice.domain.errors import Invalid, NotFound
from coinvoice.web.api.schemas import HttpUrl

MAX_LIMIT_VALUE = Decimal("1e15")


def _amount(value: Any) -> Decimal | None:
    """A non-negative decimal sent as a JSON number or a string."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise PydanticCustomError("invalid_number", "must be a number or a decimal string")
    try:
        number = value if isinstance(value, Decimal) else Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise PydanticCustomError("invalid_number", "must be a number or a decimal string") from None
    if not number.is_finite() or number < 0 or number >= MAX_LIMIT_VALUE:
        raise PydanticCustomError("out_of_range", "must be a finite number >= 0")
    return number


Amount = Annotated[Decimal | None, BeforeValidator(_amount)]


class WebhookUrlIn(BaseModel):
    webHookUrl: StrictStr | None


class SettingsIn(BaseModel):
    name: Annotated[StrictStr | None, Field(min_length=1, max_length=200)] = None
    logoUrl: HttpUrl = None
    redirectURL: HttpUrl = None
    supportUrl: HttpUrl = None  # shown to payers when something needs a person (expired, incomplete)
    supportEmail: Annotated[StrictStr | None, Field(max_length=254)] = None


class LimitIn(BaseModel):
    static: Amount = None
    percentage: Amount = None


class LimitsIn(BaseModel):
    assets: dict[str, LimitIn]


class RotateIn(BaseModel):
    gracePeriodSeconds: StrictInt | None = None


def query_int(query: Any, name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or len(raw) > 6:
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
