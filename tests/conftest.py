"""Shared fixtures and markers for unit/, integration/ and e2e/.

One real MovieLens 100K download and one real build per test session, the app on that build,
and a tiny own-format catalog (built once for the tests that only read it). Markers:
``slow`` (a real build, training or a long run), ``browser`` (Chromium through Playwright) and
``real_data`` (the real MovieLens 100K), so ``pytest -m "not slow and not browser"`` is the quick
run before a commit.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from vidrec.artifacts import load_artifacts, load_recommender
from vidrec.config import REPO, Config
from vidrec.data.movielens import load_movielens_100k
from vidrec.data.schema import Dataset
from vidrec.recommender import HybridRecommender

TESTS = Path(__file__).resolve().parent
APP_FILE = REPO / "app.py"  # absolute: AppTest resolves a relative path from the caller's folder
APP_TIMEOUT = 300  # the first run in a process loads the Transformer and the artifacts

BROWSER_FILES = {"test_browser.py", "test_browser_concurrent.py", "test_browser_screens.py"}
REAL_BUILD = {"built_config", "real_engine"}  # the real build: slow, and real data
REAL_DATA = {*REAL_BUILD, "ml100k_home", "ml100k"}


def pytest_collection_modifyitems(config, items):
    """Mark by folder and fixture: e2e/ is slow, the Playwright files are browser, and a test
    that uses the real data or the real build is real_data (and slow for the build)."""
    for item in items:
        path = Path(str(item.fspath)).resolve()
        fixtures = set(getattr(item, "fixturenames", ()))
        if TESTS / "e2e" in path.parents:
            item.add_marker(pytest.mark.slow)
        if path.name in BROWSER_FILES:  # they ask for the real build once Chromium is found
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.real_data)
        if fixtures & REAL_DATA:
            item.add_marker(pytest.mark.real_data)
        if fixtures & REAL_BUILD:
            item.add_marker(pytest.mark.slow)


# --- the real MovieLens 100K and the real build (once per session) ------------------------------


@pytest.fixture(scope="session")
def ml100k_home(tmp_path_factory) -> Path:
    """A temp vidrec home holding the real, verified MovieLens 100K cache (fetched once)."""
    home = tmp_path_factory.mktemp("vidrec-home")
    load_movielens_100k(home)
    return home


@pytest.fixture(scope="session")
def ml100k(ml100k_home) -> Dataset:
    """The real MovieLens 100K, read from the session's cache."""
    return load_movielens_100k(ml100k_home)


@pytest.fixture(scope="session")
def built_config(ml100k_home) -> Config:
    """The session's home with MovieLens 100K embedded, indexed and trained (once)."""
    config = Config(home=ml100k_home)
    load_artifacts(config)
    return config


@pytest.fixture(scope="session")
def real_engine(built_config) -> HybridRecommender:
    """The recommender on the real build, loaded afresh from disk apart from any app (once per
    session; tests only read it): the oracle the app's and the browser's lists must equal."""
    return load_recommender(built_config)


# --- the app through AppTest --------------------------------------------------------------------


def run_app(home: Path, monkeypatch, viewer_id: str | None = None) -> AppTest:
    """app.py through AppTest on the build under home, after its first run (as a fresh browser
    session would open it, with ``?viewer=<id>`` when given)."""
    monkeypatch.setenv("VIDREC_HOME", str(home))
    at = AppTest.from_file(str(APP_FILE), default_timeout=APP_TIMEOUT)
    if viewer_id is not None:
        at.query_params["viewer"] = viewer_id
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def app(built_config, monkeypatch) -> AppTest:
    """app.py through AppTest on the real build, after its first run."""
    return run_app(built_config.home, monkeypatch)


# --- the tiny catalog ---------------------------------------------------------------------------


TINY_VIDEOS = [
    (
        1,
        "Space Robots",
        "Robots explore a distant planet and fight a war among the stars.",
        "Sci-Fi|Adventure",
    ),
    (2, "Galaxy Patrol", "Starship pilots defend the galaxy from alien invaders.", "Sci-Fi|Action"),
    (3, "Moon Base", "Astronauts on a lunar base face a strange signal.", "Sci-Fi|Thriller"),
    (
        4,
        "Paris in Spring",
        "Two strangers fall in love on a rainy week in Paris.",
        "Romance|Comedy",
    ),
    (5, "Wedding Season", "A best man falls for the bride's sister.", "Romance|Comedy"),
    (6, "Letters Home", "A soldier's letters win a nurse's heart.", "Romance|Drama"),
    (
        7,
        "Haunted Hollow",
        "A family moves into a house where something waits in the dark.",
        "Horror",
    ),
    (8, "The Night Visitor", "A killer stalks a small town after dark.", "Horror|Thriller"),
]


def tiny_catalog(root: Path) -> Config:
    """Own-format CSVs under root: three tastes, eight videos, twenty viewers; builds in seconds."""
    folder = root / "catalog"
    folder.mkdir()
    pd.DataFrame(TINY_VIDEOS, columns=["video_id", "title", "description", "genres"]).to_csv(
        folder / "videos.csv", index=False
    )
    rows = []
    for user in range(1, 21):
        taste = [(1, 2, 3), (4, 5, 6), (7, 8)][user % 3]
        rows += [(user, v, 5 if (v + user) % 2 else 4) for v in taste]
        rows.append((user, (taste[0] + 3) % 8 + 1, 2))
    pd.DataFrame(rows, columns=["user_id", "video_id", "rating"]).to_csv(
        folder / "ratings.csv", index=False
    )
    return Config(home=root / "home", dataset=str(folder), factors=4, mf_epochs=4)


@pytest.fixture
def tiny_config(tmp_path) -> Config:
    """The tiny catalog in this test's own temp folder, not built: for tests that build it,
    damage it or kill its build."""
    return tiny_catalog(tmp_path)


@pytest.fixture(scope="session")
def tiny_built(tmp_path_factory) -> Config:
    """The tiny catalog built once per session, for tests that only read it (never change it)."""
    config = tiny_catalog(tmp_path_factory.mktemp("tiny"))
    load_artifacts(config)
    return config
