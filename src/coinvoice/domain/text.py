"""What the API accepts as text, URLs, decimal strings and email addresses: checks that say why not."""

from __future__ import annotations

import ipaddress
import re
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

MAX_URL = 2048
#: A plain ASCII decimal: an optional minus, digits, an optional fraction (no exponent, sign, blanks or _).
PLAIN_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
ASCII_DIGITS = re.compile(r"[0-9]+")
_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_URL_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_LOCAL_ATOM = re.compile(r"[^\s\x00-\x1f\x7f()<>\[\]:;@\\,.\"]+")


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text (NUL, other control characters, lone surrogates), or None."""
    for ch in value:
        code = ord(ch)
        if code < 0x20 or code == 0x7F:
            return f"must not contain control characters (found U+{code:04X})"
        if 0xD800 <= code <= 0xDFFF:
            return f"must not contain a lone surrogate (U+{code:04X})"
    return None


def url_problem(value: str) -> str | None:
    """Why ``value`` is not an absolute http(s) URL we would store and later put in a page or header, or None.

    ASCII only (international host names as punycode, other characters percent-encoded), no blanks, quotes or
    angle brackets, well-formed percent escapes, a DNS name or IP literal as host, and a port 1 to 65535.
    """
    if not value or len(value) > MAX_URL:
        return f"must be an http(s) URL of 1 to {MAX_URL} characters"
    if not _URL_CHARS.fullmatch(value):
        return "must be ASCII without blanks, quotes, angle brackets or control characters (percent-encode others)"
    if _BAD_PERCENT.search(value):
        return "has a % that does not start a percent escape like %20"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "must be an absolute http or https URL"
    hostport = parts.netloc.rpartition("@")[2]
    if hostport.startswith("["):
        host, _, rest = hostport[1:].partition("]")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return "has an invalid IPv6 literal as host"
        port = rest[1:] if rest.startswith(":") else None
        if rest and port is None:
            return "has an invalid host"
    else:
        host, colon, port_text = hostport.partition(":")
        port = port_text if colon else None
        labels = host.rstrip(".").split(".")
        if not host or not all(_HOST_LABEL.fullmatch(label) for label in labels):
            return "has an invalid host name (letters, digits and hyphens; international names as punycode)"
    if port is not None and not (ASCII_DIGITS.fullmatch(port) and 1 <= int(port) <= 65535):
        return "has an invalid port (1 to 65535)"
    return None


def url_origin(value: str) -> str | None:
    """scheme://host[:port] of a URL that passes ``url_problem``, or None: safe to put in a CSP header."""
    if url_problem(value) is not None:
        return None
    parts = urlsplit(value)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def plain_decimal(value: str) -> Decimal | None:
    """The Decimal of a plain ASCII decimal string ("10.99", "-3"), or None for anything else."""
    if not PLAIN_DECIMAL.fullmatch(value):
        return None
    try:
        return Decimal(value)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        return None


def decimal_problem(number: Decimal, *, max_places: int, below: Decimal) -> str | None:
    """Why a decimal is out of bounds (absurd exponents included), or None. Uses no context arithmetic, so
    nothing here can overflow or round."""
    if not number.is_finite():
        return "must be a finite number"
    if number.copy_abs() >= below:
        return f"must be less than {below:f} in absolute value"
    _sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0")) if any(digits) else len(digits)
    if exponent < 0 and exponent + min(trailing, -exponent) < -max_places:
        return f"has more than {max_places} decimal places"
    return None


def email_problem(email: str) -> str | None:
    """Why ``email`` is not a usable address (dot-atom local part, IDNA-encodable domain), or None.

    Internationalised addresses (RFC 6531) are accepted: any letter in the local part, any IDNA domain.
    """
    if len(email) > 254 or text_problem(email):
        return "must be a valid email address"
    local, at, domain = email.rpartition("@")
    if not at or not local or len(local) > 64:
        return "must be a valid email address"
    if not all(_LOCAL_ATOM.fullmatch(atom) for atom in local.split(".")):
        return "must be a valid email address"
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return "must be a valid email address"
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        return "must be a valid email address"
    return None
