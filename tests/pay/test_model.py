"""The payer page model: safe URLs, the countdown text, versions that change with what the page shows."""

from datetime import UTC, datetime

from coinvoice.web.pay.model import build_page, http_url, state_version, url_origin
from coinvoice.web.pay.render import time_left


def test_only_absolute_http_urls_survive():
    assert http_url("https://shop.example/done?x=1") == "https://shop.example/done?x=1"
    for bad in ("javascript:alert(1)", "data:text/html,x", "/relative", "//shop.example/x", "", None):
        assert http_url(bad) is None
    assert url_origin("https://cdn.shop.example:8443/logo.png") == "https://cdn.shop.example:8443"


def test_time_left_counts_down_in_minutes_and_hours_and_stops_at_zero():
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert time_left("2026-01-01T12:29:05.000Z", now) == "29:05"
    assert time_left("2026-01-01T14:00:00.000Z", now) == "2:00:00"
    assert time_left("2026-01-01T11:00:00.000Z", now) == "0:00"


VIEW = {
    "id": "7f1c6a1e-0000-4000-8000-000000000001",
    "status": "wrong",
    "company": {"name": "Shop", "logoUrl": "javascript:alert(1)"},
    "invoiceContent": {"invoiceCurrency": "eur", "items": [], "total": "14", "paymentCurrency": "ltc"},
    "redirectURL": "https://shop.example/done",
    "address": {"address": "rltc1qabc", "tag": None, "asset": "ltc"},
    "paymentDetails": {
        "rate": "0.0125",
        "invoiceFee": "0.00175",
        "amount": "0.17675",
        "received": "0.1",
        "remaining": "0.07675",
    },
    "expiredAt": "2026-01-01T12:30:00.000Z",
    "invoiceTransactions": [
        {"amount": "0.1", "confirmations": 1, "txid": "ab", "txHash": "https://x/tx/ab", "state": "confirmed"}
    ],
}


def test_underpaid_page_asks_for_the_remainder_until_expiry(settings):
    before = build_page(VIEW, (), settings, datetime(2026, 1, 1, 12, 0, tzinfo=UTC))
    after = build_page(VIEW, (), settings, datetime(2026, 1, 1, 12, 31, tzinfo=UTC))
    assert before.payment.amount == "0.07675" and before.payment.uri == "litecoin:rltc1qabc?amount=0.07675"
    assert before.payment.open and not after.payment.open
    assert before.version != after.version
    assert before.logo_url is None


def test_version_changes_with_confirmations_but_not_with_unrelated_fields():
    more = {**VIEW, "invoiceTransactions": [{**VIEW["invoiceTransactions"][0], "confirmations": 2}]}
    assert state_version(VIEW) != state_version(more)
    assert state_version(VIEW) == state_version({**VIEW, "clientEmail": "x@example.com"})
