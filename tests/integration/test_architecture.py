"""The layout: import contracts hold (and bite), the README map is whole."""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vidrec.config import REPO

CONTRACTS = {
    "layers": "The loop runs one way: each layer imports only the layers below it",
    "streamlit": "Only the browser front end imports streamlit",
    "engine": "The engine never imports evaluation, benchmarks, the viewer layer or a front end",
    "torch": "Storage, settings, data and result files load without torch or transformers",
    "circles": "No import circles between modules or packages anywhere",
}


# import-linter's own entry point, run by this very interpreter: the venv's python finds it
# whether or not the venv is activated (a `lint-imports` looked up on PATH may be another one)
LINT_IMPORTS = "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())"


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """Run import-linter on the package under root with root's pyproject.toml."""
    return subprocess.run(
        [sys.executable, "-c", LINT_IMPORTS, "--no-cache", "--no-logo"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": ""},  # nothing found through PATH: the regression of issue 22
    )


def test_every_import_contract_is_kept():
    run = lint_imports(REPO)
    assert run.returncode == 0, run.stdout + run.stderr
    for name in CONTRACTS.values():
        assert re.search(re.escape(name) + r"\s*KEPT", run.stdout), name
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in run.stdout


BREAKS = {  # module -> line appended -> the contracts it must break
    "layers": ("vidrec/data/schema.py", "from vidrec.recommender import HybridRecommender"),
    "streamlit": ("vidrec/viewer/session.py", "import streamlit"),
    "engine": ("vidrec/artifacts.py", "from vidrec.evaluation import report"),
    "torch": ("vidrec/viewer/store.py", "from vidrec import coldstart"),
    "circles": ("vidrec/ui/common.py", "from vidrec.ui import foryou"),
}


@pytest.mark.parametrize("contract", BREAKS)
def test_a_forbidden_import_breaks_its_contract(tmp_path, contract):
    """The contracts are not vacuous: one bad import in a copy of the package is caught."""
    shutil.copytree(
        REPO / "vidrec", tmp_path / "vidrec", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    module, line = BREAKS[contract]
    with (tmp_path / module).open("a", encoding="utf-8") as handle:
        handle.write(f"\n{line}  # noqa\n")
    run = lint_imports(tmp_path)
    assert run.returncode != 0
    assert re.search(re.escape(CONTRACTS[contract]) + r"\s*BROKEN", run.stdout), run.stdout


def modules_on_disk() -> set[str]:
    return {
        p.relative_to(REPO).as_posix()
        for p in (REPO / "vidrec").rglob("*.py")
        if p.name != "__init__.py" and "__pycache__" not in p.parts
    }


def module_map() -> str:
    """The README's module map: the table under "How it works", up to its next heading."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("| module |")
    return text[start : text.index("\n#", start)]


def test_the_readme_module_map_names_every_module_and_no_ghosts():
    named = set(re.findall(r"`(vidrec/[\w/]+\.py)`", module_map()))
    assert modules_on_disk() - named == set(), "modules missing from the README's module map"
    assert named - modules_on_disk() == set(), "the README's module map names modules that are gone"


def test_every_package_has_a_docstring_saying_what_it_holds():
    for init in (REPO / "vidrec").rglob("__init__.py"):
        assert importlib.import_module(".".join(init.relative_to(REPO).parent.parts)).__doc__, init
