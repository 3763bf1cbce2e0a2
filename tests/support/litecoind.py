"""A throwaway Litecoin Core regtest node for tests: start, JSON-RPC, mine, send, stop and restart."""

from __future__ import annotations

import atexit
import base64
import itertools
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

LITECOIND = Path(os.environ.get("LITECOIND", "/usr/lib/litecoin/litecoind"))
RPC_USER = RPC_PASSWORD = "test"
MINER_WALLET = "miner"
READY_TIMEOUT = 20.0
STOP_TIMEOUT = 30.0
RPC_TIMEOUT = 120.0

_CONF = """\
regtest=1
server=1
txindex=1
fallbackfee=0.0002
# a small key pool: createwallet takes 1.3 s with the default 1000 keys
keypool=20
# keep MWEB off: otherwise it activates at height 432 and that block cannot be mined without a peg-in
vbparams=mweb:4102444800:4102444801:1000000:1000001
[regtest]
rpcbind=127.0.0.1
rpcallowip=127.0.0.1
rpcport={rpc_port}
port={p2p_port}
listen=0
listenonion=0
dnsseed=0
rpcuser={user}
rpcpassword={password}
"""


class LitecoindMissing(RuntimeError):
    """The litecoind binary is not installed where the harness looks for it."""


class LitecoinNode:
    """A litecoind regtest node with its own datadir and ports; survives stop() and start()."""

    def __init__(self, datadir: Path, rpc_port: int, p2p_port: int) -> None:
        self.datadir = datadir
        self.rpc_port = rpc_port
        self.p2p_port = p2p_port
        self.rpc_url = f"http://{RPC_USER}:{RPC_PASSWORD}@127.0.0.1:{rpc_port}"
        self._endpoint = f"http://127.0.0.1:{rpc_port}"
        self._auth = "Basic " + base64.b64encode(f"{RPC_USER}:{RPC_PASSWORD}".encode()).decode()
        self._ids = itertools.count(1)
        self._process: subprocess.Popen[bytes] | None = None
        self._wallets: list[str] = []
        self._mining_address: str | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def rpc(self, method: str, *params: Any, wallet: str | None = None, timeout: float = RPC_TIMEOUT) -> Any:
        """Call `method`; Decimal params are sent as strings (Core accepts string amounts)."""
        body = json.dumps(
            {"jsonrpc": "1.0", "id": next(self._ids), "method": method, "params": list(params)},
            default=_json_default,
        ).encode()
        path = f"/wallet/{urllib.parse.quote(wallet, safe='')}" if wallet is not None else "/"
        request = urllib.request.Request(
            self._endpoint + path,
            data=body,
            headers={"Authorization": self._auth, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                reply = json.loads(response.read(), parse_float=Decimal)
        except urllib.error.HTTPError as error:  # Core answers RPC errors with HTTP 404/500 and a JSON body
            text = error.read()
            try:
                reply = json.loads(text, parse_float=Decimal)
            except ValueError:
                raise RuntimeError(f"litecoind {method}: HTTP {error.code} {text[:200]!r}") from None
        if reply.get("error"):
            err = reply["error"]
            raise RuntimeError(f"litecoind {method}: {err.get('message')} (code {err.get('code')})")
        return reply["result"]

    def start(self) -> None:
        """Start litecoind on this datadir and ports, wait for RPC and reload the wallets it had."""
        if self.running:
            return
        log = open(self.datadir / "litecoind.out", "ab")  # the child keeps its own copy of the fd
        try:
            self._process = subprocess.Popen(
                [str(LITECOIND), f"-datadir={self.datadir}"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        finally:
            log.close()
        _RUNNING.add(self)
        self._wait_ready()
        loaded = set(self.rpc("listwallets"))
        for name in self._wallets:
            if name not in loaded:
                self.rpc("loadwallet", name)

    def stop(self) -> None:
        """Stop the node cleanly (its chain and wallets stay in the datadir for start())."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            try:
                self._wallets = self.rpc("listwallets", timeout=10)
                self.rpc("stop", timeout=10)
                process.wait(STOP_TIMEOUT)
            except (OSError, RuntimeError, subprocess.TimeoutExpired):
                process.terminate()
                try:
                    process.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self._process = None
        _RUNNING.discard(self)

    def mine(self, n: int, address: str | None = None) -> list[str]:
        """Mine `n` blocks to `address` (default: the miner wallet) and return their hashes."""
        if address is None:
            if self._mining_address is None:
                self._mining_address = self.rpc("getnewaddress", wallet=MINER_WALLET)
            address = self._mining_address
        return self.rpc("generatetoaddress", n, address)

    def send(self, address: str, amount: Decimal | str) -> str:
        """Pay `amount` LTC to `address` from the miner wallet; returns the txid (unconfirmed)."""
        return self.rpc("sendtoaddress", address, str(amount), wallet=MINER_WALLET)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the node's output and debug.log, for error messages."""
        parts = []
        for path in (self.datadir / "litecoind.out", self.datadir / "regtest" / "debug.log"):
            if path.exists():
                parts.append(f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
        return "\n".join(parts)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                _RUNNING.discard(self)
                raise RuntimeError(f"litecoind exited with code {code} during start-up\n{self.log_tail()}")
            try:
                self.rpc("getblockchaininfo", timeout=2)
                return
            except (OSError, RuntimeError) as error:  # refused while starting, or -28 "Loading…"
                last_error = error
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"litecoind RPC not ready after {READY_TIMEOUT:.0f} s ({last_error})\n{self.log_tail()}")


def start_litecoind(datadir: Path | None = None) -> LitecoinNode:
    """Start a fresh regtest node with a funded "miner" wallet (101 blocks mined to it)."""
    if not (LITECOIND.is_file() and os.access(LITECOIND, os.X_OK)):
        raise LitecoindMissing(
            f"litecoind not found at {LITECOIND}: install it with `apt-get install -y litecoind` "
            "(or set LITECOIND to the daemon's path)"
        )
    datadir = datadir or Path(tempfile.mkdtemp(prefix="coinvoice-litecoind-"))
    rpc_port, p2p_port = _free_ports(2)
    conf = _CONF.format(rpc_port=rpc_port, p2p_port=p2p_port, user=RPC_USER, password=RPC_PASSWORD)
    (datadir / "litecoin.conf").write_text(conf)
    node = LitecoinNode(datadir, rpc_port, p2p_port)
    node.start()
    try:
        node.rpc("createwallet", MINER_WALLET)
        node._wallets = [MINER_WALLET]
        node.mine(101)
    except BaseException:
        node.stop()
        raise
    return node


def _free_ports(count: int) -> list[int]:
    """Ports the OS considers free now; all sockets stay open until every port is picked."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot send {type(value).__name__} to litecoind")


_RUNNING: set[LitecoinNode] = set()


@atexit.register
def _stop_leftover_nodes() -> None:
    for node in list(_RUNNING):
        node.stop()
