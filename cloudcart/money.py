"""Money at the API edge: integer cents inside, decimal strings outside, never floats."""

from decimal import Decimal, InvalidOperation

CENT = Decimal("0.01")


def format_cents(cents: int) -> str:
    """199999 -> "1999.99"."""
    return str((Decimal(int(cents)) * CENT).quantize(CENT))


def parse_amount(value) -> int:
    """ "1999.99", "1999.9", 1999.99 (JSON number) -> 199999 cents.

    Raises ValueError for anything that is not a finite, non-negative amount with at most two
    decimal places. JSON numbers are parsed through `str` so that 0.1 stays exactly 0.1.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ValueError("An amount must be a decimal string or number.")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError("Not a decimal amount.") from exc
    if not amount.is_finite() or amount < 0:
        raise ValueError("An amount must be finite and not negative.")
    # Size first: quantizing a huge amount ("1e400") raises InvalidOperation instead.
    if amount > Decimal("1e12"):
        raise ValueError("An amount is too large.")
    if amount != amount.quantize(CENT):
        raise ValueError("An amount has at most two decimal places.")
    return int(amount * 100)
