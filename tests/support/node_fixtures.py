"""Pytest fixtures for external test nodes: one litecoind regtest node per session (per xdist worker)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

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
