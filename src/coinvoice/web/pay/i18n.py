"""The payer page's languages: gettext catalogues read at start (no build step) and Babel's locale formats."""

from __future__ import annotations

import gettext
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from babel import Locale
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from markupsafe import Markup, escape

from coinvoice.domain.assets import FIAT_CURRENCIES, PRICE_PRECISION

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT = "en"
#: The languages the page speaks, each named in itself for the language links.
LANGUAGES: tuple[tuple[str, str], ...] = (
    ("en", "English"),
    ("de", "Deutsch"),
    ("es", "Español"),
    ("fr", "Français"),
    ("ru", "Русский"),
    ("pt", "Português"),
)
CODES = frozenset(code for code, _ in LANGUAGES)
_TAG = re.compile(r"^\s*([A-Za-z]{1,8})(?:-[A-Za-z0-9]{1,8})*\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$")


def translations(lang: str, folder: Path = LOCALE_DIR) -> gettext.NullTranslations:
    """The catalogue of ``lang`` (English is the source language: its texts are the msgids)."""
    path = folder / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=lang)
    mo = io.BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    return gettext.GNUTranslations(mo)


def choose_language(query_lang: str | None, accept_language: str | None) -> str:
    """``?lang=`` when it names a language of ours, else the best of Accept-Language, else English."""
    if query_lang in CODES:
        return str(query_lang)
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")[:20]):
        match = _TAG.match(part)
        if not match:
            continue
        try:
            quality = float(match.group(2)) if match.group(2) else 1.0
        except ValueError:
            continue
        primary = match.group(1).lower()
        if primary in CODES and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else DEFAULT


def formatters(lang: str) -> dict[str, Callable[..., str]]:
    """Template helpers that format for ``lang``: prices, crypto amounts, times."""
    locale = Locale.parse(lang)

    def money(value: str, currency: str) -> str:
        code = currency.lower()
        places = PRICE_PRECISION.get(code, 2) if code in FIAT_CURRENCIES else 0
        if code in FIAT_CURRENCIES:
            return format_decimal(Decimal(value), format="#,##0." + "0" * places, locale=locale)
        return crypto(value)

    def crypto(value: str) -> str:
        # every digit the wallet needs, in the payer's separators (copy buttons keep the plain form)
        return format_decimal(Decimal(value), format="#,##0.##################", locale=locale)

    def when(value: str) -> str:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return format_datetime(moment, "medium", tzinfo=UTC, locale=locale)

    return {"money": money, "crypto": crypto, "when": when}


def strong(text: str, element_id: str | None = None) -> Markup:
    attribute = Markup(' id="{}"').format(element_id) if element_id else ""
    return Markup("<strong{}>{}</strong>").format(attribute, text)


def span(text: str, element_id: str) -> Markup:
    return Markup('<span id="{}">{}</span>').format(element_id, text)


def link(href: str, text: str, element_id: str) -> Markup:
    return Markup('<a id="{}" href="{}" rel="noopener noreferrer">{}</a>').format(element_id, href, escape(text))
