"""Tests for vidrec.present.style: the palette and label helpers every figure shares."""

from __future__ import annotations

import pytest
from figures import GENRES

from vidrec.present import style


def test_every_genre_has_a_distinct_fixed_colour():
    assert set(style.GENRE_COLOURS) == {*GENRES, style.OTHER_GENRE}
    assert len(set(style.GENRE_COLOURS.values())) == len(style.GENRE_COLOURS)


@pytest.mark.parametrize(
    ("genres", "main"),
    [("Sci-Fi|Action", "Sci-Fi"), ("", "Other"), ("Film-Noir", "Film-Noir"), ("Anime", "Other")],
)
def test_main_genre_is_the_first_known_genre(genres, main):
    assert style.main_genre(genres) == main


def test_shorten_keeps_short_text_and_cuts_long_text():
    assert style.shorten("Alien (1979)") == "Alien (1979)"
    cut = style.shorten("Dr. Strangelove or: How I Learned to Stop Worrying (1963)")
    assert len(cut) <= 28 and cut.endswith("…")
