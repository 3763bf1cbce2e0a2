"""A throwaway anvil EVM node for tests: start, JSON-RPC, send, deploy the test contracts, mine, reorg, restart.

anvil comes from package-lock.json (`scripts/setup.sh test` runs `npm ci`); set ANVIL to use another binary.
Plain JSON-RPC goes through urllib (fast, no middleware); web3's sync API is used only to encode contract calls.
Transactions are sent with `eth_sendTransaction` from anvil's unlocked dev accounts; their keys are in
`accounts` for tests that must sign raw transactions themselves (see `sign_eth_transfer`).
"""

from __future__ import annotations

import atexit
import functools
import itertools
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import HTTPProvider, Web3
from web3.contract import Contract
from web3.utils.address import get_create_address

ROOT = Path(__file__).resolve().parents[2]
ANVIL = Path(os.environ.get("ANVIL", ROOT / "node_modules" / ".bin" / "anvil"))
BUILD = Path(__file__).resolve().parent / "contracts" / "build"
READY_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
RPC_TIMEOUT = 30.0
RECEIPT_TIMEOUT = 10.0
#: gas for transactions that must be mined and revert (a gas estimate would refuse them before the pool)
REVERT_GAS = 200_000

DEFAULT_MNEMONIC = "test test test test test test test test test test test junk"


@dataclass(frozen=True)
class AnvilAccount:
    """One of anvil's funded dev accounts (10,000 ETH each at genesis)."""

    address: str  # checksummed
    key: str  # 0x-prefixed private key


#: private keys of m/44'/60'/0'/0/0..9 of DEFAULT_MNEMONIC, the accounts anvil funds and unlocks by default
_DEV_KEYS = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
)
#: checked against `eth_accounts` by test_anvil_harness
ACCOUNTS: tuple[AnvilAccount, ...] = tuple(AnvilAccount(Account.from_key(key).address, key) for key in _DEV_KEYS)


class AnvilMissing(RuntimeError):
    """The anvil binary is not installed where the harness looks for it."""


class AnvilExited(RuntimeError):
    """anvil exited while starting (e.g. its port was taken in the meantime)."""


class AnvilRpcError(RuntimeError):
    """anvil answered a JSON-RPC call with an error."""

    def __init__(self, method: str, code: int | None, message: str, data: Any = None) -> None:
        super().__init__(f"anvil {method}: {message} (code {code})" + (f" data={data!r}" if data else ""))
        self.method = method
        self.code = code
        self.rpc_message = message
        self.data = data


class AnvilNode:
    """An anvil node on 127.0.0.1 with its own datadir and port; the chain survives stop() and start()."""

    def __init__(self, datadir: Path, port: int, chain_id: int = 31337, extra_args: Sequence[str] = ()) -> None:
        self.datadir = datadir
        self.port = port
        self.chain_id = chain_id
        self.extra_args = tuple(extra_args)  # more anvil options, after the harness's own
        self.rpc_url = f"http://127.0.0.1:{port}"
        self.state_path = datadir / "state.json"
        self.accounts = ACCOUNTS
        self._ids = itertools.count(1)
        self._process: subprocess.Popen[bytes] | None = None
        self._automine = True
        self._w3: Web3 | None = None

    # --- process -------------------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The anvil process id while it runs (the EVM bench reads its CPU time)."""
        return self._process.pid if self.running else None

    def start(self) -> None:
        """Start anvil, loading `state.json` (blocks, receipts, historical states) if an earlier run dumped one."""
        if self.running:
            return
        command = [
            str(ANVIL),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--chain-id",
            str(self.chain_id),
            "--silent",
            # loads the file if it exists and dumps the chain to it on exit (stop() sends SIGTERM)
            "--state",
            str(self.state_path),
            # keeps per-block states in the dump, so balance/trace queries at old heights work after a restart
            "--preserve-historical-states",
            # states evicted from memory go here, not to ~/.foundry
            "--cache-path",
            str(self.datadir / "cache"),
            *self.extra_args,
        ]
        log = open(self.datadir / "anvil.out", "ab")  # the child keeps its own copy of the fd
        try:
            self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()
        _RUNNING.add(self)
        self._wait_ready()
        if not self._automine:  # anvil starts with automine on; keep what the test had set
            self.rpc("evm_setAutomine", False)

    def stop(self) -> None:
        """Stop anvil with SIGTERM: it dumps the chain to `state.json` first (pending transactions are lost)."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._process = None
        _RUNNING.discard(self)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of anvil's output (little with --silent: start-up errors and panics), for error messages."""
        path = self.datadir / "anvil.out"
        if not path.exists():
            return ""
        return f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    # --- JSON-RPC ------------------------------------------------------------------------------------------------

    def rpc(self, method: str, *params: Any, timeout: float = RPC_TIMEOUT) -> Any:
        """Call `method` and return its result; an error reply raises AnvilRpcError."""
        body = json.dumps({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)})
        request = urllib.request.Request(self.rpc_url, data=body.encode(), headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                reply = json.loads(response.read())
        except urllib.error.HTTPError as error:
            text = error.read()
            try:
                reply = json.loads(text)
            except ValueError:
                raise RuntimeError(f"anvil {method}: HTTP {error.code} {text[:200]!r}") from None
        if reply.get("error"):
            err = reply["error"]
            raise AnvilRpcError(method, err.get("code"), err.get("message", ""), err.get("data"))
        return reply["result"]

    @property
    def w3(self) -> Web3:
        """A sync web3 client on this node (for contract objects and ABI encoding)."""
        if self._w3 is None:
            self._w3 = Web3(HTTPProvider(self.rpc_url, request_kwargs={"timeout": RPC_TIMEOUT}))
        return self._w3

    def block_number(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    def block(self, number: int | str = "latest", full: bool = False) -> dict[str, Any]:
        """`eth_getBlockByNumber` as JSON (hex quantities); `number` is an int or a tag."""
        tag = hex(number) if isinstance(number, int) else number
        return self.rpc("eth_getBlockByNumber", tag, full)

    def balance(self, address: str, block: int | str = "latest") -> int:
        return int(self.rpc("eth_getBalance", address, hex(block) if isinstance(block, int) else block), 16)

    def receipt(self, txhash: str) -> dict[str, Any] | None:
        return self.rpc("eth_getTransactionReceipt", txhash)

    def wait_receipt(self, txhash: str, timeout: float = RECEIPT_TIMEOUT) -> dict[str, Any]:
        """The receipt once the transaction is mined (polls every 10 ms)."""
        deadline = time.monotonic() + timeout
        while (receipt := self.receipt(txhash)) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{txhash} not mined after {timeout:.0f} s (automine on: {self._automine})")
            time.sleep(0.01)
        return receipt

    # --- transactions ------------------------------------------------------------------------------------------

    def transact(
        self,
        to: str | None,
        data: str = "0x",
        value: int = 0,
        sender: int | str = 0,
        gas: int | None = None,
        nonce: int | None = None,
        expect_status: int | None = 1,
    ) -> str:
        """Send a transaction from a dev account with `eth_sendTransaction`; returns its hash (0x hex).

        With automine on it waits for the receipt and checks its status against `expect_status` (None: any);
        with automine off it returns at once. Without `gas` the harness calls `eth_estimateGas` first, as
        wallets do, so a call that would revert raises AnvilRpcError and never reaches the pool; pass `gas` to
        get a mined, reverted transaction. (anvil alone would not refuse it: when its own estimate reverts it
        silently sends the transaction with the block gas limit, 30,000,000, and mines it with status 0.)
        """
        tx: dict[str, Any] = {"from": self._address(sender), "value": hex(value), "data": data}
        if to is not None:
            tx["to"] = to
        if nonce is not None:
            tx["nonce"] = hex(nonce)
        tx["gas"] = hex(gas) if gas is not None else self.rpc("eth_estimateGas", tx)
        txhash = self.rpc("eth_sendTransaction", tx)
        if self._automine:
            receipt = self.wait_receipt(txhash)
            status = int(receipt["status"], 16)
            if expect_status is not None and status != expect_status:
                raise AssertionError(f"{txhash} mined with status {status}, expected {expect_status}")
        return txhash

    def send_eth(self, to: str, wei: int, sender: int | str = 0) -> str:
        """A plain native transfer of `wei` to `to`; returns the transaction hash."""
        return self.transact(to, value=wei, sender=sender)

    def sign_eth_transfer(self, to: str, wei: int, sender: int = 0, nonce: int | None = None) -> str:
        """A signed (not sent) EIP-1559 native transfer as raw 0x hex, e.g. for `reorg(..., txs=[(raw, 0)])`."""
        account = self.accounts[sender]
        if nonce is None:
            nonce = int(self.rpc("eth_getTransactionCount", account.address, "pending"), 16)
        base_fee = int(self.block()["baseFeePerGas"], 16)
        tx = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": nonce,
            "to": Web3.to_checksum_address(to),
            "value": wei,
            "gas": 21_000,
            "maxPriorityFeePerGas": 10**9,
            "maxFeePerGas": 2 * base_fee + 10**9,
        }
        return Account.sign_transaction(tx, account.key).raw_transaction.to_0x_hex()

    def send_raw(self, raw_tx: str) -> str:
        """`eth_sendRawTransaction`; waits for the receipt when automine is on. Returns the hash."""
        txhash = self.rpc("eth_sendRawTransaction", raw_tx)
        if self._automine:
            self.wait_receipt(txhash)
        return txhash

    # --- contracts ---------------------------------------------------------------------------------------------

    def deploy(self, name: str, *args: Any, sender: int | str = 0) -> str:
        """Deploy build/<name>.json with constructor `args`; returns the checksummed contract address.

        The address is computed from the sender's nonce, so this also works with automine off (the code is
        there once the transaction is mined).
        """
        artifact = _artifact(name)
        factory = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        data = factory.constructor(*args).data_in_transaction
        address = self._address(sender)
        nonce = int(self.rpc("eth_getTransactionCount", address, "pending"), 16)
        self.transact(None, data, sender=sender, nonce=nonce)
        return get_create_address(address, nonce)

    def contract(self, name: str, address: str) -> Contract:
        """A sync web3 contract object for build/<name>.json at `address`."""
        return self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=_artifact(name)["abi"])

    def call_data(self, name: str, function: str, *args: Any) -> str:
        """ABI-encoded calldata for `function(*args)` of contract `name`."""
        return self.w3.eth.contract(abi=_artifact(name)["abi"]).encode_abi(function, args=list(args))

    def mint(self, token: str, to: str, amount: int, sender: int | str = 0) -> str:
        """TestToken.mint(to, amount) (anyone may mint); returns the transaction hash."""
        return self.transact(token, self.call_data("TestToken", "mint", _checksum(to), amount), sender=sender)

    def token_transfer(self, token: str, to: str, amount: int, sender: int | str = 0) -> str:
        """TestToken.transfer(to, amount) from a dev account; returns the transaction hash."""
        return self.transact(token, self.call_data("TestToken", "transfer", _checksum(to), amount), sender=sender)

    def reverted_token_transfer(self, token: str, to: str, amount: int, sender: int | str = 0) -> str:
        """TestToken.transfer with explicit gas, meant to exceed the balance: mined with status 0, no log."""
        data = self.call_data("TestToken", "transfer", _checksum(to), amount)
        return self.transact(token, data, sender=sender, gas=REVERT_GAS, expect_status=0)

    def token_balance(self, token: str, owner: str) -> int:
        return self.contract("TestToken", token).functions.balanceOf(_checksum(owner)).call()

    def forward(self, forwarder: str, to: str, wei: int, sender: int | str = 0) -> str:
        """Forwarder.forward(to) with `wei`: the contract sends it on, an internal transfer only traces show."""
        data = self.call_data("Forwarder", "forward", _checksum(to))
        return self.transact(forwarder, data, value=wei, sender=sender)

    def forward_split(self, forwarder: str, a: str, b: str, wei: int, sender: int | str = 0) -> str:
        """Forwarder.forwardSplit(a, b): wei // 2 to `a`, the rest to `b` (two internal transfers)."""
        data = self.call_data("Forwarder", "forwardSplit", _checksum(a), _checksum(b))
        return self.transact(forwarder, data, value=wei, sender=sender)

    def forward_then_revert(self, forwarder: str, to: str, wei: int, sender: int | str = 0) -> str:
        """Forwarder.forwardThenRevert(to) with explicit gas: mined with status 0, the inner transfer undone."""
        data = self.call_data("Forwarder", "forwardThenRevert", _checksum(to))
        return self.transact(forwarder, data, value=wei, sender=sender, gas=REVERT_GAS, expect_status=0)

    # --- mining, snapshots, reorgs -----------------------------------------------------------------------------

    def mine(self, n: int = 1) -> int:
        """Mine `n` blocks (with the pending transactions in the first); returns the new height."""
        self.rpc("anvil_mine", hex(n))
        return self.block_number()

    def set_automine(self, enabled: bool) -> None:
        """Automine on: each transaction is mined in its own block at once. Off: they wait for mine()."""
        self.rpc("evm_setAutomine", enabled)
        self._automine = enabled

    @property
    def automine(self) -> bool:
        return self._automine

    def snapshot(self) -> str:
        """`evm_snapshot`: an id for revert(); snapshots live in memory and do not survive a restart."""
        return self.rpc("evm_snapshot")

    def revert(self, snapshot_id: str) -> bool:
        """`evm_revert` to a snapshot (which is used up); blocks after it are dropped."""
        return self.rpc("evm_revert", snapshot_id)

    def reorg(self, depth: int, txs: Sequence[tuple[str | dict[str, Any], int]] = ()) -> None:
        """`anvil_reorg`: replace the last `depth` blocks with `depth` new ones (same height, new hashes).

        `txs` are (transaction, block offset) pairs: a raw signed transaction (0x hex, see sign_eth_transfer)
        or a transaction request dict from a dev account, put in the offset-th new block (0 = first). The
        replaced blocks' transactions are dropped, not returned to the pool, unless listed here again.
        """
        self.rpc("anvil_reorg", depth, [[tx, offset] for tx, offset in txs])

    # --- internals -----------------------------------------------------------------------------------------------

    def _address(self, sender: int | str) -> str:
        return self.accounts[sender].address if isinstance(sender, int) else sender

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                _RUNNING.discard(self)
                raise AnvilExited(f"anvil exited with code {code} during start-up\n{self.log_tail()}")
            try:
                answer = int(self.rpc("eth_chainId", timeout=2), 16)
            except (OSError, RuntimeError) as error:  # refused while starting
                last_error = error
                time.sleep(0.02)
                continue
            if answer != self.chain_id:
                self.stop()
                raise RuntimeError(f"anvil on port {self.port} answers chain id {answer}, not {self.chain_id}")
            return
        self.stop()
        raise RuntimeError(f"anvil RPC not ready after {READY_TIMEOUT:.0f} s ({last_error})\n{self.log_tail()}")


def start_anvil(chain_id: int = 31337, datadir: Path | None = None, extra_args: Sequence[str] = ()) -> AnvilNode:
    """Start a fresh anvil node (automine on, 10 funded dev accounts) on a free port of 127.0.0.1.

    ``extra_args`` are more anvil options (the EVM bench keeps no history on disk with ``--prune-history``).
    """
    if not (ANVIL.is_file() and os.access(ANVIL, os.X_OK)):
        raise AnvilMissing(
            f"anvil not found at {ANVIL}: `scripts/setup.sh test` installs it (npm ci, from package-lock.json); "
            "or set ANVIL to the binary's path"
        )
    datadir = datadir or Path(tempfile.mkdtemp(prefix=f"coinvoice-anvil-{chain_id}-"))
    for attempt in itertools.count(1):
        node = AnvilNode(datadir, _free_port(), chain_id, extra_args)
        try:
            node.start()
            return node
        except AnvilExited:
            # another process (an xdist worker) may have bound the port between our probe and anvil's bind
            if attempt == 3 or "in use" not in node.log_tail():
                raise
    raise AssertionError("unreachable")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _checksum(address: str) -> str:
    return Web3.to_checksum_address(address)


@functools.cache
def _artifact(name: str) -> dict[str, Any]:
    path = BUILD / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} missing: run `.venv/bin/python tests/support/contracts/compile.py`")
    return json.loads(path.read_text())


_RUNNING: set[AnvilNode] = set()


@atexit.register
def _stop_leftover_nodes() -> None:
    for node in list(_RUNNING):
        node.stop()
