"""The team-written synopses: valid, matched to the real catalog, and used as encoder text."""

import json

import pandas as pd
import pytest

from vidrec.data.schema import Dataset
from vidrec.data.synopses import SYNOPSES_FILE, load_synopses, with_synopses
from vidrec.errors import DataError


@pytest.fixture(scope="module")
def synopses():
    return load_synopses()


def test_shipped_synopses_match_the_real_catalog(synopses, ml100k):
    catalog = ml100k.catalog.set_index("video_id")["title"]
    assert len(synopses) >= 500
    mismatched = synopses[synopses["video_id"].map(catalog) != synopses["title"]]
    assert mismatched.empty, mismatched[["video_id", "title"]].head()
    assert not synopses["synopsis"].duplicated().any()
    assert synopses["synopsis"].str.split().str.len().between(20, 45).all()


def tiny_dataset():
    catalog = pd.DataFrame({
        "video_id": [1, 2], "title": ["Toy Story (1995)", "Alien (1979)"],
        "year": pd.array([1995, 1979], dtype="Int64"), "genres": ["Animation", "Horror"],
        "description": ["", ""], "tags": ["", ""], "text": ["Toy Story (1995).", "Alien (1979)."],
    })  # fmt: skip
    ratings = pd.DataFrame({"user_id": [1], "video_id": [1], "rating": [5.0], "timestamp": [0]})
    return Dataset("tiny", catalog, ratings)


def test_synopses_become_description_keywords_and_text():
    syn = pd.DataFrame({
        "video_id": [1, 2], "title": ["Toy Story (1995)", "Alien (1980)"],
        "synopsis": ["Toys come alive when nobody watches.", "Wrong year: must be skipped."],
        "keywords": [["toys", "friendship", "rivalry"], ["space", "monster", "crew"]],
    })  # fmt: skip
    out = with_synopses(tiny_dataset(), syn).catalog
    assert out.loc[0, "description"] == "Toys come alive when nobody watches."
    assert out.loc[0, "tags"] == "toys|friendship|rivalry"
    assert "Keywords: toys, friendship, rivalry." in out.loc[0, "text"]
    assert out.loc[1, "description"] == "" and out.loc[1, "text"] == "Alien (1979). Genres: Horror."


@pytest.mark.parametrize(
    "entry, match",
    [
        ({"synopsis": "Too short."}, "words"),
        ({"keywords": ["one"]}, "keywords"),
        ({"video_id": "x"}, "integer"),
    ],
)
def test_bad_synopsis_files_are_rejected(tmp_path, entry, match):
    good = {"video_id": 1, "title": "Toy Story (1995)", "keywords": ["toys", "friends", "rivalry"],
            "synopsis": " ".join(["word"] * 25)}  # fmt: skip
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"films": [{**good, **entry}]}))
    with pytest.raises(DataError, match=match):
        load_synopses(path)


def test_the_default_file_is_in_assets():
    assert SYNOPSES_FILE.parent.name == "assets"
