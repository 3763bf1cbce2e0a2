"""Shared merchant addresses (ed25519 chains): validating the address a merchant gives, and what tells each
invoice on it apart (a fresh Solana Pay reference key, or a short unique TON text comment). Pure, no I/O."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from bip_utils import Base58Decoder, Base58Encoder, Ed25519PrivateKey
from pytoniq_core import Address, AddressError

from coinvoice.domain.chains import CHAINS

#: Chains whose merchants give one address instead of an account key, in registry order.
SHARED_CHAINS = tuple(c.name for c in CHAINS.values() if not c.derives_addresses)
#: Letters and digits a payer cannot confuse when typing a comment (no 0/O, 1/I/L).
COMMENT_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
COMMENT_LENGTH = 8
SOLANA_KEY_BYTES = 32
TON_WORKCHAINS = (0, -1)


class InvalidAddress(ValueError):
    """The text given is not an address this chain's payers can send to."""


def validate_address(chain: str, network: str, text: str) -> str:
    """Check a merchant's address on a shared-address chain; returns the form to store and show payers."""
    if chain not in SHARED_CHAINS:
        raise ValueError(f"{chain} derives its addresses; expected one of {', '.join(SHARED_CHAINS)}")
    cleaned = text.strip() if isinstance(text, str) else ""
    if not cleaned:
        raise InvalidAddress(f"an address is required for {chain}")
    return _VALIDATORS[CHAINS[chain].family](cleaned, network)


def new_reference() -> str:
    """A fresh random Solana Pay reference: the public key of a throwaway ed25519 key, in base58."""
    key = Ed25519PrivateKey.FromBytes(secrets.token_bytes(32)).PublicKey().RawCompressed().ToBytes()[1:]
    return str(Base58Encoder.Encode(key))


def new_comment() -> str:
    """A short random text comment (8 unambiguous characters, about 40 bits)."""
    return "".join(secrets.choice(COMMENT_ALPHABET) for _ in range(COMMENT_LENGTH))


def _solana(text: str, network: str) -> str:
    try:
        raw = Base58Decoder.Decode(text)
    except ValueError:
        raise InvalidAddress("not a Solana address: not base58 text (mistyped or truncated?)") from None
    if len(raw) != SOLANA_KEY_BYTES:
        raise InvalidAddress(f"not a Solana address: {len(raw)} bytes long, a public key has {SOLANA_KEY_BYTES}")
    return str(Base58Encoder.Encode(raw))


def _ton(text: str, network: str) -> str:
    """The user-friendly (URL-safe) form: the merchant's own bounce flag, or non-bounceable for a raw address
    (TEP-2: wallets receive non-bounceable, so a payment to a wallet not deployed yet is not sent back)."""
    try:
        address = Address(text)
    except (AddressError, ValueError, TypeError):
        raise InvalidAddress("not a TON address: expected the user-friendly form (EQ…/UQ…) or 0:<64 hex>") from None
    if address.wc not in TON_WORKCHAINS:
        raise InvalidAddress(f"not a TON wallet address: workchain {address.wc}")
    if ":" not in text and address.is_test_only and network == "mainnet":
        raise InvalidAddress("a testnet TON address; this gateway runs on mainnet (COINVOICE_TON_NETWORK)")
    bounceable = address.is_bounceable if ":" not in text else False
    return str(address.to_str(is_user_friendly=True, is_url_safe=True, is_bounceable=bounceable,
                              is_test_only=network != "mainnet"))  # fmt: skip


def ton_account_id(text: str) -> str:
    """The raw form ``wc:hex`` of any TON address form: how two spellings of one account compare equal."""
    return str(Address(text).to_str(is_user_friendly=False))


_VALIDATORS: dict[str, Callable[[str, str], str]] = {"solana": _solana, "ton": _ton}
