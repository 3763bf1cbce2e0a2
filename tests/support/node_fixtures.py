"""Pytest fixtures for external test nodes: one litecoind regtest node per session (per xdist worker)."""

from __future__ import annotations

import os
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
        if os.environ.get("CI") == "true":
            pytest.fail(str(missing), pytrace=False)
        pytest.skip(str(missing))
    try:
        yield node
    finally:
        node.stop()
        shutil.rmtree(node.datadir, ignore_errors=True)
