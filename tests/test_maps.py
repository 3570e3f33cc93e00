"""Tests for vidrec.viewer.maps: checked by the data in each figure, not by pixels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from figures import assert_serialisable, assert_shared_look

from vidrec.errors import DataError
from vidrec.viewer import maps, style

# ----- interest_map ------------------------------------------------------------------------------


def catalog_points(n: int = 40) -> tuple[np.ndarray, list[str], list[str]]:
    coords = np.random.default_rng(3).normal(size=(n, 2))  # (n, 2)
    titles = [f"Video {i}" for i in range(n)]
    genres = [["Action|Sci-Fi", "Comedy", "", "Horror|Thriller"][i % 4] for i in range(n)]
    return coords, titles, genres


def test_interest_map_draws_genres_ratings_picks_and_viewer():
    coords, titles, genres = catalog_points()
    rated = {0: 5.0, 5: 1.0, 9: 3.5}
    fig = maps.interest_map(coords, titles, genres, rated, (0.25, -0.5), [1, 2, 3])
    names = [t.name for t in fig.data]
    assert names == ["Action", "Comedy", "Horror", "Other", "Recommended", "Rated", "You"]
    genre_points = sum(len(t.x) for t in fig.data[:4])
    assert genre_points == len(titles)
    by_name = {t.name: t for t in fig.data}
    assert len(by_name["Rated"].x) == len(rated)
    assert by_name["Rated"].marker.symbol == "star"
    assert list(by_name["Rated"].marker.color) == [5.0, 1.0, 3.5]
    np.testing.assert_allclose(by_name["Rated"].x, coords[[0, 5, 9], 0])
    assert len(by_name["Recommended"].x) == 3
    assert (by_name["You"].x, by_name["You"].y) == ((0.25,), (-0.5,))
    assert by_name["Horror"].marker.color == style.GENRE_COLOURS["Horror"]
    assert_shared_look(fig)
    assert_serialisable(fig)


def test_interest_map_without_viewer_or_ratings_has_only_the_catalog():
    coords, titles, genres = catalog_points()
    fig = maps.interest_map(coords, titles, genres, {}, None, [])
    names = [t.name for t in fig.data]
    assert "You" not in names and "Rated" not in names and "Recommended" not in names
    assert all(t.mode == "markers" for t in fig.data)
    assert_serialisable(fig)


def test_interest_map_rejects_bad_input():
    coords, titles, genres = catalog_points()
    with pytest.raises(DataError, match="shape"):
        maps.interest_map(coords[:, :1], titles, genres, {}, None, [])
    with pytest.raises(DataError, match="genre"):
        maps.interest_map(coords, titles, genres[:-1], {}, None, [])
    with pytest.raises(DataError, match="rows"):
        maps.interest_map(coords, titles, genres, {len(titles): 4.0}, None, [])


# ----- genre_interest ----------------------------------------------------------------------------


def genre_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "genre": ["Action", "Drama", "Horror", "Sci-Fi"],
            "n_rated": [3, 0, 1, 4],
            "mean_stars": [4.0, np.nan, 1.0, 4.5],
            "affinity": [0.4, 0.05, -0.6, 0.8],
        }
    )


def test_genre_interest_sorts_and_colours_by_sign():
    fig = maps.genre_interest(genre_rows())
    bar = fig.data[0]
    assert len(fig.data) == 1 and isinstance(bar, go.Bar) and bar.orientation == "h"
    assert list(fig.layout.yaxis.ticktext) == ["Horror", "Drama", "Action", "Sci-Fi"]
    assert list(bar.x) == [-0.6, 0.05, 0.4, 0.8]  # ascending: the strongest is drawn on top
    assert list(bar.marker.color) == [style.NEGATIVE] + [style.POSITIVE] * 3
    assert [list(row) for row in bar.customdata][1] == ["Drama", "0", "–"]
    assert [list(row) for row in bar.customdata][3] == ["Sci-Fi", "4", "4.50"]
    assert_shared_look(fig)
    assert_serialisable(fig)


def test_genre_interest_requires_its_columns():
    with pytest.raises(DataError, match="affinity"):
        maps.genre_interest(genre_rows().drop(columns="affinity"))


def test_maps_follow_whatever_template_the_app_chooses(monkeypatch):
    monkeypatch.setattr(pio.templates, "default", "plotly_dark")
    coords, titles, genres = catalog_points()
    figures = [
        maps.genre_interest(genre_rows()),
        maps.interest_map(coords, titles, genres, {0: 5.0}, (0.0, 0.0), [1]),
    ]
    for fig in figures:
        assert fig.layout.template == pio.templates["plotly_dark"]
