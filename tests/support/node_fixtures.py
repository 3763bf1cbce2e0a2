"""Pytest fixtures for external test nodes: per session (per xdist worker) one litecoind regtest node and two anvil
EVM nodes (chain id 31337, and 56 for a BSC-like chain)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.support.anvil import AnvilMissing, AnvilNode, start_anvil
from tests.support.litecoind import LitecoindMissing, LitecoinNode, start_litecoind


@pytest.fixture(scope="session")
def litecoind() -> Iterator[LitecoinNode]:
    """A running regtest node with a funded "miner" wallet; stopped and removed at session end."""
    try:
        node = start_litecoind()
    except LitecoindMissing as missing:
        # never a skip: scripts/test.sh installs the node, and a missing one must be seen
        pytest.fail(f"{missing} (scripts/setup.sh test installs it)", pytrace=False)
    try:
        yield node
    finally:
        node.stop()
        shutil.rmtree(node.datadir, ignore_errors=True)


def _anvil(chain_id: int) -> Iterator[AnvilNode]:
    try:
        node = start_anvil(chain_id=chain_id)
    except AnvilMissing as missing:
        # never a skip, as for litecoind: a missing node must be seen
        pytest.fail(str(missing), pytrace=False)
    try:
        yield node
    finally:
        node.stop()
        shutil.rmtree(node.datadir, ignore_errors=True)


@pytest.fixture(scope="session")
def anvil() -> Iterator[AnvilNode]:
    """A running anvil node, chain id 31337, automine on, 10 funded dev accounts; stopped and removed at session end.

    Shared by the worker's tests: deploy your own contracts, pay fresh addresses, and restore automine if you
    turn it off.
    """
    yield from _anvil(31337)


@pytest.fixture(scope="session")
def anvil_bsc() -> Iterator[AnvilNode]:
    """A BSC-like anvil node (chain id 56, `eth_chainId` 0x38), otherwise like `anvil`."""
    yield from _anvil(56)
