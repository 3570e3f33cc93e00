"""Shared fixtures: one real build per test session, the app on it, and a tiny catalog."""

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from vidrec.artifacts import load_artifacts
from vidrec.config import Config

APP_TIMEOUT = 300  # the first run in a process loads the Transformer and the artifacts


@pytest.fixture(scope="session")
def built_config(tmp_path_factory) -> Config:
    """A temp home with MovieLens 100K downloaded, embedded, indexed and trained (once)."""
    config = Config(home=tmp_path_factory.mktemp("vidrec-home"))
    load_artifacts(config)
    return config


@pytest.fixture
def app(built_config, monkeypatch):
    """app.py through AppTest on the real build, after its first run."""
    monkeypatch.setenv("VIDREC_HOME", str(built_config.home))
    at = AppTest.from_file("../app.py", default_timeout=APP_TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


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
    """The tiny catalog in this test's temp folder."""
    return tiny_catalog(tmp_path)
