"""API tokens and signing keys: random, shown once, stored as hashes (secret keys re-derived from a salt)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


def new_public_token() -> str:
    return "pk_" + secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_key_salt() -> bytes:
    return secrets.token_bytes(16)


def secret_key_from_salt(master_key: bytes, salt: bytes) -> str:
    """The company secret key: derived from the server's master key and a stored salt, so the
    database alone never reveals it."""
    mac = hmac.new(master_key, b"coinvoice-secret-key:" + salt, hashlib.sha256).digest()
    return "sk_" + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
