"""The crediting rule: which transfers to our addresses count toward an invoice, and why not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from coinvoice.domain.transfers import Credit, NotCredited, credit

EXPIRES = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
WINDOW = timedelta(hours=24)
BEFORE = EXPIRES - timedelta(minutes=1)


@pytest.mark.parametrize(
    ("transfer_asset", "invoice_asset", "seen_at", "expected"),
    [
        ("usdterc20", "usdterc20", BEFORE, Credit(True, False)),
        ("eth", "usdterc20", BEFORE, Credit(False, False, NotCredited.WRONG_ASSET)),
        ("usdc", "usdterc20", BEFORE, Credit(False, False, NotCredited.WRONG_ASSET)),
        (None, "usdterc20", BEFORE, Credit(False, False, NotCredited.UNKNOWN_TOKEN)),
        ("eth", None, BEFORE, Credit(False, False, NotCredited.NO_INVOICE)),
        ("eth", "eth", EXPIRES, Credit(True, True)),
        ("eth", "eth", EXPIRES + WINDOW - timedelta(seconds=1), Credit(True, True)),
        ("eth", "eth", EXPIRES + WINDOW, Credit(False, True, NotCredited.AFTER_LATE_WINDOW)),
        # the asset is judged first: a fake token after the window is still a fake token
        (None, "eth", EXPIRES + 2 * WINDOW, Credit(False, False, NotCredited.UNKNOWN_TOKEN)),
    ],
)
def test_credit_follows_asset_then_time(transfer_asset, invoice_asset, seen_at, expected):
    assert credit(transfer_asset, invoice_asset, seen_at, EXPIRES, WINDOW) == expected


def test_an_invoice_without_expiry_is_never_late():
    assert credit("ltc", "ltc", EXPIRES + 10 * WINDOW, None, WINDOW) == Credit(True, False)
