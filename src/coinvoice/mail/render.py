"""Invoice and receipt emails: subject, text and HTML bodies from Jinja templates (HTML autoescaped)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

_ENV = Environment(
    loader=PackageLoader("coinvoice.mail", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    text: str
    html: str


def one_line(text: str) -> str:
    """Header-safe: no line breaks (no header injection), bounded length."""
    return " ".join(text.split())[:200]


def render(kind: str, context: dict[str, Any]) -> Message:
    """``kind`` is "invoice" or "receipt"; ``context`` holds the invoice view and the company name."""
    subject = _ENV.get_template(f"{kind}_subject.txt").render(context)
    return Message(
        one_line(subject),
        _ENV.get_template(f"{kind}.txt").render(context),
        _ENV.get_template(f"{kind}.html").render(context),
    )
