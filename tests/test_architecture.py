"""The layout: import contracts hold (and bite), old paths forward, the README map is whole."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from vidrec.config import REPO
from vidrec.moved import MOVED

CONTRACTS = {
    "layers": "The loop runs one way: each layer imports only the layers below it",
    "streamlit": "Only the browser front end imports streamlit",
    "engine": "The engine never imports evaluation, benchmarks, the viewer layer or a front end",
    "torch": "Storage, settings, data and result files load without torch or transformers",
    "circles": "No import circles between modules or packages anywhere",
}


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """Run import-linter's `lint-imports` on the package under root with root's pyproject.toml."""
    command = shutil.which("lint-imports")
    assert command, "lint-imports is missing: python -m pip install -r requirements-dev.txt"
    return subprocess.run(
        [command, "--no-cache", "--no-logo"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
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


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_import_path_still_imports_with_a_deprecation_warning(old):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=re.escape(MOVED[old][0])):
        module = importlib.import_module(old)
    new = importlib.import_module(MOVED[old][0])
    public = [n for n in vars(new) if not n.startswith("_") and getattr(new, n) is not None]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert all(getattr(module, name) is getattr(new, name) for name in public)
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        module.no_such_name  # noqa: B018


def test_the_old_path_of_a_moved_name_finds_its_new_home():
    sys.modules.pop("vidrec.evaluate", None)
    sys.modules.pop("vidrec.results", None)
    with pytest.warns(DeprecationWarning):
        from vidrec.evaluate import ranking_metrics  # noqa: PLC0415 - the old path, on purpose
        from vidrec.results import run_eval  # noqa: PLC0415
    from vidrec.evaluation.runner import run_eval as new_run_eval
    from vidrec.metrics import ranking_metrics as new_metrics

    assert ranking_metrics is new_metrics and run_eval is new_run_eval


def test_nothing_in_the_repository_uses_an_old_path():
    old = re.compile(r"\b(?:from|import)\s+(" + "|".join(map(re.escape, MOVED)) + r")\b")
    sources = [*REPO.joinpath("vidrec").rglob("*.py"), *REPO.joinpath("tests").glob("*.py")]
    used = [
        f"{p.name}: {m[1]}"
        for p in [*sources, REPO / "app.py"]
        if p.name not in {"moved.py", "test_architecture.py"}
        for m in old.finditer(p.read_text(encoding="utf-8"))
    ]
    assert used == []
