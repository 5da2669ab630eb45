"""The README stays a short front door whose links all lead somewhere."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MAX_README_LINES = 200
_LINK = re.compile(r"\]\((?!https?://|#)([^)#\s]+)(#[^)]*)?\)")


def test_readme_fits_in_two_hundred_lines():
    lines = README.read_text().splitlines()
    assert len(lines) <= MAX_README_LINES, (
        f"README.md has {len(lines)} lines (max {MAX_README_LINES}): move detail to docs/"
    )


def test_readme_has_a_mermaid_architecture_diagram():
    text = README.read_text()
    assert "```mermaid\n" in text
    diagram = text.split("```mermaid\n", 1)[1].split("```", 1)[0]
    for box in ("DynamoDB", "SQS", "worker", "beat", "Load Balancer"):
        assert box in diagram, box


def test_every_relative_link_in_the_readme_and_docs_exists():
    pages = [README, ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
    missing = [
        f"{page.relative_to(ROOT)} -> {target}"
        for page in pages
        for target, _ in _LINK.findall(page.read_text())
        if not (page.parent / target).exists()
    ]
    assert missing == []
