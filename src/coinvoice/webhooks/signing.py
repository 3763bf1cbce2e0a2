"""Webhook signatures: the headers we send, and verify_signature for merchants to check them."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence

SIGNATURE = "signature"
COINVOICE_SIGNATURE = "Coinvoice-Signature"
EVENT_ID = "Coinvoice-Event-Id"


def legacy_signature(body: bytes, secret_key: str) -> str:
    """The Solopayment-family ``signature`` header: hex HMAC-SHA512 of the exact body bytes."""
    return hmac.new(secret_key.encode(), body, hashlib.sha512).hexdigest()


def timestamped_signature(body: bytes, secret_key: str, timestamp: int) -> str:
    """One ``v1`` value: hex HMAC-SHA256 of ``"<timestamp>.<body>"``."""
    return hmac.new(secret_key.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_headers(body: bytes, secret_keys: Sequence[str], event_id: str, timestamp: int | None = None) -> dict:
    """Headers for one webhook request; ``secret_keys`` are the active keys, newest first."""
    if not secret_keys:
        raise ValueError("at least one secret key is needed to sign")
    t = int(time.time()) if timestamp is None else timestamp
    v1 = ",".join(f"v1={timestamped_signature(body, key, t)}" for key in secret_keys)
    return {
        "Content-Type": "application/json",
        SIGNATURE: legacy_signature(body, secret_keys[0]),
        COINVOICE_SIGNATURE: f"t={t},{v1}",
        EVENT_ID: event_id,
    }


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    lower = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lower), None)


def _parse(value: str) -> tuple[int | None, list[str]]:
    timestamp, v1 = None, []
    for part in value.split(","):
        key, _, val = part.strip().partition("=")
        if key == "t" and val.isdigit():
            timestamp = int(val)
        elif key == "v1" and val:
            v1.append(val)
    return timestamp, v1


def verify_signature(
    body: bytes,
    headers: Mapping[str, str],
    secret_keys: str | Sequence[str],
    tolerance: int = 300,
    now: float | None = None,
) -> bool:
    """True when ``Coinvoice-Signature`` carries a ``v1`` made with one of ``secret_keys`` and its
    timestamp is at most ``tolerance`` seconds away. During a key rotation every active key signs,
    so a receiver still holding only the old key keeps verifying. Pass the raw body bytes.
    """
    keys = [secret_keys] if isinstance(secret_keys, str) else list(secret_keys)
    header = _header(headers, COINVOICE_SIGNATURE)
    if not keys or header is None:
        return False
    timestamp, received = _parse(header)
    if timestamp is None or not received:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = [timestamped_signature(body, key, timestamp) for key in keys]
    return any(hmac.compare_digest(e, r) for e in expected for r in received)


def verify_legacy_signature(body: bytes, headers: Mapping[str, str], secret_keys: str | Sequence[str]) -> bool:
    """True when the Solopayment-family ``signature`` header matches one of ``secret_keys``.

    It has no timestamp (no replay protection) and is made with the newest key only.
    """
    keys = [secret_keys] if isinstance(secret_keys, str) else list(secret_keys)
    legacy = _header(headers, SIGNATURE)
    return legacy is not None and any(hmac.compare_digest(legacy_signature(body, k), legacy) for k in keys)
