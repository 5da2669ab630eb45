"""The generated parts of docs/ match their sources: the settings reference and the error codes."""

import textwrap
from pathlib import Path

from cloudcart.configuration_docs import (
    CONFIGURATION_DOC,
    REGENERATE,
    configuration_markdown,
    python_settings,
    settings_all,
    undocumented,
)
from cloudcart.error_codes import API_DOC, error_codes_markdown, error_statuses
from cloudcart.errors import ERROR_CODES

ROOT = Path(__file__).resolve().parents[2]


def test_configuration_doc_is_generated_from_the_current_sources():
    assert CONFIGURATION_DOC.read_text() == configuration_markdown(), (
        f"docs/configuration.md is stale: run `{REGENERATE}` (or `make docs`) and commit it"
    )


def test_every_setting_has_a_comment_to_document_it():
    assert undocumented() == [], "add a comment right above each of these settings, then `make docs`"


def test_every_env_read_in_settings_is_documented():
    """Independent of the generator's parser: a plain text search for env reads in settings.py."""
    import re

    text = (ROOT / "cloudcart" / "settings.py").read_text()
    read = set(re.findall(r"\benv(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]*)\"", text))
    documented = {setting.name for setting in settings_all()}
    assert read, "no env reads found: the pattern no longer matches settings.py"
    assert read <= documented, read - documented


def test_the_generator_picks_up_a_new_setting_with_its_comment_and_default():
    source = textwrap.dedent(
        """
        # --- Shop ----------------------------------------------------------------
        SHOP_CURRENCY = env.str("SHOP_CURRENCY", default="USD")

        # How many reviews a product page shows.
        REVIEWS_PER_PAGE = env.int("REVIEWS_PER_PAGE", default=2 * 10)
        if IS_PRODUCTION:
            # Where receipts come from.
            RECEIPT_FROM = env.str("RECEIPT_FROM")
        TIMEOUT = env.float("TIMEOUT", default=1.5)  # seconds, per call
        """
    )
    found = {s.name: s for s in python_settings(source, source="settings.py", section="Django core")}
    assert list(found) == ["SHOP_CURRENCY", "REVIEWS_PER_PAGE", "RECEIPT_FROM", "TIMEOUT"]
    reviews = found["REVIEWS_PER_PAGE"]
    assert (reviews.kind, reviews.defaults, reviews.section) == ("int", ["`20`"], "Shop")
    assert reviews.meaning == "How many reviews a product page shows."
    assert found["RECEIPT_FROM"].defaults == ["required in production"]
    assert found["RECEIPT_FROM"].meaning == "Production only. Where receipts come from."
    assert found["TIMEOUT"].meaning == "seconds, per call"
    assert found["SHOP_CURRENCY"].meaning == ""  # no comment: reported by undocumented()


def test_env_example_names_only_real_settings():
    names = {setting.name for setting in settings_all()}
    example = [
        line.lstrip("# ").split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and line.lstrip("# ").split("=", 1)[0].isupper()
    ]
    assert example, ".env.example lists no settings"
    assert set(example) <= names, set(example) - names


def test_api_doc_error_table_matches_error_codes():
    assert error_codes_markdown() in API_DOC.read_text(), (
        f"docs/api.md's error-code table is stale: run `{REGENERATE}` (or `make docs`) and commit it"
    )


def test_every_error_code_has_a_status():
    statuses = error_statuses()
    assert set(ERROR_CODES) <= set(statuses), set(ERROR_CODES) - set(statuses)
    assert all(400 <= status < 600 for status in statuses.values())
