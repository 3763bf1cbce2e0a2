"""A browser tab on the payer page: fake merchant site, collected dialogs and CSP reports, QR decoding."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import segno

from tests.pay.gateway import Gateway

MERCHANT_SITE = "https://shop.example/**"


def _logo_png() -> bytes:
    out = io.BytesIO()
    segno.make("C").save(out, kind="png", scale=2, dark="#0b57d0")
    return out.getvalue()


LOGO = _logo_png()


@dataclass
class Tab:
    page: Any
    dialogs: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    @property
    def csp_violations(self) -> list[str]:
        return [m for m in self.console if "Content Security Policy" in m]

    async def open(self, gw: Gateway, invoice_id: str) -> Any:
        return await self.page.goto(f"{gw.base}/{invoice_id}")


async def _merchant_site(route: Any) -> None:
    """The merchant's site (logo, redirect target) without the internet."""
    if route.request.url.endswith(".png"):
        await route.fulfill(status=200, content_type="image/png", body=LOGO)
    else:
        await route.fulfill(
            status=200, content_type="text/html", body="<!doctype html><title>Shop</title><h1>Thanks</h1>"
        )


@asynccontextmanager
async def opened(
    browser: Any, *, width: int = 1024, height: int = 900, js: bool = True, **options: Any
) -> AsyncIterator[Tab]:
    """A fresh context; ``options`` go to Playwright's new_context (locale, color_scheme, ...)."""
    context = await browser.new_context(
        viewport={"width": width, "height": height}, java_script_enabled=js, device_scale_factor=1, **options
    )
    await context.route(MERCHANT_SITE, _merchant_site)
    page = await context.new_page()
    tab = Tab(page)

    async def on_dialog(dialog: Any) -> None:
        tab.dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda msg: tab.console.append(msg.text))
    try:
        yield tab
    finally:
        await context.close()


async def decode_qr(page: Any, zbarimg: str, path: Path) -> str:
    """Screenshot the QR code as the browser drew it and decode it with zbarimg."""
    await page.locator("#qr svg").screenshot(path=str(path))
    proc = await asyncio.create_subprocess_exec(
        zbarimg, "--raw", "-q", str(path), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, f"zbarimg could not decode {path}: {err.decode()}"
    return out.decode().strip()


async def first_load(tab: Tab, gw: Gateway, invoice_id: str) -> tuple[list[str], int, int]:
    """Open the page and measure its first load: the requests' resource types, and the bytes transferred and
    decoded (the open status stream, which has sent only its 'retry' line, is counted as a request only)."""
    page = tab.page
    requests: list[Any] = []
    page.on("request", lambda request: requests.append(request))
    await tab.open(gw, invoice_id)
    await page.wait_for_load_state("load")
    await asyncio.sleep(1.5)  # the status stream opens after load
    transferred = decoded = 0
    for request in requests:
        response = await request.response()
        if response is None or request.resource_type == "eventsource":
            continue
        sizes = await request.sizes()
        transferred += sizes["responseBodySize"] + sizes["responseHeadersSize"]
        decoded += len(await response.body())
    return [r.resource_type for r in requests], transferred, decoded
