"""Code speaks of the code: no tracker numbers ("issue 7") in modules, comments or config files."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TRACKER_NUMBER = re.compile(r"\bissues? ?#?\d+\b|\(#\d+\)", re.IGNORECASE)
CODE_SUFFIXES = {".py", ".sh", ".txt", ".toml", ".yml", ".yaml", ".cfg", ".ini", ".json", ".js", ".html"}
CODE_NAMES = {"Makefile", "Procfile", "Dockerfile", ".env.example", "run"}


def _tracked_code_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    files = [ROOT / name for name in names.splitlines()]
    return [
        path
        for path in files
        if (path.suffix in CODE_SUFFIXES or path.name in CODE_NAMES)
        and "tests/bench/results" not in str(path)
        and path != Path(__file__).resolve()  # this file spells the forms out to test the pattern
        and path.exists()
    ]


def test_no_tracker_numbers_in_code_comments_or_config():
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _tracked_code_files()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if TRACKER_NUMBER.search(line)
    ]
    assert found == [], "say what the code does, not which ticket asked for it:\n" + "\n".join(found)


def test_the_pattern_catches_the_usual_forms():
    for text in ("# issue 7", "(issue 12)", "Issue 5: the products", "issues 3", "(#42)"):
        assert TRACKER_NUMBER.search(text), text
    assert not TRACKER_NUMBER.search("an issue with 7 products")
