"""A real webhook receiver for tests: an aiohttp server on 127.0.0.1 that records requests and can fail or go down."""

from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]
    status: int  # what the receiver answered

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """``status`` is what it answers next; ``stop()`` closes the port (connection refused)."""

    status: int = 200
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def delivered(self) -> list[Received]:
        return [r for r in self.received if 200 <= r.status < 300]

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.status
        self.received.append(Received(body, dict(request.headers), status))
        async with self._arrived:
            self._arrived.notify_all()
        return web.Response(status=status, text="ok" if status < 300 else "nope")

    async def start(self) -> None:
        if not self.port:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.port = s.getsockname()[1]
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    async def wait_for(self, predicate, within: float = 10.0) -> None:
        """Wait until ``predicate(self)`` holds; fail the test after ``within`` seconds."""

        async def until() -> None:
            async with self._arrived:
                await self._arrived.wait_for(lambda: predicate(self))

        await asyncio.wait_for(until(), within)
