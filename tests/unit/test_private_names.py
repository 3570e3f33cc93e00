"""No module reads another module's ``_private`` names: a need for one is a missing public seam.

A module may use a ``_name`` it defines itself (a function, a class attribute or ``self._name``
on one of its own classes, reached through another instance of that class too). Anything else,
an ``import`` of ``_name`` or ``obj._name`` that the module does not define, is flagged.
"""

from __future__ import annotations

import ast
from pathlib import Path

from vidrec.config import REPO

THIRD_PARTY = {"_version"}  # torch's in-place version counter: torch has no public name for it


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def own_names(tree: ast.Module) -> set[str]:
    """Private names a module defines: defs, classes, assignments, self._x = ... attributes."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
    return {n for n in names if private(n)}


def foreign_private_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    mine = own_names(tree) | THIRD_PARTY
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            found += [f"imports {a.name}" for a in node.names if private(a.name)]
        elif isinstance(node, ast.Attribute) and private(node.attr) and node.attr not in mine:
            found.append(f"line {node.lineno}: .{node.attr}")
    return found


def sources() -> list[Path]:
    return sorted((REPO / "vidrec").rglob("*.py")) + [REPO / "app.py"]


def test_no_module_reads_another_modules_private_names():
    bad = {str(p.relative_to(REPO)): uses for p in sources() if (uses := foreign_private_uses(p))}
    assert not bad, bad


def test_the_check_catches_a_foreign_private_name(tmp_path):
    """Not vacuous: the shapes the engine used to have are flagged, its own names are not."""
    module = tmp_path / "m.py"
    module.write_text(
        "from vidrec.recommender import _zscore\n"
        "class A:\n    def __init__(self):\n        self._mine = 1\n"
        "    def same(self, other):\n        return other._mine\n"
        "def f(rec):\n    return rec._pool\n",
        encoding="utf-8",
    )
    assert foreign_private_uses(module) == ["imports _zscore", "line 8: ._pool"]
