"""One Settings object read from the environment (COINVOICE_*, DATABASE_URL); passed explicitly."""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import unquote, urlsplit

from coinvoice.domain.assets import CHAINS, COMPANY_ASSETS, INVOICE_CURRENCIES, PAYMENT_ASSETS, UNSUPPORTED_ASSETS
from coinvoice.domain.fees import FeePolicy
from coinvoice.domain.network_fees import FALLBACK_NETWORK_FEES

NETWORKS = ("mainnet", "testnet", "regtest")
DEFAULT_EXPLORERS = {
    "bitcoin": "https://mempool.space/tx/{txid}",
    "litecoin": "https://litecoinspace.org/tx/{txid}",
    "bitcoincash": "https://blockchair.com/bitcoin-cash/transaction/{txid}",
    "ethereum": "https://etherscan.io/tx/{txid}",
    "bsc": "https://bscscan.com/tx/{txid}",
    "tron": "https://tronscan.org/#/transaction/{txid}",
    "solana": "https://solscan.io/tx/{txid}",
    "ton": "https://tonviewer.com/transaction/{txid}",
}
DEFAULT_EXPIRY_MINUTES = {"default": 30, "btc": 120}
DEFAULT_CONFIRMATIONS = {
    "default": 6,
    "btc": 2,
    "ltc": 6,
    "bch": 6,
    "eth": 12,
    "usdterc20": 12,
    "usdc": 12,
    "bnb": 15,
    "trx": 19,  # TRON's solidification depth: a block is irreversible once 19 of 27 producers built on it
    "trc20usdt": 19,
    "sol": 1,  # counted from the finalized slot: 1 = finalized
    "ton": 1,  # counted from the masterchain block: TON finalizes at once
}
DEFAULT_FEE = FeePolicy(Decimal("1"), Decimal("0"))
#: Rate providers by name, with the public base URL each one's documented path is appended to.
RATE_PROVIDER_URLS = {
    "kraken": "https://api.kraken.com",
    "binance": "https://api.binance.com",
    "coinbase": "https://api.coinbase.com",
    "coingecko": "https://api.coingecko.com",
}
RATE_PROVIDERS = ("fixed", *RATE_PROVIDER_URLS)
#: Every currency a rate can be asked for: invoice currencies and the assets payers send.
RATE_CURRENCIES = tuple(
    dict.fromkeys((*INVOICE_CURRENCIES, *(a for a in COMPANY_ASSETS if a not in UNSUPPORTED_ASSETS)))
)


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the variable."""


@dataclass(frozen=True, slots=True)
class ChainSettings:
    network: str = "mainnet"
    rpc_url: str | None = None
    poll_seconds: float = 5.0
    explorer_tx_url: str = ""
    #: EIP-155 id the node must answer (EVM chains); None for chains without one
    chain_id: int | None = None
    #: EVM: find native value sent by contracts through the node's trace API
    internal_transfers: bool = True
    #: HTTP-API chains: the provider's API key (TRON: TRON-PRO-API-KEY, TON: X-API-Key); never shown in repr
    api_key: str | None = field(default=None, repr=False)
    #: HTTP-API chains (TRON): most requests per second sent to the node; 0 means no limit
    max_requests_per_second: float = 10.0


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where invoices and receipts are emailed from: COINVOICE_SMTP_URL (smtp://user:pass@host:port, or smtps://
    for TLS from the start), COINVOICE_SMTP_SECURITY (starttls | tls | none), COINVOICE_SMTP_FROM, and
    COINVOICE_SMTP_CA_FILE (PEM certificates to trust besides the system's, e.g. a private CA or a self-signed
    server certificate; the server's certificate and host name are always verified)."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    security: str = "starttls"
    sender: str = "coinvoice@localhost"
    timeout_seconds: float = 30.0
    retry_base_seconds: float = 30.0
    max_attempts: int = 10
    ca_file: str | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = "http://127.0.0.1:8080"
    data_dir: Path = Path(".data")
    chains: Mapping[str, ChainSettings] = field(default_factory=dict)
    rates_providers: tuple[str, ...] = ("fixed",)
    fixed_rates: Mapping[tuple[str, str], Decimal] = field(default_factory=dict)
    fees: Mapping[str, FeePolicy] = field(default_factory=lambda: {"default": DEFAULT_FEE})
    expiry_minutes: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_EXPIRY_MINUTES))
    confirmations: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_CONFIRMATIONS))
    late_payment_hours: float = 24.0
    #: how long an any-amount invoice stays open for deposits once filled (unless the merchant closes it first)
    unlimited_open_hours: float = 720.0
    #: blocks below the tip a chain watcher starts from when it has no cursor yet
    chain_lookback_blocks: int = 6
    webhook_allow_private: bool = False
    #: reverse proxies whose X-Forwarded-For names the client (COINVOICE_TRUSTED_PROXIES; see net/client_ip.py)
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    access_log: bool = True  # one line per HTTP request (COINVOICE_ACCESS_LOG)
    # webhook sender: request timeout, retry backoff (base doubling to max, with jitter) for a window
    webhook_timeout_seconds: float = 10.0
    webhook_retry_base_seconds: float = 60.0
    webhook_retry_max_seconds: float = 3600.0
    webhook_retry_window_hours: float = 72.0
    webhook_poll_seconds: float = 5.0
    webhook_concurrency: int = 32
    #: requests in flight to one merchant's endpoint at most, so that a slow or dead endpoint cannot hold
    #: every slot and delay other merchants' deliveries
    webhook_endpoint_concurrency: int = 16
    #: delivered rows are deleted (with their attempts) this many days after delivery; 0 keeps them forever
    webhook_retention_days: float = 30.0
    master_key: bytes = b""
    expiry_batch: int = 500
    smtp: SmtpSettings | None = None
    #: payment asset code -> token contract (usdterc20, usdc, trc20usdt); empty means the mainnet defaults
    token_contracts: Mapping[str, str] = field(default_factory=dict)
    # rates: the cache refresh, what counts as fresh and agreed, per-asset spreads, stablecoin pegs
    rates_urls: Mapping[str, str] = field(default_factory=lambda: dict(RATE_PROVIDER_URLS))
    rates_api_keys: Mapping[str, str] = field(default_factory=dict)
    rates_refresh_seconds: float = 30.0
    rates_max_age_seconds: float = 300.0
    rates_min_sources: int = 1
    rates_max_deviation_percent: Decimal = Decimal(3)
    #: an observation this many times above or below the source's last good one is absurd and ignored
    rates_max_change_factor: Decimal = Decimal(2)
    rates_spread_percent: Mapping[str, Decimal] = field(default_factory=dict)
    rates_timeout_seconds: float = 5.0
    #: currency -> the currency it is worth exactly one of (e.g. usdt -> usd), only when the merchant says so
    rates_pegs: Mapping[str, str] = field(default_factory=dict)
    # network fees the payer covers: at most this percent of the converted total (0: none)
    network_fee_max_percent: Decimal = Decimal(5)
    #: payment asset -> the network fee used without an estimate, in its chain's native coin
    network_fee_fallback: Mapping[str, Decimal] = field(default_factory=dict)

    def chain(self, name: str) -> ChainSettings:
        return self.chains.get(name) or ChainSettings(
            explorer_tx_url=DEFAULT_EXPLORERS.get(name, ""), chain_id=CHAINS[name].networks["mainnet"].chain_id
        )

    def tokens_of(self, chain: str) -> dict[str, str]:
        """Token payment asset code -> contract on ``chain``'s network (configured, else the mainnet defaults)."""
        spec = CHAINS[chain]
        network = self.chain(chain).network
        codes = [a.code for a in PAYMENT_ASSETS.values() if a.chain == chain and a.is_token]
        found = {code: spec.token_contract(code, network, self.token_contracts) for code in codes}
        return {code: contract for code, contract in found.items() if contract}

    def _per_asset(self, table: Mapping[str, object], payment_asset: str) -> object:
        asset = PAYMENT_ASSETS[payment_asset].asset if payment_asset in PAYMENT_ASSETS else payment_asset
        for key in (payment_asset, asset, "default"):
            if key in table:
                return table[key]
        raise KeyError(payment_asset)

    def expiry_for(self, payment_asset: str) -> int:
        return int(self._per_asset({**DEFAULT_EXPIRY_MINUTES, **self.expiry_minutes}, payment_asset))  # type: ignore[call-overload]

    def confirmations_for(self, payment_asset: str) -> int:
        return int(self._per_asset({**DEFAULT_CONFIRMATIONS, **self.confirmations}, payment_asset))  # type: ignore[call-overload]

    def fee_for(self, payment_asset: str) -> FeePolicy:
        fee = self._per_asset({"default": DEFAULT_FEE, **self.fees}, payment_asset)
        assert isinstance(fee, FeePolicy)
        return fee

    def spread_for(self, payment_asset: str) -> Decimal:
        """The merchant's spread in percent for an asset or payment asset (0 unless configured)."""
        spread = self._per_asset({"default": Decimal(0), **self.rates_spread_percent}, payment_asset)
        assert isinstance(spread, Decimal)
        return spread

    def network_fee_fallback_for(self, payment_asset: str) -> Decimal:
        """The documented constant (or the configured override) for a payment asset without an estimate."""
        return self.network_fee_fallback.get(payment_asset, FALLBACK_NETWORK_FEES[payment_asset])

    @property
    def network_rate_providers(self) -> tuple[str, ...]:
        """The configured providers that are fetched over the network by the refresh job."""
        return tuple(p for p in self.rates_providers if p != "fixed")


def _json(env: Mapping[str, str], name: str) -> object:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = json.loads(raw, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):  # every JSON setting is an object; `[]` or `0` must not mean "defaults"
        raise ConfigError(f"{name} must be a JSON object, not {type(value).__name__}")
    return value


def _decimal(name: str, value: object) -> Decimal:
    try:
        d = Decimal(str(value))
    except InvalidOperation as exc:
        raise ConfigError(f"{name}: {value!r} is not a number") from exc
    if not d.is_finite() or d < 0:
        raise ConfigError(f"{name}: {value!r} must be a finite number >= 0")
    return d


def _int_table(env: Mapping[str, str], name: str) -> dict[str, int]:
    table = _json(env, name) or {}
    if not isinstance(table, dict) or not all(type(v) is int and v >= 0 for v in table.values()):
        raise ConfigError(f'{name} must be a JSON object of whole numbers, e.g. {{"default": 30, "btc": 120}}')
    return {str(k).lower(): int(v) for k, v in table.items()}


def _fixed_rates(env: Mapping[str, str]) -> dict[tuple[str, str], Decimal]:
    table = _json(env, "COINVOICE_FIXED_RATES") or {}
    if not isinstance(table, dict):
        raise ConfigError('COINVOICE_FIXED_RATES must be a JSON object like {"eur/ltc": "0.0125"}')
    rates = {}
    for pair, value in table.items():
        left, sep, right = str(pair).lower().partition("/")
        if not sep or not left or not right:
            raise ConfigError(f"COINVOICE_FIXED_RATES: {pair!r} is not a pair like 'eur/ltc'")
        rate = _decimal(f"COINVOICE_FIXED_RATES[{pair}]", value)
        if rate == 0:
            raise ConfigError(f"COINVOICE_FIXED_RATES[{pair}] must be greater than 0")
        rates[(left, right)] = rate
    return rates


def _token_contracts(env: Mapping[str, str]) -> dict[str, str]:
    table = _json(env, "COINVOICE_TOKEN_CONTRACTS") or {}
    if not isinstance(table, dict) or not all(isinstance(v, str) and v for v in table.values()):
        raise ConfigError('COINVOICE_TOKEN_CONTRACTS must be a JSON object like {"usdterc20": "0x..."}')
    return {str(k).lower(): v.strip() for k, v in table.items()}


def _fees(env: Mapping[str, str]) -> dict[str, FeePolicy]:
    table = _json(env, "COINVOICE_FEES") or {}
    if not isinstance(table, dict):
        raise ConfigError('COINVOICE_FEES must be a JSON object like {"default": {"percent": "1", "fixed": "0"}}')
    fees = {"default": DEFAULT_FEE}
    for asset, spec in table.items():
        if not isinstance(spec, dict):
            raise ConfigError(f"COINVOICE_FEES[{asset}] must be an object with percent and fixed")
        fees[str(asset).lower()] = FeePolicy(
            _decimal(f"COINVOICE_FEES[{asset}].percent", spec.get("percent", 0)),
            _decimal(f"COINVOICE_FEES[{asset}].fixed", spec.get("fixed", 0)),
        )
    return fees


def _rates_providers(env: Mapping[str, str]) -> tuple[str, ...]:
    raw = env.get("COINVOICE_RATES_PROVIDERS", "fixed")
    providers = tuple(p.strip().lower() for p in raw.split(",") if p.strip())
    if not providers:
        raise ConfigError("COINVOICE_RATES_PROVIDERS must name at least one provider")
    for name in providers:
        if name not in RATE_PROVIDERS:
            raise ConfigError(
                f"COINVOICE_RATES_PROVIDERS: unknown provider {name!r} (known: {', '.join(RATE_PROVIDERS)})"
            )
    if len(set(providers)) != len(providers):
        raise ConfigError("COINVOICE_RATES_PROVIDERS names a provider twice")
    return providers


def _rates_urls(env: Mapping[str, str]) -> dict[str, str]:
    urls = {}
    for name, default in RATE_PROVIDER_URLS.items():
        var = f"COINVOICE_RATES_{name.upper()}_URL"
        url = (env.get(var) or default).strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"{var} must be an http(s) URL, not {url!r}")
        urls[name] = url
    return urls


def _rates_api_keys(env: Mapping[str, str]) -> dict[str, str]:
    keys = {}
    for name in RATE_PROVIDER_URLS:
        if key := env.get(f"COINVOICE_RATES_{name.upper()}_API_KEY", "").strip():
            keys[name] = key
    return keys


def _rates_min_sources(env: Mapping[str, str], providers: tuple[str, ...]) -> int:
    default = 2 if len(providers) > 1 else 1
    raw = env.get("COINVOICE_RATES_MIN_SOURCES", str(default)).strip()
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError("COINVOICE_RATES_MIN_SOURCES must be a whole number >= 1")
    if int(raw) > len(providers):
        raise ConfigError(
            f"COINVOICE_RATES_MIN_SOURCES is {raw} but COINVOICE_RATES_PROVIDERS names only {len(providers)}: "
            "no rate could ever be quoted"
        )
    return int(raw)


def _percent(env: Mapping[str, str], name: str, default: str, maximum: Decimal = Decimal(100)) -> Decimal:
    value = _decimal(name, env.get(name, default).strip() or default)
    if value > maximum:
        raise ConfigError(f"{name} must be at most {maximum}")
    return value


def _asset_key(name: str, key: object) -> str:
    code = str(key).lower()
    if code != "default" and code not in PAYMENT_ASSETS and code not in RATE_CURRENCIES:
        raise ConfigError(f"{name}: {key!r} is not an asset, a payment currency or 'default'")
    return code


def _spreads(env: Mapping[str, str]) -> dict[str, Decimal]:
    name = "COINVOICE_RATES_SPREAD_PERCENT"
    table = _json(env, name) or {}
    assert isinstance(table, dict)
    spreads = {}
    for key, value in table.items():
        spread = _decimal(f"{name}[{key}]", value)
        if spread >= 50:
            raise ConfigError(f"{name}[{key}] must be below 50 (percent)")
        spreads[_asset_key(name, key)] = spread
    return spreads


def _pegs(env: Mapping[str, str]) -> dict[str, str]:
    name = "COINVOICE_RATES_PEGS"
    table = _json(env, name) or {}
    assert isinstance(table, dict)
    pegs = {}
    for key, value in table.items():
        pegged, target = str(key).lower(), str(value).lower()
        if pegged not in RATE_CURRENCIES or target not in RATE_CURRENCIES or pegged == target:
            raise ConfigError(f'{name} must map a currency to another, like {{"usdt": "usd"}}, not {key!r}: {value!r}')
        pegs[pegged] = target
    if any(target in pegs for target in pegs.values()):
        raise ConfigError(f"{name}: a currency cannot be pegged to one that is itself pegged")
    return pegs


def _network_fee_fallback(env: Mapping[str, str]) -> dict[str, Decimal]:
    name = "COINVOICE_NETWORK_FEE_FALLBACK"
    table = _json(env, name) or {}
    assert isinstance(table, dict)
    fees = {}
    for key, value in table.items():
        code = str(key).lower()
        if code not in PAYMENT_ASSETS:
            raise ConfigError(f"{name}: {key!r} is not a payment currency ({', '.join(PAYMENT_ASSETS)})")
        fees[code] = _decimal(f"{name}[{key}]", value)
    return fees


def _factor(env: Mapping[str, str], name: str, default: str) -> Decimal:
    value = _decimal(name, env.get(name, default).strip() or default)
    if value <= 1:
        raise ConfigError(f"{name} must be greater than 1")
    return value


def _chains(env: Mapping[str, str]) -> dict[str, ChainSettings]:
    chains = {}
    for chain in CHAINS.values():
        prefix = f"COINVOICE_{chain.code}_"
        network = env.get(prefix + "NETWORK", "mainnet").strip().lower()
        if network not in NETWORKS:
            raise ConfigError(f"{prefix}NETWORK must be one of {', '.join(NETWORKS)}, not {network!r}")
        poll = env.get(prefix + "POLL_SECONDS", "5")
        try:
            poll_seconds = float(poll)  # a duration, not money
        except ValueError as exc:
            raise ConfigError(f"{prefix}POLL_SECONDS must be a number of seconds") from exc
        explorer = env.get(prefix + "EXPLORER_TX_URL", DEFAULT_EXPLORERS[chain.name])
        chain_id = chain.networks[network].chain_id
        if chain_id is not None and (raw := env.get(prefix + "CHAIN_ID", "").strip()):
            if not raw.isdigit() or int(raw) == 0:
                raise ConfigError(f"{prefix}CHAIN_ID must be a positive whole number (an EIP-155 chain id)")
            chain_id = int(raw)
        internal = _flag(env, prefix + "INTERNAL_TRANSFERS", default=True)
        rate = env.get(prefix + "MAX_REQUESTS_PER_SECOND", "10")
        try:
            max_rps = float(rate)  # a request rate, not money
        except ValueError:
            max_rps = -1.0
        if not max_rps >= 0 or max_rps == float("inf"):
            raise ConfigError(f"{prefix}MAX_REQUESTS_PER_SECOND must be a number >= 0 (0: no limit), not {rate!r}")
        chains[chain.name] = ChainSettings(
            network,
            env.get(prefix + "RPC_URL") or None,
            poll_seconds,
            explorer,
            chain_id,
            internal,
            api_key=env.get(prefix + "API_KEY", "").strip() or None,
            max_requests_per_second=max_rps,
        )
    return chains


def _flag(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in ("1", "true", "yes", "0", "false", "no"):
        raise ConfigError(f"{name} must be true or false, not {raw!r}")
    return raw in ("1", "true", "yes")


def _trusted_proxies(env: Mapping[str, str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """COINVOICE_TRUSTED_PROXIES: comma-separated addresses or CIDR blocks (``10.0.0.0/8, ::1``); empty: none."""
    out = []
    for part in env.get("COINVOICE_TRUSTED_PROXIES", "").split(","):
        if part := part.strip():
            try:
                out.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                raise ConfigError(
                    f"COINVOICE_TRUSTED_PROXIES: {part!r} is not an IP address or CIDR block (e.g. 10.0.0.0/8)"
                ) from None
    return tuple(out)


def _master_key(env: Mapping[str, str], data_dir: Path) -> bytes:
    raw = env.get("COINVOICE_MASTER_KEY")
    if raw:
        return raw.encode()
    path = data_dir / "master.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()


def _hours(env: Mapping[str, str], name: str, default: str, unit: str = "hours") -> float:
    try:
        value = float(env.get(name, default))  # an interval in hours or seconds, not money
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number of {unit}") from exc
    if not value > 0:
        raise ConfigError(f"{name} must be a positive number of {unit}")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    return _hours(env, name, str(default), unit="seconds")


def _count(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = env.get(name, str(default)).strip()
    if not raw.isdigit() or not raw.isascii() or int(raw) < minimum:
        raise ConfigError(f"{name} must be a whole number >= {minimum}")
    return int(raw)


def _retention_days(env: Mapping[str, str]) -> float:
    name = "COINVOICE_WEBHOOK_RETENTION_DAYS"
    try:
        value = float(env.get(name, "30"))  # a duration in days, not money
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number of days (0: keep delivered webhooks forever)") from exc
    if not value >= 0 or value == float("inf"):
        raise ConfigError(f"{name} must be a number of days >= 0 (0: keep delivered webhooks forever)")
    return value


def _lookback(env: Mapping[str, str]) -> int:
    raw = env.get("COINVOICE_CHAIN_LOOKBACK_BLOCKS", "6")
    if not raw.strip().isdigit():
        raise ConfigError("COINVOICE_CHAIN_LOOKBACK_BLOCKS must be a whole number of blocks >= 0")
    return int(raw)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read every setting from ``env`` (default: the process environment)."""
    env = os.environ if env is None else env
    data_dir = Path(env.get("COINVOICE_DATA_DIR", ".data")).resolve()
    host = env.get("COINVOICE_HOST", "127.0.0.1")
    try:
        port = int(env.get("COINVOICE_PORT", "8080"))
    except ValueError as exc:
        raise ConfigError("COINVOICE_PORT must be a whole number") from exc
    providers = _rates_providers(env)
    refresh = _seconds(env, "COINVOICE_RATES_REFRESH_SECONDS", 30.0)
    max_age = _seconds(env, "COINVOICE_RATES_MAX_AGE_SECONDS", 300.0)
    if max_age <= refresh:
        raise ConfigError(
            "COINVOICE_RATES_MAX_AGE_SECONDS must be longer than COINVOICE_RATES_REFRESH_SECONDS, "
            "or every rate goes stale between two refreshes"
        )
    return Settings(
        database_url=env.get("DATABASE_URL") or None,
        host=host,
        port=port,
        public_url=env.get("COINVOICE_PUBLIC_URL", f"http://{host}:{port}").rstrip("/"),
        data_dir=data_dir,
        chains=_chains(env),
        rates_providers=providers,
        fixed_rates=_fixed_rates(env),
        fees=_fees(env),
        expiry_minutes={**DEFAULT_EXPIRY_MINUTES, **_int_table(env, "COINVOICE_EXPIRY_MINUTES")},
        confirmations={**DEFAULT_CONFIRMATIONS, **_int_table(env, "COINVOICE_CONFIRMATIONS")},
        late_payment_hours=_hours(env, "COINVOICE_LATE_PAYMENT_HOURS", "24"),
        unlimited_open_hours=_hours(env, "COINVOICE_UNLIMITED_OPEN_HOURS", "720"),
        chain_lookback_blocks=_lookback(env),
        webhook_allow_private=env.get("COINVOICE_WEBHOOK_ALLOW_PRIVATE", "").lower() in ("1", "true", "yes"),
        trusted_proxies=_trusted_proxies(env),
        access_log=_flag(env, "COINVOICE_ACCESS_LOG", default=True),
        webhook_timeout_seconds=_seconds(env, "COINVOICE_WEBHOOK_TIMEOUT_SECONDS", 10.0),
        webhook_retry_base_seconds=_seconds(env, "COINVOICE_WEBHOOK_RETRY_BASE_SECONDS", 60.0),
        webhook_retry_max_seconds=_seconds(env, "COINVOICE_WEBHOOK_RETRY_MAX_SECONDS", 3600.0),
        webhook_retry_window_hours=_hours(env, "COINVOICE_WEBHOOK_RETRY_WINDOW_HOURS", "72"),
        webhook_concurrency=_count(env, "COINVOICE_WEBHOOK_CONCURRENCY", 32, minimum=1),
        webhook_endpoint_concurrency=_count(env, "COINVOICE_WEBHOOK_ENDPOINT_CONCURRENCY", 16, minimum=1),
        webhook_retention_days=_retention_days(env),
        master_key=_master_key(env, data_dir),
        token_contracts=_token_contracts(env),
        rates_urls=_rates_urls(env),
        rates_api_keys=_rates_api_keys(env),
        rates_refresh_seconds=refresh,
        rates_max_age_seconds=max_age,
        rates_min_sources=_rates_min_sources(env, providers),
        rates_max_deviation_percent=_percent(env, "COINVOICE_RATES_MAX_DEVIATION_PERCENT", "3"),
        rates_max_change_factor=_factor(env, "COINVOICE_RATES_MAX_CHANGE_FACTOR", "2"),
        rates_spread_percent=_spreads(env),
        rates_timeout_seconds=_seconds(env, "COINVOICE_RATES_TIMEOUT_SECONDS", 5.0),
        rates_pegs=_pegs(env),
        network_fee_max_percent=_percent(env, "COINVOICE_NETWORK_FEE_MAX_PERCENT", "5"),
        network_fee_fallback=_network_fee_fallback(env),
        smtp=_smtp(env),
    )


def _smtp(env: Mapping[str, str]) -> SmtpSettings | None:
    raw = (env.get("COINVOICE_SMTP_URL") or "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigError("COINVOICE_SMTP_URL must look like smtp://user:pass@host:port (or smtps://)")
    default_security = "tls" if parts.scheme == "smtps" else "starttls"
    security = (env.get("COINVOICE_SMTP_SECURITY") or default_security).strip().lower()
    if security not in ("starttls", "tls", "none"):
        raise ConfigError("COINVOICE_SMTP_SECURITY must be starttls, tls or none")
    try:
        port = parts.port or (465 if security == "tls" else 587)
    except ValueError as exc:
        raise ConfigError("COINVOICE_SMTP_URL has an invalid port") from exc
    return SmtpSettings(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        security=security,
        sender=(env.get("COINVOICE_SMTP_FROM") or f"coinvoice@{parts.hostname}").strip(),
        retry_base_seconds=_seconds(env, "COINVOICE_SMTP_RETRY_BASE_SECONDS", 30.0),
        ca_file=_smtp_ca_file(env),
    )


def _smtp_ca_file(env: Mapping[str, str]) -> str | None:
    raw = (env.get("COINVOICE_SMTP_CA_FILE") or "").strip()
    if raw and not Path(raw).is_file():
        raise ConfigError(f"COINVOICE_SMTP_CA_FILE: no such file {raw!r}")
    return raw or None
