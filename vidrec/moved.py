"""Old import paths from before the package was split into subpackages, kept importing.

``import vidrec.store`` still works and gives a module that forwards every name to
``vidrec.viewer.store``, with a DeprecationWarning naming the new path, so code written against
the flat layout keeps running while it is updated. Nothing in this repository uses the old paths.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
import warnings

MOVED = {  # old path -> new home, in the order names are looked up
    "vidrec.evaluate": ("vidrec.evaluation.topk", "vidrec.metrics"),
    "vidrec.baselines": ("vidrec.evaluation.baselines",),
    "vidrec.coldeval": ("vidrec.evaluation.cold",),
    "vidrec.starseval": ("vidrec.evaluation.stars",),
    "vidrec.tageval": ("vidrec.evaluation.tags",),
    "vidrec.results": ("vidrec.evaluation.results", "vidrec.evaluation.runner"),
    "vidrec.report": ("vidrec.evaluation.report",),
    "vidrec.evalcharts": ("vidrec.evaluation.charts",),
    "vidrec.bench": ("vidrec.benchmarks.latency",),
    "vidrec.scalebench": ("vidrec.benchmarks.scale", "vidrec.benchmarks.synthetic"),
    "vidrec.ui.rerun_bench": ("vidrec.benchmarks.rerun",),
    "vidrec.session": ("vidrec.viewer.session",),
    "vidrec.store": ("vidrec.viewer.store",),
    "vidrec.transfer": ("vidrec.viewer.ratings_file",),
    "vidrec.personas": ("vidrec.viewer.personas",),
    "vidrec.projection": ("vidrec.viewer.projection",),
    "vidrec.charts": ("vidrec.viewer.charts",),
    "vidrec.demo": ("vidrec.viewer.demo",),
    "vidrec.leftovers": ("vidrec.tempfiles",),
}


class _OldPaths(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the old module names and builds forwarding modules for them."""

    def find_spec(self, name, path=None, target=None):
        if name not in MOVED:
            return None
        return importlib.util.spec_from_loader(name, self)

    def create_module(self, spec):
        return None  # the default: a fresh, empty module

    def exec_module(self, module: types.ModuleType) -> None:
        homes = MOVED[module.__name__]
        warnings.warn(
            f"{module.__name__} moved to {homes[0]}; import it from there",
            DeprecationWarning,
            stacklevel=2,
        )
        module.__getattr__ = _forwarder(module.__name__, homes)


def _forwarder(old: str, homes: tuple[str, ...]):
    def forward(name: str):
        for home in homes:
            new = importlib.import_module(home)
            if hasattr(new, name):
                return getattr(new, name)
        raise AttributeError(f"module {old!r} (moved to {homes[0]}) has no attribute {name!r}")

    return forward


def install() -> None:
    """Put the finder on sys.meta_path once."""
    if not any(isinstance(finder, _OldPaths) for finder in sys.meta_path):
        sys.meta_path.append(_OldPaths())
