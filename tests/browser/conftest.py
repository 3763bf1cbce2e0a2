"""Browser fixtures: Debian's Chromium driven by Playwright's async API in the test's event loop."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.pay.gateway import gateway, start_gateway

__all__ = ["artifacts", "axe_source", "browser", "chromium", "gateway", "start_gateway", "zbarimg"]

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
INSTALL_HINT = "apt-get install -y chromium zbar-tools (never `playwright install`)"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def _missing(what: str) -> None:
    # never a skip: scripts/test.sh installs them, and a missing browser must be seen
    pytest.fail(f"{what} is missing: {INSTALL_HINT}", pytrace=False)


@pytest.fixture(scope="session")
def chromium() -> str:
    if not CHROMIUM.exists():
        _missing(str(CHROMIUM))
    return str(CHROMIUM)


@pytest.fixture(scope="session")
async def browser(chromium: str) -> AsyncIterator[object]:
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _missing("the playwright package")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def zbarimg() -> str:
    path = shutil.which("zbarimg")
    if path is None:
        _missing("zbarimg")
    return path


AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="session")
def axe_source() -> Path:
    """axe-core from npm (test only), injected by the tests, never served by the gateway."""
    if not AXE.exists():
        pytest.fail("node_modules/axe-core is missing: npm ci (never a skip)", pytrace=False)
    return AXE
