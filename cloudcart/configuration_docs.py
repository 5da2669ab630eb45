"""docs/configuration.md, generated from the code that reads the environment, so it cannot drift.

The sources are read as text, never imported: every `env.<type>("NAME", default=...)` (and
`env("NAME")`) in cloudcart/settings.py, every `os.environ.get("NAME", default)` / `os.getenv` /
`os.environ["NAME"]` in deploy/gunicorn.conf.py, and every `export NAME ?= default` in the
Makefile. A setting's meaning is the comment right above it (or above its paragraph) plus any
comment at the end of its line; its section is the last `# --- Section ---` header above it.
"""

import ast
import io
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIGURATION_DOC = ROOT / "docs" / "configuration.md"
REGENERATE = "python manage.py docs --write"
# (path, section used until the file names one): the files that read the environment.
PYTHON_SOURCES = [
    ("cloudcart/settings.py", "Django core"),
    ("deploy/gunicorn.conf.py", "gunicorn (deploy/gunicorn.conf.py)"),
]
MAKEFILE = ("Makefile", "make run (Makefile, Procfile)")

_SECTION = re.compile(r"^#\s*-{2,}\s*(?P<title>.*?)\s*-*\s*$")
_MAKE_EXPORT = re.compile(
    r"^export\s+(?P<name>[A-Z][A-Z0-9_]*)\s*\?=\s*(?P<default>[^#]*?)\s*(#\s*(?P<comment>.*))?$"
)
_ENV_TYPES = {"str", "int", "float", "bool", "list", "tuple", "dict", "json", "url", "path"}
_ARITHMETIC = (ast.Constant, ast.BinOp, ast.UnaryOp, ast.operator, ast.unaryop)


@dataclass
class Setting:
    """One environment variable: where it is read and what it means."""

    name: str
    section: str
    source: str
    kind: str = "str"
    defaults: list[str] = field(default_factory=list)
    meanings: list[str] = field(default_factory=list)
    production_only: bool = False

    def merge(self, other: "Setting") -> None:
        self.production_only = self.production_only and other.production_only
        for default in other.defaults:
            if default not in self.defaults:
                self.defaults.append(default)
        for meaning in other.meanings:
            if meaning not in self.meanings:
                self.meanings.append(meaning)

    @property
    def meaning(self) -> str:
        return " ".join(["Production only." if self.production_only else "", *self.meanings]).strip()


def _comments(text: str) -> dict[int, tuple[str, bool]]:
    """{line number: (comment text, whether the comment stands alone on its line)}."""
    found = {}
    lines = text.splitlines()
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.COMMENT:
            row, col = token.start
            alone = not lines[row - 1][:col].strip()
            found[row] = (token.string.lstrip("#").strip(), alone)
    return found


def _comment_above(line: int, *, lines: list[str], comments: dict) -> list[str] | None:
    """The block of whole-line comments ending right above `line` (None when there is none)."""
    block = []
    row = line - 1
    while row >= 1 and row in comments and comments[row][1] and not _SECTION.match(lines[row - 1].strip()):
        block.insert(0, comments[row][0])
        row -= 1
    return block or None


def _meaning(
    call_line: int, statement: ast.stmt, *, lines: list[str], comments: dict, env_lines: set, trailing: bool
) -> list[str]:
    """The comment above the call, else above its statement, else (with no comment at the end of its
    line) the comment above the run of settings it is in.

    A comment stands for the settings right below it: walking up from the statement, lines of other
    statements that read the environment are passed over; anything else (code, a blank line, a
    section header) ends the search.
    """
    for line in (call_line, statement.lineno):
        block = _comment_above(line, lines=lines, comments=comments)
        if block:
            return block
    if trailing:
        return []
    row = statement.lineno - 1
    while row >= 1 and row in env_lines:
        block = _comment_above(row, lines=lines, comments=comments)
        if block:
            return block
        row -= 1
    return []


def _literal(node: ast.expr, text: str) -> str:
    """A default as a reader wants it: the value when literal, else the expression."""
    try:
        value = ast.literal_eval(node)
    except ValueError:
        if not all(isinstance(n, _ARITHMETIC) for n in ast.walk(node)):
            return f"`{ast.get_source_segment(text, node)}`"
        # Plain arithmetic on numbers (`64 * 1024`): its value reads better.
        value = eval(compile(ast.Expression(node), "<default>", "eval"), {"__builtins__": {}})  # noqa: S307
    if value in ("", None, [], ()):
        return "(empty)"
    if isinstance(value, list | tuple):
        return "`" + ",".join(str(v) for v in value) + "`"
    return f"`{value}`"


def _default(node: ast.expr | None, text: str) -> str:
    if node is None:
        return "required"
    # `"" if IS_PRODUCTION else "http://..."`: say which environment gets what.
    if isinstance(node, ast.IfExp) and isinstance(node.test, ast.Name) and node.test.id == "IS_PRODUCTION":
        return f"{_literal(node.orelse, text)} (production: {_literal(node.body, text)})"
    return _literal(node, text)


def _env_read(call: ast.Call, parents: dict) -> tuple[str, str, ast.expr | None] | None:
    """(name, type, default expression) when `call` reads an environment variable."""
    func = call.func
    if not call.args or not isinstance(call.args[0], ast.Constant) or not isinstance(call.args[0].value, str):
        return None
    name = call.args[0].value
    keywords = {kw.arg: kw.value for kw in call.keywords}
    if isinstance(func, ast.Name) and func.id == "env":
        return name, "str", keywords.get("default")
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "env":
        if func.attr in _ENV_TYPES:
            return name, func.attr, keywords.get("default")
    is_environ_get = (
        isinstance(func, ast.Attribute)
        and func.attr == "get"
        and isinstance(func.value, ast.Attribute)
        and func.value.attr == "environ"
    )
    is_getenv = isinstance(func, ast.Attribute) and func.attr == "getenv"
    if is_environ_get or is_getenv:
        default = call.args[1] if len(call.args) > 1 else keywords.get("default")
        parent = parents.get(call)
        kind = "str"
        if (
            isinstance(parent, ast.Call)
            and isinstance(parent.func, ast.Name)
            and parent.func.id in ("int", "float")
        ):
            kind = parent.func.id
        return name, kind, default if default is not None else ast.Constant(value="")
    return None


def _in_production_branch(node: ast.AST, parents: dict) -> bool:
    child, parent = node, parents.get(node)
    while parent is not None:
        if (
            isinstance(parent, ast.If)
            and isinstance(parent.test, ast.Name)
            and parent.test.id == "IS_PRODUCTION"
        ):
            return child in parent.body
        child, parent = parent, parents.get(parent)
    return False


def python_settings(text: str, *, source: str, section: str) -> list[Setting]:
    """The environment reads of one Python module, in the order they appear."""
    tree = ast.parse(text)
    lines = text.splitlines()
    comments = _comments(text)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    sections = {
        row: match.group("title")
        for row, line in enumerate(lines, 1)
        if (match := _SECTION.match(line.strip()))
    }
    reads = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (read := _env_read(node, parents)):
            statement = node
            while not isinstance(statement, ast.stmt):
                statement = parents[statement]
            reads.append((node, statement, read))
    env_lines = {
        row for _, statement, _ in reads for row in range(statement.lineno, statement.end_lineno + 1)
    }
    found = []
    for node, statement, (name, kind, default_node) in reads:
        trailing = comments.get(node.end_lineno)
        trailing = trailing[0] if trailing and not trailing[1] else None
        meaning = _meaning(
            node.lineno,
            statement,
            lines=lines,
            comments=comments,
            env_lines=env_lines,
            trailing=bool(trailing),
        )
        if trailing and trailing not in meaning:
            meaning = [*meaning, trailing]
        default = _default(default_node, text)
        production_only = _in_production_branch(node, parents)
        if production_only:
            default = f"{default} in production" if default == "required" else f"production: {default}"
        titles = [title for row, title in sections.items() if row < node.lineno]
        setting = Setting(
            name=name,
            section=titles[-1] if titles else section,
            source=source,
            kind=kind,
            defaults=[default],
            meanings=[" ".join(meaning)] if meaning else [],
            production_only=production_only,
        )
        found.append((node.lineno, node.col_offset, setting))
    return [setting for *_, setting in sorted(found, key=lambda item: item[:2])]


def makefile_settings(text: str, *, source: str, section: str) -> list[Setting]:
    """`export NAME ?= default  # meaning` lines (the comment may also stand above the line)."""
    found = []
    lines = text.splitlines()
    for row, line in enumerate(lines):
        match = _MAKE_EXPORT.match(line.strip())
        if not match:
            continue
        meaning = []
        above = row - 1
        while above >= 0 and lines[above].startswith("#") and not _SECTION.match(lines[above]):
            meaning.insert(0, lines[above].lstrip("#").strip())
            above -= 1
        if match.group("comment"):
            meaning.append(match.group("comment").strip())
        default = match.group("default").strip()
        found.append(
            Setting(
                name=match.group("name"),
                section=section,
                source=source,
                defaults=[f"`{default}`" if default else "(empty)"],
                meanings=[" ".join(meaning)] if meaning else [],
            )
        )
    return found


def settings_all(root: Path = ROOT) -> list[Setting]:
    """Every environment variable CloudCart reads, each once, in source order."""
    by_name: dict[str, Setting] = {}
    found = []
    for path, section in PYTHON_SOURCES:
        found += python_settings((root / path).read_text(), source=path, section=section)
    found += makefile_settings((root / MAKEFILE[0]).read_text(), source=MAKEFILE[0], section=MAKEFILE[1])
    for setting in found:
        if setting.name in by_name:
            by_name[setting.name].merge(setting)
        else:
            by_name[setting.name] = setting
    return list(by_name.values())


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def configuration_markdown(root: Path = ROOT) -> str:
    settings = settings_all(root)
    out = [
        "# Configuration",
        "",
        f"<!-- Generated by `{REGENERATE}` from the sources below; edit those, not this file. -->",
        "",
        "Every setting is an environment variable. The defaults run the local stack (`make run`, "
        "`make test`) with no `.env`; `DJANGO_ENV=production` removes the defaults of secrets, so a "
        "production process without them does not start. `.env.example` lists the ones you are most "
        "likely to change. The CDK stack (`deploy/`) sets the production values for every task.",
        "",
        "Read from: " + ", ".join(f"`{path}`" for path, _ in PYTHON_SOURCES) + f", `{MAKEFILE[0]}`. "
        f"{len(settings)} settings.",
    ]
    sections: dict[str, list[Setting]] = {}
    for setting in settings:
        sections.setdefault(f"{setting.section}", []).append(setting)
    for title, members in sections.items():
        out += ["", f"## {title}", "", "| variable | type | default | meaning |", "|---|---|---|---|"]
        out += [
            f"| `{s.name}` | {s.kind} | {_cell('; '.join(s.defaults))} | {_cell(s.meaning)} |"
            for s in members
        ]
    return "\n".join(out) + "\n"


def undocumented(root: Path = ROOT) -> list[str]:
    """Settings read with no comment to explain them."""
    return [f"{s.name} ({s.source})" for s in settings_all(root) if not s.meaning.strip()]
