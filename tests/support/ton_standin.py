"""A STAND-IN for the toncenter HTTP API v2, for tests: no TON node or liteserver can be installed here (none is
packaged on PyPI, npm or Debian), so this serves what the gateway reads (`getTransactions`,
`getMasterchainInfo`) from transactions made of real cells.

A payer's wallet (`TonWallet`, wallet v4r2, ed25519 keys) signs external messages with pytoniq-core; `sendBoc`
checks them as the wallet contract would (its address is the hash of its StateInit, the signature over the
cell hash, subwallet id, seqno, expiry) and delivers each internal message it carries. The receiving account gets
an ordinary transaction whose in_msg is that message cell (source, value and comment as the payer signed
them), serialized by TL-B (`transaction$0111 … description:^TransactionDescr`) so that pytoniq-core reads it
back, hash and all. An active wallet accepts the value; an account not deployed yet keeps the value of a
non-bounceable message (compute phase skipped, aborted) and bounces a bounceable one back (bounce phase, and
the sender receives it with the `bounced` flag). There is no TVM: the wallet logic above is the stand-in's.
Each `sendBoc` makes a masterchain block. `stop()` refuses connections until `start()` brings it back on the same
port with its ledger intact; `drop()` forgets a transaction.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from bip_utils.ton.addr.ton_v4_addr_encoder import TonV4AddrEncoderConst
from nacl.signing import SigningKey, VerifyKey
from pytoniq_core import Address, Cell, HashMap, MessageAny, Slice, begin_cell

from tests.support.threaded_http import JsonHandler, ThreadedServer

NANOTONS = 1_000_000_000
WALLET_ID = 698983191  # wallet v4r2's default subwallet id on workchain 0
FORWARD_FEE = 400_000  # what delivering one internal message costs the sender, in nanotons
STATUS_BITS = {"uninit": "00", "frozen": "01", "active": "10", "nonexist": "11"}


@dataclass
class Account:
    """One account as the stand-in keeps it."""

    address: Address
    balance: int = 0
    state: str = "nonexist"
    public_key: bytes | None = None
    seqno: int = 0
    transactions: list[dict[str, Any]] = field(default_factory=list)  # v2 JSON, oldest first
    last_lt: int = 0
    last_hash: bytes = bytes(32)


class TonStandIn:
    """The toncenter v2 API over an in-memory ledger; see the module docstring."""

    def __init__(self, *, testnet: bool = True, api_key: str | None = None) -> None:
        self.testnet = testnet
        self.api_key = api_key
        self.accounts: dict[str, Account] = {}
        self.lt = 40_000_000_000_000
        self.seqno = 30_000_000
        self.requests: list[tuple[str, dict[str, str], str | None]] = []  # method, query, X-API-Key
        self._lock = threading.RLock()
        self.http = ThreadedServer()

    # --- network ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http.port}/api/v2"

    def start(self) -> None:
        standin = self

        class Handler(JsonHandler):
            def do_GET(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(parts.query))
                self.answer(*standin.handle(parts.path, query, self.headers.get("X-API-Key")))

            def do_POST(self) -> None:
                self.answer(*standin.handle(self.path, self.json_body(), self.headers.get("X-API-Key")))

        self.http.serve(Handler)

    def stop(self) -> None:
        """Off the network: new connections are refused until start()."""
        self.http.stop()

    # --- what a test does to the chain -------------------------------------------------------------

    def account(self, address: str | Address) -> Account:
        parsed = address if isinstance(address, Address) else Address(address)
        key = parsed.to_str(is_user_friendly=False)
        if key not in self.accounts:
            self.accounts[key] = Account(parsed)
        return self.accounts[key]

    def faucet(self, address: str, nanotons: int) -> None:
        """Value out of nowhere (genesis-style, no transaction): the account exists, not deployed."""
        with self._lock:
            acc = self.account(address)
            acc.balance += nanotons
            if acc.state == "nonexist":
                acc.state = "uninit"

    def drop(self, tx_hash_hex: str) -> None:
        """Forget a transaction, as if the node no longer had it."""
        with self._lock:
            for acc in self.accounts.values():
                acc.transactions = [t for t in acc.transactions if _hex(t["transaction_id"]["hash"]) != tx_hash_hex]

    def friendly(self, address: Address, bounceable: bool = True) -> str:
        return address.to_str(
            is_user_friendly=True, is_url_safe=True, is_bounceable=bounceable, is_test_only=self.testnet
        )

    # --- the API -----------------------------------------------------------------------------------

    def handle(self, path: str, params: dict[str, Any], api_key: str | None) -> tuple[int, dict[str, Any]]:
        method = path.rsplit("/", 1)[-1]
        with self._lock:
            self.requests.append((method, {k: str(v) for k, v in params.items()}, api_key))
            if self.api_key is not None and api_key != self.api_key:
                return 401, {"ok": False, "error": "API key does not exist", "code": 401}
            handler = getattr(self, f"_api_{method}", None)
            if handler is None:
                return 404, {"ok": False, "error": "Not Found", "code": 404}
            try:
                return 200, {"ok": True, "result": handler(**params), "@extra": f"{time.time()}:0:0.5"}
            except ApiError as exc:
                return exc.code, {"ok": False, "error": str(exc), "code": exc.code}

    def _api_getMasterchainInfo(self) -> dict[str, Any]:
        return {
            "@type": "blocks.masterchainInfo",
            "last": _block_id(self.seqno),
            "state_root_hash": base64.b64encode(bytes(32)).decode(),
            "init": _block_id(0),
        }

    def _api_getTransactions(
        self, address: str, limit: str = "10", lt: str | None = None, hash: str | None = None, to_lt: str = "0",
        archival: str = "false",
    ) -> list[dict[str, Any]]:  # fmt: skip
        if int(limit) > 100:
            raise ApiError(416, "limit must be at most 100")
        if (lt is None) != (hash is None):
            raise ApiError(422, "lt and hash must be sent together")
        txs = list(reversed(self.account(address).transactions))
        if lt is not None:
            start = [i for i, t in enumerate(txs) if int(t["transaction_id"]["lt"]) == int(lt)]
            if not start or _hex(txs[start[0]]["transaction_id"]["hash"]) != _hex(hash or ""):
                raise ApiError(
                    500, "LITE_SERVER_UNKNOWN: cannot locate transaction in block with specified logical time"
                )
            txs = txs[start[0] :]
        txs = [t for t in txs if int(t["transaction_id"]["lt"]) > int(to_lt)]
        return txs[: int(limit)]

    def _api_sendBoc(self, boc: str) -> dict[str, Any]:
        message = MessageAny.deserialize(Cell.one_from_boc(base64.b64decode(boc)).begin_parse())
        if not message.is_external:
            raise ApiError(500, "not an external inbound message")
        self._run_wallet(message)
        self.seqno += 1  # a new masterchain block commits it
        return {"@type": "ok"}

    # --- the wallet contract, as the stand-in plays it ----------------------------------------------

    def _run_wallet(self, external: MessageAny) -> None:
        acc = self.account(external.info.dest)
        if acc.state != "active":
            if external.init is None:
                raise ApiError(500, "external message to an account that is not deployed, without StateInit")
            if external.init.serialize().hash != acc.address.hash_part:
                raise ApiError(500, "StateInit does not hash to the destination address")
            data = external.init.data.begin_parse()
            data.skip_bits(64)  # seqno, subwallet id
            acc.public_key, acc.state = data.load_bytes(32), "active"
        body = external.body.begin_parse()
        signature = body.load_bytes(64)
        signed = body.copy().to_cell()
        try:
            VerifyKey(acc.public_key).verify(signed.hash, signature)
        except Exception as exc:
            raise ApiError(500, f"signature check failed: {exc}") from None
        subwallet, valid_until, seqno = body.load_uint(32), body.load_uint(32), body.load_uint(32)
        if subwallet != WALLET_ID or valid_until < time.time() or seqno != acc.seqno or body.load_uint(8) != 0:
            raise ApiError(500, "wallet refused the message (subwallet, expiry, seqno or op)")
        outgoing = []
        while body.remaining_refs:
            body.load_uint(8)  # send mode
            relaxed = MessageAny.deserialize(body.load_ref().begin_parse())
            value = relaxed.info.value_coins
            if acc.balance < value + FORWARD_FEE:
                raise ApiError(500, "not enough balance")
            acc.balance -= value + FORWARD_FEE
            outgoing.append(self._internal(acc.address, relaxed.info.dest, value, relaxed.info.bounce, relaxed.body))
        acc.seqno += 1
        self._record(acc, external, outgoing, credit=None, compute="vm", aborted=False, bounce=False, orig="active")
        for message in outgoing:
            self._deliver(message)

    def _deliver(self, message: MessageAny) -> None:
        acc = self.account(message.info.dest)
        value, orig = message.info.value_coins, acc.state
        if acc.state == "active":
            acc.balance += value
            self._record(acc, message, [], credit=value, compute="vm", aborted=False, bounce=False, orig=orig)
        elif message.info.bounce and not message.info.bounced:
            back = self._internal(acc.address, message.info.src, value - FORWARD_FEE, False, begin_cell().end_cell())
            back.info.bounced = True
            self._record(acc, message, [back], credit=None, compute="skipped", aborted=True, bounce=True, orig=orig)
            self._deliver(back)
        else:
            acc.balance += value
            acc.state = "uninit"
            self._record(acc, message, [], credit=value, compute="skipped", aborted=True, bounce=False, orig=orig)

    def _internal(self, src: Address, dest: Address, value: int, bounce: bool, body: Cell) -> MessageAny:
        from pytoniq_core import CurrencyCollection, InternalMsgInfo

        self.lt += 1
        info = InternalMsgInfo(
            True, bounce, False, src, dest, CurrencyCollection(value), 0, FORWARD_FEE, self.lt, int(time.time())
        )
        return MessageAny(info, None, body)

    def _record(
        self, acc: Account, in_msg: MessageAny, out_msgs: list[MessageAny], *, credit: int | None, compute: str,
        aborted: bool, bounce: bool, orig: str,
    ) -> None:  # fmt: skip
        self.lt += 1
        now = int(time.time())
        cell = transaction_cell(
            acc.address.hash_part, self.lt, acc.last_hash, acc.last_lt, now, orig, acc.state, in_msg, out_msgs,
            credit=credit, compute=compute, aborted=aborted, bounce=bounce,
        )  # fmt: skip
        acc.last_lt, acc.last_hash = self.lt, cell.hash
        acc.transactions.append(
            {
                "@type": "ext.transaction",
                "address": {"@type": "accountAddress", "account_address": self.friendly(acc.address)},
                "account": acc.address.to_str(is_user_friendly=False),
                "utime": now,
                "data": base64.b64encode(cell.to_boc()).decode(),
                "transaction_id": {
                    "@type": "internal.transactionId",
                    "lt": str(self.lt),
                    "hash": base64.b64encode(cell.hash).decode(),
                },
                "fee": "0",
                "storage_fee": "0",
                "other_fee": "0",
                "in_msg": self._message_json(in_msg),
                "out_msgs": [self._message_json(m) for m in out_msgs],
            }
        )

    def _message_json(self, message: MessageAny) -> dict[str, Any]:
        internal = message.is_internal
        comment = _comment(message.body)
        data = (
            {"@type": "msg.dataText", "text": base64.b64encode(comment.encode()).decode()}
            if comment is not None
            else {"@type": "msg.dataRaw", "body": base64.b64encode(message.body.to_boc()).decode(), "init_state": ""}
        )
        return {
            "@type": "ext.message",
            "hash": base64.b64encode(message.serialize().hash).decode(),
            "source": self.friendly(message.info.src) if internal else "",
            "destination": self.friendly(message.info.dest),
            "value": str(message.info.value_coins if internal else 0),
            "extra_currencies": [],
            "fwd_fee": str(message.info.fwd_fee if internal else 0),
            "ihr_fee": "0",
            "created_lt": str(message.info.created_lt if internal else 0),
            "body_hash": base64.b64encode(message.body.hash).decode(),
            "msg_data": data,
            "message": comment or "",
        }


class ApiError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def transaction_cell(
    account: bytes, lt: int, prev_hash: bytes, prev_lt: int, now: int, orig: str, end: str, in_msg: MessageAny,
    out_msgs: list[MessageAny], *, credit: int | None, compute: str, aborted: bool, bounce: bool,
) -> Cell:  # fmt: skip
    """An ordinary transaction by TL-B (block.tlb: transaction$0111, trans_ord$0000 and its phases)."""
    out = HashMap(
        key_size=15, map_=dict(enumerate(out_msgs)), value_serializer=lambda src, dest: dest.store_ref(src.serialize())
    )
    messages = begin_cell().store_maybe_ref(in_msg.serialize()).store_dict(out.serialize()).end_cell()
    state_update = begin_cell().store_uint(0x72, 8).store_bytes(bytes(32)).store_bytes(bytes(32)).end_cell()
    return (
        begin_cell()
        .store_bits("0111")
        .store_bytes(account)
        .store_uint(lt, 64)
        .store_bytes(prev_hash)
        .store_uint(prev_lt, 64)
        .store_uint(now, 32)
        .store_uint(len(out_msgs), 15)
        .store_bits(STATUS_BITS[orig])
        .store_bits(STATUS_BITS[end])
        .store_ref(messages)
        .store_coins(0)  # total_fees: CurrencyCollection, no extra currencies
        .store_bit(0)
        .store_ref(state_update)
        .store_ref(_ordinary_description(credit, compute, aborted, bounce))
        .end_cell()
    )


def _ordinary_description(credit: int | None, compute: str, aborted: bool, bounce: bool) -> Cell:
    b = begin_cell().store_bits("0000").store_bool(False)  # trans_ord, credit_first
    b.store_bit(1).store_coins(0).store_bit(0).store_bit(0)  # storage phase: no fees due, status unchanged
    if credit is None:
        b.store_bit(0)
    else:
        b.store_bit(1).store_bit(0).store_coins(credit).store_bit(0)  # credit phase: credit, no extra currencies
    if compute == "vm":
        details = (
            begin_cell().store_var_uint(1_000, 3).store_var_uint(1_000_000, 3).store_bit(0).store_int(0, 8)
            .store_int(0, 32).store_bit(0).store_uint(50, 32).store_bytes(bytes(32)).store_bytes(bytes(32)).end_cell()
        )  # fmt: skip
        b.store_bit(1).store_bool(True).store_bool(False).store_bool(False).store_coins(0).store_ref(details)
    else:
        b.store_bit(0).store_bits("00")  # tr_phase_compute_skipped, cskip_no_state
    b.store_bit(0)  # no action phase
    b.store_bool(aborted)
    if bounce:
        b.store_bit(1).store_bit(1).store_var_uint(0, 3).store_var_uint(0, 3).store_coins(0).store_coins(FORWARD_FEE)
    else:
        b.store_bit(0)
    return b.store_bool(False).end_cell()  # not destroyed


def comment_body(text: str | None) -> Cell:
    """A text comment: op 0, then the text as a snake string."""
    if text is None:
        return begin_cell().end_cell()
    return begin_cell().store_uint(0, 32).store_snake_string(text).end_cell()


def _comment(body: Cell) -> str | None:
    s: Slice = body.begin_parse()
    if s.remaining_bits < 32 or s.load_uint(32) != 0:
        return None
    try:
        return s.load_snake_string()
    except UnicodeDecodeError:
        return None


def _block_id(seqno: int) -> dict[str, Any]:
    zero = base64.b64encode(bytes(32)).decode()
    return {"@type": "ton.blockIdExt", "workchain": -1, "shard": "-9223372036854775808", "seqno": seqno,
            "root_hash": zero, "file_hash": zero}  # fmt: skip


def _hex(value: str) -> str:
    return (
        value.lower() if len(value) == 64 else base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_").hex()
    )


# --- the payer's side ----------------------------------------------------------------------------------


class TonWallet:
    """A wallet v4r2 with its own ed25519 key: signs external messages carrying payments, sends them (sendBoc)."""

    def __init__(self, standin: TonStandIn, nanotons: int = 0) -> None:
        self.standin = standin
        self.key = SigningKey.generate()
        self.public_key = bytes(self.key.verify_key)
        self.state_init = wallet_state_init(self.public_key)
        self.address = Address((0, self.state_init.serialize().hash))
        self.seqno = 0
        if nanotons:
            standin.faucet(self.friendly, nanotons)

    @property
    def friendly(self) -> str:
        return self.standin.friendly(self.address, bounceable=False)

    def deploy(self) -> None:
        """Send an external message with no payment: the wallet becomes active."""
        self._send([])

    def pay(self, to: str, nanotons: int, comment: str | None = None, *, bounce: bool = False) -> str:
        """Pay ``nanotons`` to ``to`` with a text comment; the hex hash of the receiver's new transaction."""
        from pytoniq_core import CurrencyCollection, InternalMsgInfo

        info = InternalMsgInfo(True, bounce, False, None, Address(to), CurrencyCollection(nanotons), 0, 0, 0, 0)
        self._send([MessageAny(info, None, comment_body(comment))])
        receiver = self.standin.account(to).transactions
        return _hex(receiver[-1]["transaction_id"]["hash"]) if receiver else ""

    def _send(self, messages: list[MessageAny]) -> None:
        from pytoniq_core import ExternalMsgInfo

        signed = begin_cell().store_uint(WALLET_ID, 32).store_uint(int(time.time()) + 60, 32).store_uint(self.seqno, 32)
        signed.store_uint(0, 8)
        for message in messages:
            signed.store_uint(3, 8).store_ref(message.serialize())
        signing_cell = signed.end_cell()
        signature = self.key.sign(signing_cell.hash).signature
        body = begin_cell().store_bytes(signature).store_cell(signing_cell).end_cell()
        init = self.state_init if self.seqno == 0 else None
        external = MessageAny(ExternalMsgInfo(None, self.address, 0), init, body)
        boc = base64.b64encode(external.serialize().to_boc()).decode()
        request = urllib.request.Request(
            f"{self.standin.url}/sendBoc",
            json.dumps({"boc": boc}).encode(),
            {
                "Content-Type": "application/json",
                **({"X-API-Key": self.standin.api_key} if self.standin.api_key else {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                reply = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            raise RuntimeError(json.loads(exc.read())["error"]) from None
        assert reply["ok"], reply
        self.seqno += 1


def wallet_state_init(public_key: bytes) -> Any:
    """The StateInit of a wallet v4r2 (the code bip-utils uses for TON addresses, data: seqno, subwallet, key)."""
    from pytoniq_core import StateInit

    code = Cell.one_from_boc(TonV4AddrEncoderConst.CONTRACT_CODE)
    data = begin_cell().store_uint(0, 32).store_uint(WALLET_ID, 32).store_bytes(public_key).store_bit(0).end_cell()
    return StateInit(code=code, data=data)
