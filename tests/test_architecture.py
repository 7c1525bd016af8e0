"""The layout's rules, read off the code (`docs/architecture.md` says why):

- the domain imports nothing of the project outside it;
- the services import the domain and their own ports only;
- the HTTP kit imports nothing of launchday but itself;
- the API and the dashboard never import each other;
- nothing outside `store/` writes SQL;
- no module is over 500 lines;
- every module docs/architecture.md names exists.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "src" / "launchday"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
MAX_LINES = 500

# Uppercase SQL as the stores write it; prose that says "select" does not match.
SQL = re.compile(
    r"\bSELECT\b[\s\S]+\bFROM\b|\bINSERT\s+INTO\b|\bUPDATE\s+\w+\s+SET\b"
    r"|\bDELETE\s+FROM\b|\bCREATE\s+(?:UNIQUE\s+)?(?:TABLE|INDEX|SEQUENCE)\b"
)


def modules() -> Iterator[tuple[str, Path]]:
    """(dotted name, path) of every module of the package."""
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def imports_of(path: Path) -> set[str]:
    """The launchday modules `path` imports (at any depth of the file)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("launchday"):
                found.add(node.module)
                found |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("launchday")}
    return found


def in_layer(module: str, layer: str) -> bool:
    return module == layer or module.startswith(layer + ".")


def real(module: str) -> bool:
    """Whether `module` names a module of the package (not a name imported from one)."""
    return any(name == module for name, _ in modules())


ALL = list(modules())


def imported_modules(path: Path) -> set[str]:
    return {m for m in imports_of(path) if real(m)}


@pytest.mark.parametrize(("name", "path"), ALL, ids=[name for name, _ in ALL])
def test_each_module_imports_only_what_its_layer_may(name: str, path: Path) -> None:
    imported = imported_modules(path)
    if in_layer(name, "launchday.domain"):
        assert all(in_layer(m, "launchday.domain") for m in imported), imported
    if in_layer(name, "launchday.services"):
        allowed = ("launchday.domain", "launchday.services")
        assert all(any(in_layer(m, layer) for layer in allowed) for m in imported), imported
    if in_layer(name, "launchday.http"):
        assert all(in_layer(m, "launchday.http") for m in imported), imported
    if in_layer(name, "launchday.api"):
        assert not any(in_layer(m, "launchday.web") for m in imported), imported
    if in_layer(name, "launchday.web"):
        assert not any(in_layer(m, "launchday.api") for m in imported), imported


def string_constants(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value


@pytest.mark.parametrize(("name", "path"), ALL, ids=[name for name, _ in ALL])
def test_only_the_store_writes_sql(name: str, path: Path) -> None:
    if in_layer(name, "launchday.store"):
        return
    written = [text for text in string_constants(path) if SQL.search(text)]
    assert written == [], f"{name} writes SQL: {written[0][:80]!r}"


@pytest.mark.parametrize(("name", "path"), ALL, ids=[name for name, _ in ALL])
def test_no_module_is_over_500_lines(name: str, path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines"


def test_the_rules_catch_what_they_are_for() -> None:
    """The checks above can fail: SQL is recognised, and an import across the line is."""
    assert SQL.search("SELECT count(*) FROM orders")
    assert SQL.search("UPDATE variants SET placed = 1")
    assert not SQL.search("select the variants a buyer wants")
    assert "launchday.store.sqlite" in imported_modules(PACKAGE / "app.py") or (
        "launchday.store" in imported_modules(PACKAGE / "app.py")
    )


def modules_in_tree(text: str) -> set[str]:
    """The modules the page's folder tree lists: `name.py` under the folders above it
    (by indentation), starting at `src/launchday/`."""
    block = text.split("```", 2)[1]
    found: set[str] = set()
    folders: list[tuple[int, str]] = []  # (indent, name) of the folders the line is in
    for line in block.splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        first = line.split()[0]
        if first == "src/launchday/":
            continue  # the root of the tree
        folder = first.endswith("/")
        while folders and folders[-1][0] >= indent:
            folders.pop()
        if folder:
            folders.append((indent, first.rstrip("/")))
        path = [name for _, name in folders]
        for file in re.findall(r"\b(\w+)\.py\b", line):
            found.add(".".join(["launchday", *path, file]))
    return found


def test_every_module_the_architecture_page_names_exists() -> None:
    text = ARCHITECTURE.read_text()
    named = set(re.findall(r"`(launchday(?:\.\w+)+)`", text)) | modules_in_tree(text)
    files = re.findall(r"`((?:[\w.]+/)*[\w.]+\.py)`", text)
    outside = [f for f in files if f.startswith(("tests/", "bench/"))]
    named |= {
        "launchday." + f.removeprefix("src/launchday/").replace("/", ".").removesuffix(".py")
        for f in files
        if f not in outside
    }
    assert len(named) > 20, "the page names the modules it explains"
    missing = sorted(m for m in named if not real(m) and not _is_attribute(m))
    missing += [f for f in outside if not (ROOT / f).exists()]
    assert missing == [], f"docs/architecture.md names modules that do not exist: {missing}"


def _is_attribute(dotted: str) -> bool:
    """`launchday.app.create_app`: a name inside a module that exists."""
    module, _, attribute = dotted.rpartition(".")
    if not real(module):
        return False
    path = dict(ALL)[module]
    return (
        re.search(
            rf"^(?:def|class|async def)\s+{attribute}\b|^{attribute}\s*[:=]", path.read_text(), re.M
        )
        is not None
    )
