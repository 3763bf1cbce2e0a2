"""Crash injection (slow, run in CI): a stream of invoices paid on litecoind while the worker is killed with
SIGKILL 30 times at random moments and API processes 3 times; afterwards every payment is credited once, every
invoice has the status its payments imply, every webhook event arrived in order and no idempotent create doubled."""

from __future__ import annotations

import pytest

from tests.support.crash_injection import run_crash_injection


@pytest.mark.slow
async def test_thirty_worker_kills_lose_and_double_nothing(litecoind, db_url, pool, settings, tmp_path):
    report = await run_crash_injection(litecoind, db_url, pool, settings, tmp_path, worker_kills=30, api_kills=3)
    print("\ncrash injection:", report.line())
    assert report.worker_kills == 30 and report.api_kills == 3
    assert report.invoices >= 20 and report.payments >= 15
    assert report.leaderships >= 15  # most kills hit a worker that was following the chain, not one starting up
