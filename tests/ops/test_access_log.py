"""The access log of `coinvoice serve`: one short line per request with the request id in JSON lines, and none
with COINVOICE_ACCESS_LOG=false."""

from __future__ import annotations

import json

import aiohttp
import pytest

from coinvoice.config import ConfigError, load_settings
from tests.conftest import TEST_ENV
from tests.support.processes import GatewayProcess


async def _serve_and_get(db_url: str, tmp_path, **env: str) -> str:
    """Start an API process with ``env``, send one request, stop it; its log."""
    gateway = GatewayProcess(
        {**TEST_ENV, "DATABASE_URL": db_url, "COINVOICE_DATA_DIR": str(tmp_path), **env},
        tmp_path / "gateway.log",
        role="api",
    )
    gateway.start()
    try:
        await gateway.wait_ready()
        async with aiohttp.ClientSession() as session:
            async with session.get(gateway.base + "/api/invoices/v1?limit=2", headers={"X-Request-Id": "rid-7"}) as r:
                assert r.status == 401  # no token: any answer is logged
    finally:
        assert await gateway.stop() == 0
    return gateway.log_text()


async def test_each_request_gets_one_access_line_with_its_request_id(db_url, tmp_path):
    log = await _serve_and_get(db_url, tmp_path, COINVOICE_LOG_FORMAT="json")
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "aiohttp.access" and "/api/invoices/v1" in line["message"]]
    assert len(access) == 1, lines
    assert access[0]["requestId"] == "rid-7"
    assert access[0]["message"].startswith('127.0.0.1 "GET /api/invoices/v1?limit=2" 401 ')
    assert access[0]["message"].endswith("ms")


async def test_no_access_lines_when_turned_off(db_url, tmp_path):
    log = await _serve_and_get(db_url, tmp_path, COINVOICE_ACCESS_LOG="false")
    assert "listening on" in log
    assert "/api/invoices/v1" not in log


def test_the_access_log_setting_takes_true_or_false_only():
    assert load_settings({**TEST_ENV, "COINVOICE_ACCESS_LOG": "no"}).access_log is False
    assert load_settings(dict(TEST_ENV)).access_log is True
    with pytest.raises(ConfigError, match="COINVOICE_ACCESS_LOG"):
        load_settings({**TEST_ENV, "COINVOICE_ACCESS_LOG": "sometimes"})
