"""The dependency rule, enforced: what each of the project's packages may import.

Dependencies point inward: ``catalog`` and ``nlu`` import no other project package,
``account_link`` may import ``catalog``, ``skill`` all three, the HTTP layer (``web``)
those and ``skill``; only the composition root (``app.py`` and the command line) and
the development tools wire everything. Every ``import`` counts, including those inside
functions (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

MAY_IMPORT: dict[str, frozenset[str]] = {
    "catalog": frozenset(),
    "nlu": frozenset(),
    "account_link": frozenset({"catalog"}),
    "skill": frozenset({"catalog", "nlu", "account_link"}),
    "web": frozenset({"catalog", "nlu", "account_link", "skill"}),
    "devtools": frozenset({"catalog", "nlu", "account_link", "skill", "web", "voicecart", "app"}),
    "voicecart": frozenset({"catalog", "nlu", "account_link", "skill", "web", "devtools", "app"}),
    "migrations": frozenset({"catalog", "account_link", "skill"}),  # every table: one schema
    "app": frozenset({"catalog", "nlu", "account_link", "skill", "web", "devtools", "voicecart"}),
}
"""Each top-level project package (or module) and the project packages it may import."""


def _project_packages() -> set[str]:
    """The project's own top-level packages and modules, as found on disk."""
    found = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    return found | {p.stem for p in ROOT.glob("*.py")}


def _sources(package: str) -> Iterator[Path]:
    single = ROOT / f"{package}.py"
    if single.is_file():
        yield single
        return
    yield from sorted((ROOT / package).rglob("*.py"))


def _imported(path: Path) -> Iterator[tuple[int, str]]:
    """(line, top-level name) of every absolute import in a source file."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def test_every_project_package_has_a_rule() -> None:
    assert _project_packages() - set(MAY_IMPORT) == set()


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_imports_point_inward(package: str) -> None:
    project = _project_packages()
    allowed = MAY_IMPORT[package] | {package}
    broken = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in _sources(package)
        for line, name in _imported(path)
        if name in project and name not in allowed
    ]
    assert broken == [], f"{package} may import only {sorted(MAY_IMPORT[package])}"


def test_the_rule_catches_a_wrong_import(tmp_path: Path) -> None:
    """The checker itself: an inward import passes, an outward one is found (inside a
    function too)."""
    source = tmp_path / "sample.py"
    source.write_text("import catalog.models\n\ndef f():\n    from skill.turn import Turn\n")
    assert list(_imported(source)) == [(1, "catalog"), (4, "skill")]
