"""The shared-address rules: unique amounts due, and which invoice a payment to a shared address belongs to."""

from __future__ import annotations

import pytest

from coinvoice.domain.shared_address import (
    MAX_EXTRA_UNITS,
    SharedInvoice,
    match_shared,
    normalize_comment,
    unique_due,
)


def test_a_free_amount_is_kept_as_it_is():
    assert unique_due(1_000_000, set()) == 1_000_000
    assert unique_due(1_000_000, {999_999, 1_000_001}) == 1_000_000


def test_a_taken_amount_gets_the_fewest_base_units_added_never_fewer():
    assert unique_due(1_000_000, {1_000_000}) == 1_000_001
    assert unique_due(1_000_000, {1_000_000, 1_000_001, 1_000_003}) == 1_000_002


def test_at_most_999_base_units_are_added_then_there_is_no_room():
    taken = set(range(500, 500 + MAX_EXTRA_UNITS))
    assert unique_due(500, taken) == 500 + MAX_EXTRA_UNITS
    assert unique_due(500, taken | {500 + MAX_EXTRA_UNITS}) is None


@pytest.mark.parametrize(("typed", "stored"), [("k7qx3mpa", "K7QX3MPA"), ("  K7QX 3MPA\n", "K7QX3MPA"), ("", None)])
def test_a_comment_is_read_the_way_a_payer_may_type_it(typed, stored):
    assert normalize_comment(typed) == stored


A = SharedInvoice("a", "AAAA2222", None, 1_000_000, True)
B = SharedInvoice("b", "BBBB3333", None, 1_000_001, True)
PAID = SharedInvoice("c", "CCCC4444", None, 2_000_000, False)
SOL = SharedInvoice("s", None, "RefKey111", 3_000_000, True)


def test_the_comment_decides_whatever_the_amount():
    assert match_shared("bbbb3333", (), 5, [A, B]) is B  # an underpayment still belongs to its invoice
    assert match_shared("CCCC4444", (), 7, [A, PAID]) is PAID  # so does a payment to a closed invoice


def test_a_reference_among_the_keys_of_the_transaction_decides():
    assert match_shared(None, ("Payer", "RefKey111", "11111111111111111111111111111111"), 1, [A, SOL]) is SOL


def test_without_comment_or_reference_the_exact_amount_of_one_open_invoice_decides():
    assert match_shared(None, (), 1_000_001, [A, B]) is B
    assert match_shared("typo", (), 1_000_000, [A, B]) is A  # an unknown comment falls back on the amount


def test_an_amount_of_no_open_invoice_or_of_two_matches_nothing():
    assert match_shared(None, (), 1_000_002, [A, B]) is None
    assert match_shared(None, (), 2_000_000, [PAID]) is None  # closed invoices are not matched by amount
    twin = SharedInvoice("t", "TTTT5555", None, 1_000_000, True)
    assert match_shared(None, (), 1_000_000, [A, twin]) is None
