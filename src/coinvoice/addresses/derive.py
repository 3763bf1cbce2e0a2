"""Watch-only deposit address derivation from account-level extended public keys (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from bip_utils import (
    Base58ChecksumError,
    Base58Decoder,
    Base58Encoder,
    BchP2PKHAddrEncoder,
    Bip32KeyNetVersions,
    Bip32Slip10Secp256k1,
    EthAddrEncoder,
    P2WPKHAddrEncoder,
    Secp256k1PublicKey,
    TrxAddrEncoder,
)

from coinvoice.domain.chains import CHAINS, NETWORKS, NetworkParams

#: Chains whose deposit addresses are derived from a merchant's account key, in registry order.
WALLET_CHAINS = tuple(c.name for c in CHAINS.values() if c.derives_addresses)
ACCOUNT_DEPTH = 3
MAX_INDEX = 2**31 - 1

# SLIP-132 version bytes. Only the network matters to us: every chain here derives one address type.
_PUBLIC_VERSIONS = {
    "xpub": "0488b21e",
    "ypub": "049d7cb2",
    "zpub": "04b24746",
    "tpub": "043587cf",
    "upub": "044a5262",
    "vpub": "045f1cf6",
    "Ltub": "019da462",
    "Mtub": "01b26ef6",
    "ttub": "0436f6e1",
}
_PRIVATE_VERSIONS = {
    "xprv": "0488ade4",
    "yprv": "049d7878",
    "zprv": "04b2430c",
    "tprv": "04358394",
    "uprv": "044a4e28",
    "vprv": "045f18bc",
    "Ltpv": "019d9cfe",
    "Mtpv": "01b26792",
    "ttpv": "0436ef7d",
}
_VERSION_NAMES = {bytes.fromhex(v): k for k, v in (_PUBLIC_VERSIONS | _PRIVATE_VERSIONS).items()}
_SERIALIZED_LEN = 78
_TEST_PREFIXES = ("tpub", "upub", "vpub", "ttub")
# BIP49 (P2SH-P2WPKH) account keys: their wallet would not scan the native-segwit addresses we derive.
_NESTED_SEGWIT = ("ypub", "upub", "Mtub")


class InvalidExtendedKey(ValueError):
    """The text given is not an account-level extended public key usable for this chain and network."""


def validate_extended_key(chain: str, network: str, key: str) -> str:
    """Check `key` for `chain`/`network` and return it re-encoded as the plain BIP32 xpub/tpub to store.

    Bitcoin-family test networks store a tpub, everything else an xpub: the form Core-family nodes
    take in descriptors, and one string per key whichever SLIP-132 prefix the merchant pasted.
    """
    raw = _decode(chain, network, key)
    canonical = "xpub" if network == "mainnet" or CHAINS[chain].family != "utxo" else "tpub"
    return Base58Encoder.CheckEncode(bytes.fromhex(_PUBLIC_VERSIONS[canonical]) + raw[4:])


def derive_address(chain: str, network: str, key: str, index: int) -> str:
    """Return the receive address <account key>/0/<index> for `chain` on `network`."""
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= MAX_INDEX:
        raise ValueError(f"derivation index must be an integer in [0, 2**31), got {index!r}")
    child = _receive_branch(chain, network, key).ChildKey(index).PublicKey()
    spec = CHAINS[chain]
    return _ENCODERS[spec.address_kind](child.KeyObject(), spec.network(network))


@lru_cache(maxsize=1024)
def _receive_branch(chain: str, network: str, key: str) -> Bip32Slip10Secp256k1:
    raw = _decode(chain, network, key)
    versions = Bip32KeyNetVersions(raw[:4], bytes.fromhex(_PRIVATE_VERSIONS["xprv"]))
    account = Bip32Slip10Secp256k1.FromExtendedKey(Base58Encoder.CheckEncode(raw), versions)
    return account.ChildKey(0)


def _decode(chain: str, network: str, key: str) -> bytes:
    """Return the 78 serialized bytes of a valid account-level public key, or raise InvalidExtendedKey."""
    if chain not in WALLET_CHAINS:
        raise ValueError(f"unknown wallet chain {chain!r}; expected one of {', '.join(WALLET_CHAINS)}")
    if network not in NETWORKS:
        raise ValueError(f"unknown network {network!r}; expected one of {', '.join(NETWORKS)}")
    accepted = CHAINS[chain].network(network).key_prefixes
    where = f"not a valid extended public key for {chain} {network}"
    text = key.strip() if isinstance(key, str) else ""
    try:
        raw = Base58Decoder.CheckDecode(text)
    except (ValueError, Base58ChecksumError):
        raise InvalidExtendedKey(f"{where}: not base58check text (mistyped or truncated?)") from None
    name = _VERSION_NAMES.get(raw[:4])
    if name in _PRIVATE_VERSIONS or (len(raw) == _SERIALIZED_LEN and raw[45] == 0):
        raise InvalidExtendedKey(
            f"private keys are not accepted (got {name or 'an extended private key'}): "
            f"export the account's extended public key ({' or '.join(accepted)}) instead"
        )
    if name not in accepted:
        got = f"a {name}" if name else f"unknown version bytes {raw[:4].hex()}"
        hint = ""
        if name in _NESTED_SEGWIT:
            hint = " (a BIP49 nested-segwit account; export the BIP84 native-segwit one)"
        elif name and (name in _TEST_PREFIXES) == (network == "mainnet"):
            hint = " (a test-network key)" if network == "mainnet" else " (a mainnet key)"
        raise InvalidExtendedKey(f"{where}: got {got}; expected {' or '.join(accepted)}{hint}")
    if len(raw) != _SERIALIZED_LEN:
        raise InvalidExtendedKey(f"{where}: {len(raw)} bytes long, an extended key has {_SERIALIZED_LEN}")
    if raw[4] != ACCOUNT_DEPTH:
        raise InvalidExtendedKey(
            f"{where}: depth {raw[4]}, expected an account-level key at depth {ACCOUNT_DEPTH} "
            "(such as m/84'/0'/0' or m/44'/60'/0')"
        )
    if not Secp256k1PublicKey.IsValidBytes(raw[45:]):
        raise InvalidExtendedKey(f"{where}: its public key is not a point on secp256k1")
    return raw


#: Public key -> address, per the chain's address kind, with the network's prefixes.
_ENCODERS: dict[str, Callable[[Secp256k1PublicKey, NetworkParams], str]] = {
    "p2wpkh": lambda key, net: P2WPKHAddrEncoder.EncodeKey(key, hrp=net.bech32_hrp),
    "cashaddr": lambda key, net: BchP2PKHAddrEncoder.EncodeKey(key, hrp=net.cashaddr_prefix, net_ver=b"\x00"),
    "eth": lambda key, net: EthAddrEncoder.EncodeKey(key),
    "trx": lambda key, net: TrxAddrEncoder.EncodeKey(key),
}
