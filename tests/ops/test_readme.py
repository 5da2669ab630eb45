"""The README's error-code table is the one generated from cloudcart.errors.ERROR_CODES."""

from cloudcart.error_codes import README, error_codes_markdown, error_statuses
from cloudcart.errors import ERROR_CODES


def test_readme_error_table_matches_error_codes():
    assert error_codes_markdown() in README.read_text(), (
        "README.md's error-code table is stale: run `python manage.py error_codes --write`"
    )


def test_every_error_code_has_a_status():
    statuses = error_statuses()
    assert set(ERROR_CODES) <= set(statuses), set(ERROR_CODES) - set(statuses)
    assert all(400 <= status < 600 for status in statuses.values())
