"""Webhook fixtures: a real receiver, settings with a fast retry schedule, and worker apps that send."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import pytest
from aiohttp import web

from coinvoice.app import create_app
from coinvoice.config import Settings
from tests.api.invoice_setup import accept_ltc
from tests.webhooks.receiver import Receiver


@pytest.fixture
def fast_settings(settings: Settings) -> Settings:
    """Retries after ~0.2 s doubling to 1 s; a 2 s request timeout; a 1 s poll as the safety net."""
    return replace(
        settings,
        webhook_allow_private=True,
        webhook_retry_base_seconds=0.2,
        webhook_retry_max_seconds=1.0,
        webhook_timeout_seconds=2.0,
        webhook_poll_seconds=1.0,
    )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


@pytest.fixture
async def start_worker(db_url: str, fast_settings: Settings) -> AsyncIterator[Callable]:
    """Start a worker app (scheduler + webhook sender); each is stopped at the end unless stopped before."""
    runners: list[web.AppRunner] = []

    async def start(settings: Settings | None = None) -> web.AppRunner:
        runner = web.AppRunner(create_app(settings or fast_settings, role="worker", dsn=db_url))
        await runner.setup()
        runners.append(runner)
        return runner

    yield start
    for runner in runners:
        if runner.server is not None:  # not stopped by the test
            await runner.cleanup()


@pytest.fixture
async def hooked(api, company, receiver) -> dict[str, str]:
    """The company, accepting ltc, with its webhook URL pointing at the receiver."""
    token = company["publicToken"]
    await accept_ltc(api, token)
    status, body = await api.call(
        "PUT", "/api/company/settings/webhook-url", token=token, json_body={"webHookUrl": receiver.url}
    )
    assert status == 200, body
    return company
