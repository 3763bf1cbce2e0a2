"""A STAND-IN for a Solana RPC node, for tests: no Solana validator can be installed here (none is packaged on
PyPI, npm or Debian), so this serves the JSON-RPC a gateway reads around solders' LiteSVM, a real Solana runtime
running in process.

Transactions built and signed with solders (a system transfer, with a Solana Pay reference key as a read-only
account) are sent with `sendTransaction` and executed by LiteSVM: signatures, balances, fees and failures are
LiteSVM's. What LiteSVM lacks, the stand-in adds: one slot per transaction with a block time, the signatures
of each account, pre/post balances, a finalized slot that moves only when a test says so (`finalize`), and a
transaction dropped as if its fork lost (`drop`). Answers have the shapes of `solders.rpc.responses`
(`getSignaturesForAddress`, `getTransaction` jsonParsed, `getSignatureStatuses`, `getSlot`, `getLatestBlockhash`,
`getGenesisHash`, `getBalance`). `stop()` takes it off the network (connections are refused) and `start()`
brings it back on the same port with its ledger intact.
"""

from __future__ import annotations

import base64
import json
import struct
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.rpc.responses import (
    GetBalanceResp,
    GetLatestBlockhashResp,
    GetSignaturesForAddressResp,
    GetSignatureStatusesResp,
    GetTransactionResp,
    RpcBlockhash,
    RpcConfirmedTransactionStatusWithSignature,
    RpcResponseContext,
)
from solders.signature import Signature
from solders.system_program import ID as SYSTEM_PROGRAM
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata
from solders.transaction_status import (
    EncodedConfirmedTransactionWithStatusMeta,
    EncodedTransactionWithStatusMeta,
    ParsedAccountSource,
    ParsedInstruction,
    TransactionConfirmationStatus,
    TransactionStatus,
    UiLoadedAddresses,
    UiParsedMessage,
    UiPartiallyDecodedInstruction,
    UiTransaction,
    UiTransactionStatusMeta,
)
from solders.transaction_status import ParsedAccount as ParsedAccountTxStatus

from tests.support.threaded_http import JsonHandler, ThreadedServer

LAMPORTS_PER_SOL = 1_000_000_000
SYSTEM_TRANSFER = 2  # the system program's Transfer instruction index
FIRST_SLOT = 1_000


@dataclass
class Landed:
    """A transaction as the chain keeps it: its slot, time, result and balances around it."""

    tx: VersionedTransaction
    slot: int
    block_time: int
    err: Any
    fee: int
    logs: list[str]
    compute_units: int
    pre: list[int]
    post: list[int]


class SolanaStandIn:
    """LiteSVM behind a JSON-RPC server on 127.0.0.1; see the module docstring."""

    def __init__(self) -> None:
        self.svm = LiteSVM()
        self.genesis = str(Hash.new_unique())
        self.slot = FIRST_SLOT
        self.finalized = FIRST_SLOT
        self.landed: dict[str, Landed] = {}
        self.by_account: dict[str, list[str]] = {}  # oldest first
        self.requests: list[str] = []  # methods called, for tests that count node calls
        self._lock = threading.RLock()
        self.http = ThreadedServer()

    # --- network ---------------------------------------------------------------------------------

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.http.port}"

    def start(self) -> None:
        standin = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:
                self.answer(200, standin.handle(self.json_body()))

        self.http.serve(Handler)

    def stop(self) -> None:
        """Off the network: new connections are refused until start()."""
        self.http.stop()

    # --- what a test does to the chain -------------------------------------------------------------

    def airdrop(self, pubkey: Pubkey, lamports: int) -> None:
        with self._lock:
            result = self.svm.airdrop(pubkey, lamports)
            assert not isinstance(result, FailedTransactionMetadata), result

    def balance(self, pubkey: str) -> int:
        with self._lock:
            return self.svm.get_balance(Pubkey.from_string(pubkey)) or 0

    def finalize(self, slot: int | None = None) -> None:
        """Move the finalized slot (to the newest slot by default)."""
        with self._lock:
            self.finalized = self.slot if slot is None else slot

    def drop(self, signature: str) -> None:
        """Forget a confirmed, not finalized transaction, as if its fork lost (its effects stay in LiteSVM)."""
        with self._lock:
            landed = self.landed.pop(signature)
            assert landed.slot > self.finalized, "a finalized transaction cannot be dropped"
            for sigs in self.by_account.values():
                if signature in sigs:
                    sigs.remove(signature)

    def advance(self, slots: int = 1) -> None:
        """Empty slots go by."""
        with self._lock:
            self.slot += slots

    # --- JSON-RPC ----------------------------------------------------------------------------------

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        method, params, rid = request.get("method"), request.get("params") or [], request.get("id")
        with self._lock:
            self.requests.append(str(method))
            try:
                answer = getattr(self, f"_rpc_{method}")(*params)
            except AttributeError:
                return _error(rid, -32601, "Method not found")
            except RpcError as exc:
                return _error(rid, exc.code, str(exc))
        if isinstance(answer, str) and answer.startswith('{"jsonrpc"'):  # a solders response, serialized
            reply = json.loads(answer)
            reply["id"] = rid
            return reply
        return {"jsonrpc": "2.0", "result": answer, "id": rid}

    def _rpc_getGenesisHash(self) -> str:
        return self.genesis

    def _rpc_getSlot(self, config: dict[str, Any] | None = None) -> int:
        return self.finalized if (config or {}).get("commitment") == "finalized" else self.slot

    def _rpc_getLatestBlockhash(self, config: dict[str, Any] | None = None) -> str:
        value = RpcBlockhash(self.svm.latest_blockhash(), self.slot + 150)
        return GetLatestBlockhashResp(value, RpcResponseContext(self.slot)).to_json()

    def _rpc_getBalance(self, address: str, config: dict[str, Any] | None = None) -> str:
        return GetBalanceResp(self.balance(address), RpcResponseContext(self.slot)).to_json()

    def _rpc_sendTransaction(self, encoded: str, config: dict[str, Any] | None = None) -> str:
        config = config or {}
        raw = base64.b64decode(encoded) if config.get("encoding") == "base64" else _b58decode(encoded)
        tx = VersionedTransaction.from_bytes(raw)
        if not config.get("skipPreflight"):
            simulated = self.svm.simulate_transaction(tx)
            if isinstance(simulated, FailedTransactionMetadata):
                raise RpcError(-32002, f"Transaction simulation failed: {simulated.err()}")
        keys = list(tx.message.account_keys)
        pre = [self.svm.get_balance(k) or 0 for k in keys]
        result = self.svm.send_transaction(tx)
        err = result.err() if isinstance(result, FailedTransactionMetadata) else None
        if err is not None and "InstructionError" not in type(err).__name__:
            raise RpcError(-32002, f"Transaction rejected: {err}")  # never lands (bad signature, blockhash, fee)
        meta = result.meta() if isinstance(result, FailedTransactionMetadata) else result
        self.slot += 1
        landed = Landed(
            tx,
            self.slot,
            int(time.time()),
            err,
            meta.fee(),
            list(meta.logs()),
            meta.compute_units_consumed(),
            pre,
            [self.svm.get_balance(k) or 0 for k in keys],
        )
        signature = str(tx.signatures[0])
        self.landed[signature] = landed
        for key in keys:
            self.by_account.setdefault(str(key), []).append(signature)
        self.svm.expire_blockhash()
        return signature

    def _rpc_getSignaturesForAddress(self, address: str, config: dict[str, Any] | None = None) -> str:
        config = config or {}
        sigs = list(reversed(self.by_account.get(address, [])))
        if config.get("before") in sigs:
            sigs = sigs[sigs.index(config["before"]) + 1 :]
        if config.get("until") in sigs:
            sigs = sigs[: sigs.index(config["until"])]
        if config.get("commitment") == "finalized":
            sigs = [s for s in sigs if self.landed[s].slot <= self.finalized]
        items = [
            RpcConfirmedTransactionStatusWithSignature(
                Signature.from_string(s),
                self.landed[s].slot,
                self.landed[s].err,
                None,
                self.landed[s].block_time,
                self._status(self.landed[s]),
            )
            for s in sigs[: int(config.get("limit", 1000))]
        ]
        return GetSignaturesForAddressResp(items).to_json()

    def _rpc_getSignatureStatuses(self, signatures: list[str], config: dict[str, Any] | None = None) -> str:
        statuses = []
        for s in signatures:
            landed = self.landed.get(s)
            if landed is None:
                statuses.append(None)
                continue
            final = landed.slot <= self.finalized
            confirmations = None if final else self.slot - landed.slot
            statuses.append(TransactionStatus(landed.slot, confirmations, None, landed.err, self._status(landed)))
        return GetSignatureStatusesResp(statuses, RpcResponseContext(self.slot)).to_json()

    def _rpc_getTransaction(self, signature: str, config: dict[str, Any] | None = None) -> str:
        config = config or {}
        assert config.get("encoding") == "jsonParsed", "the stand-in answers jsonParsed only"
        landed = self.landed.get(signature)
        if landed is None or (config.get("commitment") == "finalized" and landed.slot > self.finalized):
            return GetTransactionResp(None).to_json()
        message = landed.tx.message
        keys = list(message.account_keys)
        accounts = [
            ParsedAccountTxStatus(
                k, message.is_maybe_writable(i), message.is_signer(i), ParsedAccountSource.Transaction
            )
            for i, k in enumerate(keys)
        ]
        instructions = [_parsed_instruction(keys, ix) for ix in message.instructions]
        ui = UiTransaction(
            list(landed.tx.signatures), UiParsedMessage(accounts, message.recent_blockhash, instructions, [])
        )
        meta = UiTransactionStatusMeta(
            landed.err, landed.fee, landed.pre, landed.post, [], landed.logs, [], [], [],
            UiLoadedAddresses([], []), None, landed.compute_units,
        )  # fmt: skip
        version = 0 if isinstance(message, MessageV0) else None
        confirmed = EncodedConfirmedTransactionWithStatusMeta(
            landed.slot, EncodedTransactionWithStatusMeta(ui, meta, version), landed.block_time
        )
        return GetTransactionResp(confirmed).to_json()

    def _status(self, landed: Landed) -> TransactionConfirmationStatus:
        if landed.slot <= self.finalized:
            return TransactionConfirmationStatus.Finalized
        return TransactionConfirmationStatus.Confirmed


class RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _error(rid: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": rid}


def _parsed_instruction(keys: list[Pubkey], ix: Any) -> Any:
    program = keys[ix.program_id_index]
    accounts = [keys[i] for i in ix.accounts]
    data = bytes(ix.data)
    if program == SYSTEM_PROGRAM and len(data) == 12 and struct.unpack_from("<I", data)[0] == SYSTEM_TRANSFER:
        info = {
            "source": str(accounts[0]),
            "destination": str(accounts[1]),
            "lamports": struct.unpack_from("<Q", data, 4)[0],
        }
        return ParsedInstruction("system", program, {"type": "transfer", "info": info}, None)
    return UiPartiallyDecodedInstruction(program, accounts, _b58encode(data), None)


def _b58encode(data: bytes) -> str:
    from bip_utils import Base58Encoder

    return str(Base58Encoder.Encode(data))


def _b58decode(text: str) -> bytes:
    from bip_utils import Base58Decoder

    return bytes(Base58Decoder.Decode(text))


# --- the payer's side: a wallet that builds and signs Solana Pay transfers --------------------------------


class SolanaPayer:
    """A payer's wallet: a funded keypair that signs system transfers and sends them over JSON-RPC."""

    def __init__(self, standin: SolanaStandIn, lamports: int = 100 * LAMPORTS_PER_SOL) -> None:
        self.standin = standin
        self.keypair = Keypair()
        standin.airdrop(self.keypair.pubkey(), lamports)

    @property
    def address(self) -> str:
        return str(self.keypair.pubkey())

    def pay(self, to: str, lamports: int, reference: str | None = None, *, skip_preflight: bool = False) -> str:
        """A Solana Pay transfer: `lamports` to `to`, naming `reference` as a read-only account; its signature."""
        ix = transfer(
            TransferParams(from_pubkey=self.keypair.pubkey(), to_pubkey=Pubkey.from_string(to), lamports=lamports)
        )
        if reference:
            ix = Instruction(
                ix.program_id, ix.data, [*ix.accounts, AccountMeta(Pubkey.from_string(reference), False, False)]
            )
        blockhash = self._rpc("getLatestBlockhash", {"commitment": "confirmed"})["value"]["blockhash"]
        message = MessageV0.try_compile(self.keypair.pubkey(), [ix], [], Hash.from_string(blockhash))
        tx = VersionedTransaction(message, [self.keypair])
        encoded = base64.b64encode(bytes(tx)).decode()
        return self._rpc("sendTransaction", encoded, {"encoding": "base64", "skipPreflight": skip_preflight})

    def _rpc(self, method: str, *params: Any) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
        request = urllib.request.Request(self.standin.rpc_url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as resp:
            reply = json.loads(resp.read())
        if "error" in reply:
            raise RuntimeError(reply["error"]["message"])
        return reply["result"]
