"""Tests for vidrec.viewer.personas: the shipped personas file and its validation messages."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from vidrec.errors import DataError
from vidrec.viewer.personas import PERSONAS_FILE, Persona, load_personas, resolve_ratings

TINY_CATALOG = pd.DataFrame(
    {
        "video_id": [1, 2, 50, 181, 7, 8],
        "title": [
            "Toy Story (1995)",
            "GoldenEye (1995)",
            "Star Wars (1977)",
            "Return of the Jedi (1983)",
            "Twelve Monkeys (1995)",
            "Babe (1995)",
        ],
    }
)
TINY_RATINGS = {
    "Toy Story (1995)": 5,
    "GoldenEye (1995)": 4,
    "Star Wars (1977)": 5,
    "Return of the Jedi (1983)": 4.5,
    "Twelve Monkeys (1995)": 1,
}


def persona_entry(**changes: object) -> dict:
    entry = {"id": "tester", "name": "Tester", "icon": "🧪", "bio": "Rates things for tests."}
    entry["ratings"] = dict(TINY_RATINGS)
    entry.update(changes)
    return entry


def write_personas(tmp_path: Path, entries: object) -> Path:
    path = tmp_path / "personas.json"
    path.write_text(json.dumps(entries, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def real_catalog(ml100k) -> pd.DataFrame:
    """The real MovieLens 100K catalog (conftest's session download)."""
    return ml100k.catalog


# ----- the shipped file --------------------------------------------------------------------------


def test_shipped_personas_load_and_are_well_formed():
    personas = load_personas()
    assert PERSONAS_FILE.name == "personas.json" and PERSONAS_FILE.parent.name == "assets"
    assert len(personas) >= 8
    assert len({p.id for p in personas}) == len(personas)
    for persona in personas:
        assert isinstance(persona, Persona)
        assert persona.name and persona.icon and persona.bio
        assert 5 <= len(persona.ratings) <= 10
        assert all(1.0 <= stars <= 5.0 for stars in persona.ratings.values())


def test_shipped_personas_have_a_clear_taste():
    # Mostly loved films plus one or two pans that sharpen the contrast.
    for persona in load_personas():
        stars = list(persona.ratings.values())
        low = [s for s in stars if s <= 2]
        assert 1 <= len(low) <= 2, persona.id
        assert all(s >= 4 for s in stars if s > 2), persona.id


def test_shipped_personas_cover_the_promised_tastes():
    ids = {p.id for p in load_personas()}
    expected = {
        "scifi-fan",
        "family-night",
        "noir-crime",
        "romcom-lover",
        "horror-hound",
        "arthouse-critic",
        "action-junkie",
        "war-history",
    }
    assert expected <= ids


def test_every_persona_title_is_in_the_real_catalog(real_catalog):
    counts = real_catalog["title"].value_counts()
    for persona in load_personas():
        resolved = resolve_ratings(persona, real_catalog)
        assert len(resolved) == len(persona.ratings), persona.id
        assert sorted(resolved.values()) == sorted(persona.ratings.values())
        # A title listed twice in the catalog would make the seed ambiguous.
        assert all(counts[title] == 1 for title in persona.ratings), persona.id


# ----- resolve_ratings ---------------------------------------------------------------------------


def test_resolve_ratings_maps_titles_to_ids():
    persona = Persona("t", "T", "🧪", "bio", dict(TINY_RATINGS))
    resolved = resolve_ratings(persona, TINY_CATALOG)
    assert resolved == {1: 5.0, 2: 4.0, 50: 5.0, 181: 4.5, 7: 1.0}
    assert all(type(key) is int for key in resolved)


def test_resolve_ratings_lists_unknown_titles_with_close_matches():
    ratings = {"Star Wars (1978)": 5, "Toy Story (1995)": 4, "Completely Unknown Film (2031)": 3}
    persona = Persona("typo", "Typo", "🧪", "bio", ratings)
    with pytest.raises(DataError) as caught:
        resolve_ratings(persona, TINY_CATALOG)
    message = str(caught.value)
    assert "'typo'" in message
    assert "'Star Wars (1978)'" in message and "did you mean 'Star Wars (1977)'" in message
    assert "'Completely Unknown Film (2031)'" in message
    assert "rates 2 title(s)" in message and "Toy Story" not in message


def test_resolve_ratings_prefers_the_lowest_id_for_a_repeated_title():
    catalog = pd.DataFrame({"video_id": [9, 3], "title": ["Twin (1997)", "Twin (1997)"]})
    persona = Persona("t", "T", "🧪", "bio", {"Twin (1997)": 4})
    assert resolve_ratings(persona, catalog) == {3: 4.0}


def test_resolve_ratings_needs_the_catalog_columns():
    persona = Persona("t", "T", "🧪", "bio", dict(TINY_RATINGS))
    with pytest.raises(DataError, match="video_id"):
        resolve_ratings(persona, TINY_CATALOG.rename(columns={"video_id": "id"}))


# ----- load_personas validation ------------------------------------------------------------------


def test_load_personas_reads_a_valid_file(tmp_path):
    path = write_personas(tmp_path, [persona_entry(), persona_entry(id="other")])
    personas = load_personas(path)
    assert [p.id for p in personas] == ["tester", "other"]
    assert personas[0].ratings["Return of the Jedi (1983)"] == 4.5
    assert all(isinstance(s, float) for s in personas[0].ratings.values())


@pytest.mark.parametrize("stars", [0, 6, 5.5, "five", True, None, float("nan")])
def test_bad_stars_name_the_persona_and_field(tmp_path, stars):
    ratings = dict(TINY_RATINGS, **{"Babe (1995)": stars})
    path = write_personas(tmp_path, [persona_entry(id="picky", ratings=ratings)])
    with pytest.raises(DataError) as caught:
        load_personas(path)
    message = str(caught.value)
    assert "'picky'" in message and "'ratings'" in message and "'Babe (1995)'" in message


@pytest.mark.parametrize("count", [0, 4, 11])
def test_rating_count_outside_five_to_ten_is_rejected(tmp_path, count):
    ratings = {f"Film {i} (1990)": 4 for i in range(count)}
    path = write_personas(tmp_path, [persona_entry(id="sparse", ratings=ratings)])
    with pytest.raises(DataError, match=rf"'sparse'.*'ratings' has {count} entries"):
        load_personas(path)


def test_duplicate_ids_are_rejected(tmp_path):
    path = write_personas(tmp_path, [persona_entry(id="twin"), persona_entry(id="twin")])
    with pytest.raises(DataError, match="'twin' appears twice"):
        load_personas(path)


@pytest.mark.parametrize("field", ["id", "name", "icon", "bio"])
def test_missing_text_fields_are_named(tmp_path, field):
    entry = persona_entry(id="partial")
    entry[field] = "  "
    path = write_personas(tmp_path, [entry])
    with pytest.raises(DataError, match=rf"'{field}'"):
        load_personas(path)


def test_ratings_must_be_an_object(tmp_path):
    path = write_personas(tmp_path, [persona_entry(id="listy", ratings=["Babe (1995)"])])
    with pytest.raises(DataError, match="'listy'.*'ratings' must be an object"):
        load_personas(path)


@pytest.mark.parametrize("content", ["{not json", "[]", '{"id": "x"}', "[42]"])
def test_malformed_files_raise_data_error(tmp_path, content):
    path = tmp_path / "personas.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match="personas"):
        load_personas(path)


def test_missing_file_raises_data_error(tmp_path):
    with pytest.raises(DataError, match="Could not read personas"):
        load_personas(tmp_path / "absent.json")
