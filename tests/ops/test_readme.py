"""The README stays a short front door whose links all lead somewhere."""

import re
from pathlib import Path

from django.core.management import get_commands

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


_CODE = re.compile(r"```[a-z]*\n(.*?)```|`([^`\n]+)`", re.S)


def _code(page: Path) -> str:
    """Every code block and inline code span of a page, one after another."""
    return "\n".join(block or span for block, span in _CODE.findall(page.read_text()))


def test_the_docs_name_only_make_targets_and_commands_that_exist():
    targets = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.M))
    commands = set(get_commands())  # ours and the installed apps' (drf-spectacular's `spectacular`)
    pages = [README, ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
    unknown = [
        f"{page.relative_to(ROOT)}: {kind} {name}"
        for page in pages
        for kind, pattern, known in (
            ("make", r"(?:^|[\s;&(])make (?:-s )?([a-z][a-z-]*)", targets),
            ("manage.py", r"manage\.py ([a-z_]+)", commands),
        )
        for name in re.findall(pattern, _code(page), re.M)
        if name not in known
    ]
    assert unknown == []


def test_the_readme_and_contributing_run_python_tools_from_the_venv():
    """A newcomer's shell has no venv on its PATH: a bare `python manage.py` or `pytest` fails."""
    bare = [
        f"{page.name}: {line.strip()}"
        for page in (README, ROOT / "CONTRIBUTING.md")
        for line in _code(page).splitlines()
        if re.match(r"\s*(python3? manage\.py|pytest)\b", line)
    ]
    assert bare == []
