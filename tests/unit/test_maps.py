"""Tests for vidrec.present.maps: checked by the data in each figure, not by pixels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from figures import assert_serialisable, assert_shared_look

from vidrec.errors import DataError
from vidrec.present import maps, style

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


# ----- taste_trail -------------------------------------------------------------------------------


def trail_args(n: int = 40) -> tuple:
    """A catalog, four ratings in rating order, and the trail over the last three of them."""
    coords, titles, genres = catalog_points(n)
    titles[7] = "Alien <1979>"  # plotly reads a small HTML subset: the title must be escaped
    rated = {3: 4.0, 7: 5.0, 5: 1.0, 9: 3.5}
    trail_xy = np.array([[0.1, 0.2], [0.9, -0.6], [-0.8, 0.9]])  # (3, 2), apart: all numbered
    return coords, titles, genres, rated, trail_xy, [2, 3, 4], [7, 5, 9]


def test_taste_trail_numbers_each_step_and_says_which_rating_moved_it():
    coords, titles, genres, rated, trail_xy, steps, rows = trail_args()
    fig = maps.taste_trail(coords, titles, genres, rated, trail_xy, steps, rows)
    names = [t.name for t in fig.data]
    assert names == ["Action", "Comedy", "Horror", "Other", "Rated", "Trail", "Your taste"]
    by_name = {t.name: t for t in fig.data}
    assert sum(len(t.x) for t in fig.data[:4]) == len(titles)  # every video on the map
    np.testing.assert_allclose(by_name["Rated"].x, coords[[3, 7, 5, 9], 0])
    trail = by_name["Your taste"]
    np.testing.assert_allclose(np.c_[trail.x, trail.y], trail_xy)
    np.testing.assert_allclose(np.c_[by_name["Trail"].x, by_name["Trail"].y], trail_xy)
    assert list(trail.text) == ["2", "3", "4"]
    assert [list(c) for c in trail.customdata] == [
        ["2", "after rating Alien &lt;1979&gt; ★5"],
        ["3", "after rating Video 5 ★1"],
        ["4", "after rating Video 9 ★3.5"],
    ]
    assert trail.hovertemplate.startswith("<b>step %{customdata[0]}</b>: %{customdata[1]}")
    assert list(trail.marker.symbol) == ["circle", "circle", "diamond"]  # the viewer now
    assert by_name["Trail"].hoverinfo == "skip"  # the steps carry the hover, not the line
    (arrow,) = fig.layout.annotations  # the vector: from the items' centre to the last step
    assert (arrow.ax, arrow.ay, arrow.x, arrow.y) == (0.0, 0.0, -0.8, 0.9)
    assert fig.layout.showlegend is False  # the content map beside it carries the legend
    assert_shared_look(fig)
    assert_serialisable(fig)


def test_taste_trail_numbers_only_the_steps_that_have_room():
    """Regression: after a few ratings the viewer's direction barely moves, and the step numbers
    were written on top of each other ("9 10 11 12" in one blur). Close steps keep their dot and
    their hover; only the newest of a cluster is numbered, and every written number has room."""
    coords, titles, genres = catalog_points(40)
    rated = {r: 4.0 for r in range(3, 13)}
    far = np.array([[-0.9, -0.9], [0.9, -0.9], [-0.9, 0.9]])  # three steps well apart
    near = np.array([0.5, 0.5]) + 0.002 * np.arange(7)[:, None]  # seven steps almost in one place
    trail_xy = np.vstack([far, near])  # (10, 2)
    steps, rows = list(range(3, 13)), list(range(3, 13))
    fig = maps.taste_trail(coords, titles, genres, rated, trail_xy, steps, rows)
    trail = next(t for t in fig.data if t.name == "Your taste")
    assert list(trail.text) == ["3", "4", "5"] + [""] * 6 + ["12"]  # the newest of the cluster
    assert [c[0] for c in trail.customdata] == [str(s) for s in steps]  # every step hovers
    numbered = trail_xy[[i for i, t in enumerate(trail.text) if t]]
    span = np.ptp(np.vstack([coords, trail_xy]), axis=0)
    for i, a in enumerate(numbered):
        for b in numbered[i + 1 :]:
            assert np.any(np.abs(a - b) >= np.asarray(maps.LABEL_GAP) * span)


def test_taste_trail_without_ratings_shows_a_hint():
    coords, titles, genres = catalog_points()
    fig = maps.taste_trail(coords, titles, genres, {}, np.zeros((0, 2)), [], [])
    assert len(fig.data) == 0
    assert "Rate a video" in fig.layout.annotations[0].text
    assert fig.layout.height == maps.MAP_HEIGHT  # no jump in the page when the first rating lands
    assert_serialisable(fig)


def test_taste_trail_rejects_bad_input():
    coords, titles, genres, rated, trail_xy, steps, rows = trail_args()
    with pytest.raises(DataError, match="trail_xy"):
        maps.taste_trail(coords, titles, genres, rated, trail_xy[:2], steps, rows)
    with pytest.raises(DataError, match="trail rows"):
        maps.taste_trail(coords, titles, genres, rated, trail_xy, steps, rows[:2])
    with pytest.raises(DataError, match="not among the rated"):
        maps.taste_trail(coords, titles, genres, rated, trail_xy, steps, [7, 5, 11])
    with pytest.raises(DataError, match="rows"):
        maps.taste_trail(coords, titles, genres, rated, trail_xy, steps, [7, 5, len(titles)])
    with pytest.raises(DataError, match="NaN"):
        maps.taste_trail(coords, titles, genres, rated, trail_xy * np.nan, steps, rows)


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
        maps.taste_trail(coords, titles, genres, {0: 5.0}, np.zeros((1, 2)), [1], [0]),
    ]
    for fig in figures:
        assert fig.layout.template == pio.templates["plotly_dark"]
