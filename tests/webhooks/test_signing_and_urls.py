"""Signature helpers and webhook URL checks, including refusals over the real API with allow_private off."""

from __future__ import annotations

import hashlib
import hmac
import socket
from collections.abc import AsyncIterator
from dataclasses import replace

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver
from aiohttp.test_utils import TestServer

from coinvoice.app import create_app
from coinvoice.domain.errors import Invalid
from coinvoice.net.urlcheck import PublicOnlyResolver, check_webhook_url
from coinvoice.webhooks.signing import signature_headers, verify_legacy_signature, verify_signature
from coinvoice.webhooks.worker import webhook_http_client
from tests.api.invoice_setup import assert_error
from tests.conftest import Api

BODY = b'{"eventId":"e1","status":"done"}'
KEY, OLD = "sk_new", "sk_old"


def test_verify_signature_accepts_our_headers_with_any_active_key_and_lowercase_names():
    headers = signature_headers(BODY, [KEY, OLD], "e1")
    assert verify_signature(BODY, headers, KEY)
    assert verify_signature(BODY, headers, [OLD])  # a merchant still on the old key during rotation
    assert verify_signature(BODY, {k.lower(): v for k, v in headers.items()}, [KEY])
    assert verify_legacy_signature(BODY, headers, KEY)
    assert not verify_legacy_signature(BODY, headers, OLD)  # the legacy header uses the newest key only
    assert headers["signature"] == hmac.new(KEY.encode(), BODY, hashlib.sha512).hexdigest()
    assert headers["Coinvoice-Signature"].count("v1=") == 2


def test_verify_signature_refuses_a_changed_body_a_wrong_key_and_an_old_timestamp():
    headers = signature_headers(BODY, [KEY], "e1", timestamp=1_700_000_000)
    assert verify_signature(BODY, headers, KEY, now=1_700_000_100)
    assert not verify_signature(BODY + b" ", headers, KEY, now=1_700_000_100)
    assert not verify_signature(BODY, headers, "sk_other", now=1_700_000_100)
    assert not verify_signature(BODY, headers, KEY, now=1_700_000_301)  # replayed after 5 minutes
    assert not verify_signature(BODY, {"signature": headers["signature"]}, KEY)  # no timestamped header
    assert not verify_legacy_signature(BODY, {**headers, "signature": "00"}, KEY)
    assert not verify_legacy_signature(BODY + b" ", headers, KEY)


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://127.0.0.1:8080/hook", "webhook_url_not_public"),
        ("http://localhost/hook", "webhook_url_not_public"),  # a DNS name that resolves to loopback
        ("http://10.1.2.3/hook", "webhook_url_not_public"),
        ("http://192.168.0.10/hook", "webhook_url_not_public"),
        ("http://169.254.169.254/latest/meta-data", "webhook_url_not_public"),
        ("http://[::1]/hook", "webhook_url_not_public"),
        ("http://[::ffff:127.0.0.1]/hook", "webhook_url_not_public"),
        ("http://[fd00::1]/hook", "webhook_url_not_public"),
        ("http://100.64.0.1/hook", "webhook_url_not_public"),
        ("http://224.0.0.1/hook", "webhook_url_not_public"),
        ("http://0.0.0.0/hook", "webhook_url_not_public"),
        ("ftp://example.com/hook", "invalid_url"),
        ("file:///etc/passwd", "invalid_url"),
        ("https://", "invalid_url"),
        ("http://host.invalid/hook", "webhook_url_unresolvable"),
    ],
)
async def test_check_webhook_url_refuses_non_public_targets(url, code):
    with pytest.raises(Invalid) as err:
        await check_webhook_url(url, allow_private=False)
    assert err.value.code == code


async def test_check_webhook_url_accepts_a_public_address_and_private_ones_when_allowed():
    async def public(host: str, port: int) -> list[str]:
        return ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]

    await check_webhook_url("https://shop.example/hook", allow_private=False, resolve=public)
    await check_webhook_url("http://127.0.0.1:9/hook", allow_private=True)

    async def mixed(host: str, port: int) -> list[str]:
        return ["93.184.215.14", "10.0.0.7"]  # one private answer is enough to refuse

    with pytest.raises(Invalid):
        await check_webhook_url("https://shop.example/hook", allow_private=False, resolve=mixed)


@pytest.fixture
async def strict_api(settings, db_url) -> AsyncIterator[Api]:
    app = create_app(replace(settings, webhook_allow_private=False), dsn=db_url, role="api")
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        yield Api(server, session)
    await server.close()


async def test_the_api_refuses_a_private_webhook_url_with_a_clear_error_and_keeps_the_old_one(strict_api, company):
    token = company["publicToken"]
    for url in ("http://127.0.0.1:9000/hook", "http://localhost:9000/hook", "http://169.254.169.254/"):
        status, body = await strict_api.call(
            "PUT", "/api/company/settings/webhook-url", token=token, json_body={"webHookUrl": url}
        )
        assert_error(status, body, 400, "webhook_url_not_public", "webHookUrl")
        assert "127.0.0.1" in body["error"]["message"] or "169.254.169.254" in body["error"]["message"]
    status, body = await strict_api.call("GET", "/api/company/settings/webhook-url", token=token)
    assert (status, body) == (200, {"webHookUrl": None})


class _FixedResolver(AbstractResolver):
    def __init__(self, address: str):
        self.address = address

    async def resolve(self, host, port=0, family=socket.AF_INET):
        return [{"hostname": host, "host": self.address, "port": port, "family": family, "proto": 0, "flags": 0}]

    async def close(self) -> None:
        pass


async def test_the_connect_time_resolver_refuses_a_name_that_now_resolves_to_an_internal_address():
    # DNS rebinding: the URL check saw a public address, the connection would go to loopback
    with pytest.raises(OSError, match="loopback"):
        await PublicOnlyResolver(_FixedResolver("127.0.0.1")).resolve("shop.example", 443)
    with pytest.raises(OSError, match="link-local"):
        await PublicOnlyResolver(_FixedResolver("169.254.169.254")).resolve("shop.example", 443)
    public = await PublicOnlyResolver(_FixedResolver("93.184.216.34")).resolve("shop.example", 443)
    assert public[0]["host"] == "93.184.216.34"


async def test_the_webhook_client_cannot_reach_a_local_receiver_by_name_unless_private_is_allowed(settings, receiver):
    url = receiver.url.replace("127.0.0.1", "localhost")
    refusing = webhook_http_client(replace(settings, webhook_allow_private=False))
    try:
        with pytest.raises(aiohttp.ClientConnectorError) as refused:
            await refusing.post(url, data=BODY)
        assert "refused for webhooks" in str(refused.value.os_error) + str(refused.value.__cause__)
    finally:
        await refusing.close()
    allowing = webhook_http_client(replace(settings, webhook_allow_private=True))
    try:
        async with allowing.post(url, data=BODY) as resp:
            assert resp.status == 200
    finally:
        await allowing.close()
