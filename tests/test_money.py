"""Money at the edge: exact decimal strings in and out, never floats."""

from decimal import Decimal

import pytest

from cloudcart.money import format_cents, parse_amount


@pytest.mark.parametrize(
    ("cents", "text"), [(0, "0.00"), (1, "0.01"), (19999, "199.99"), (100, "1.00"), (123456789, "1234567.89")]
)
def test_format_cents_gives_two_decimal_places(cents, text):
    assert format_cents(cents) == text


@pytest.mark.parametrize(
    ("value", "cents"),
    [
        ("399.98", 39998),
        ("399.9", 39990),
        ("5", 500),
        (399.98, 39998),
        (0.1, 10),
        (7, 700),
        (Decimal("0.30"), 30),
    ],
)
def test_parse_amount_is_exact(value, cents):
    assert parse_amount(value) == cents


@pytest.mark.parametrize(
    "value", ["1.001", "-1", "NaN", "Infinity", "abc", "", None, True, [], {}, "1e13", "1e400"]
)
def test_parse_amount_rejects_what_is_not_money(value):
    with pytest.raises(ValueError):
        parse_amount(value)
