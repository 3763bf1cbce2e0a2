"""The client's address behind reverse proxies (net/client_ip.py) and COINVOICE_TRUSTED_PROXIES."""

from __future__ import annotations

import ipaddress

import pytest

from coinvoice.config import ConfigError, load_settings
from coinvoice.net.client_ip import client_ip
from tests.conftest import TEST_ENV

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("192.0.2.1", ["203.0.113.7"], "192.0.2.1"),  # an untrusted peer's header is ignored
        ("10.0.0.2", [], "10.0.0.2"),  # a proxy that says nothing is the client
        ("10.0.0.2", ["203.0.113.7"], "203.0.113.7"),
        ("10.0.0.2", ["198.51.100.1, 203.0.113.7"], "203.0.113.7"),  # the leftmost hop is the client's claim
        ("10.0.0.2", ["198.51.100.1, 203.0.113.7, 10.0.0.3"], "203.0.113.7"),  # a chain of trusted proxies
        ("10.0.0.2", ["198.51.100.1", "203.0.113.7,10.0.0.3"], "203.0.113.7"),  # several header lines
        ("10.0.0.2", ["10.0.0.9, 10.0.0.3"], "10.0.0.9"),  # every hop trusted: the leftmost
        ("10.0.0.2", ["203.0.113.7, garbage"], "10.0.0.2"),  # malformed: the proxy that added it
        ("::ffff:10.0.0.2", ["203.0.113.7"], "203.0.113.7"),  # IPv4 peer on a dual-stack socket
        ("fd00::1", ["2001:db8::5"], "2001:db8::5"),
        ("2001:db8::9", ["203.0.113.7"], "2001:db8::9"),
        (None, ["203.0.113.7"], "unknown"),
    ],
)
def test_client_ip(peer, forwarded, expected):
    assert client_ip(peer, forwarded, PROXIES) == expected


def test_without_trusted_proxies_the_peer_is_the_client():
    assert client_ip("127.0.0.1", ["203.0.113.7"], ()) == "127.0.0.1"


def test_trusted_proxies_setting(tmp_path):
    env = {**TEST_ENV, "COINVOICE_DATA_DIR": str(tmp_path)}
    assert load_settings(env).trusted_proxies == ()
    settings = load_settings({**env, "COINVOICE_TRUSTED_PROXIES": " 10.0.0.0/8, 192.0.2.1 ,::1,"})
    assert [str(n) for n in settings.trusted_proxies] == ["10.0.0.0/8", "192.0.2.1/32", "::1/128"]
    with pytest.raises(ConfigError, match="COINVOICE_TRUSTED_PROXIES"):
        load_settings({**env, "COINVOICE_TRUSTED_PROXIES": "10.0.0.0/33"})
