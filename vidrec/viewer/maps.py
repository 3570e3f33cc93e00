"""Maps of the catalog for the demo: where the viewer's ratings, picks and taste lie, by genre.

The positions come from ``projection`` (PCA of the content embeddings); these functions only
draw them, as pure functions of data returning a go.Figure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from vidrec.errors import DataError
from vidrec.viewer.style import (
    FONT_SIZE,
    GENRE_COLOURS,
    HIGHLIGHT,
    NEGATIVE,
    POSITIVE,
    STARS_SCALE,
    checked_matrix,
    label,
    main_genre,
    require_columns,
    row_height,
    stars_label,
    styled,
)


def interest_map(
    coords: np.ndarray,
    titles: list[str],
    genres: list[str],
    rated: dict[int, float],
    viewer_xy: tuple[float, float] | None,
    recommended_rows: list[int],
) -> go.Figure:
    """The catalog in 2-D with the viewer's ratings, picks and taste, to show where taste lies."""
    coords = _checked_coords(coords, len(titles), len(genres))  # (n, 2)
    _check_rows([*rated, *recommended_rows], len(titles))
    fig = go.Figure()
    for trace in _genre_traces(coords, titles, genres):
        fig.add_trace(trace)
    if recommended_rows:
        fig.add_trace(_recommended_trace(coords, titles, recommended_rows))
    if rated:
        fig.add_trace(_rated_trace(coords, titles, rated))
    if viewer_xy is not None:
        fig.add_trace(_viewer_trace(viewer_xy))
    # PCA axes have no units; the ticks would only suggest a scale that is not there.
    fig.update_xaxes(title_text="content axis 1", showticklabels=False, zeroline=False)
    fig.update_yaxes(title_text="content axis 2", showticklabels=False, zeroline=False)
    return styled(fig, height=560, legend={"itemsizing": "constant"})


def _checked_coords(coords: np.ndarray, n_titles: int, n_genres: int) -> np.ndarray:
    if n_titles != n_genres:
        raise DataError(f"{n_titles} titles but {n_genres} genre strings")
    return checked_matrix(coords, (n_titles, 2), "coords")


def _check_rows(rows: list[int], count: int) -> None:
    bad = sorted({int(r) for r in rows if not 0 <= int(r) < count})
    if bad:
        raise DataError(f"Catalog rows {bad[:5]} are outside 0..{count - 1}")


def _genre_traces(coords: np.ndarray, titles: list[str], genres: list[str]) -> list[go.Scatter]:
    mains = np.array([main_genre(g) for g in genres])  # (n,)
    traces = []
    for genre, colour in GENRE_COLOURS.items():  # fixed order keeps the legend stable
        rows = np.flatnonzero(mains == genre)
        if len(rows) == 0:
            continue
        traces.append(
            go.Scatter(
                x=coords[rows, 0],
                y=coords[rows, 1],
                mode="markers",
                name=genre,
                marker={"color": colour, "size": 6, "opacity": 0.55},
                text=[f"{label(titles[r])}<br>{label(genres[r])}" for r in rows],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    return traces


def _recommended_trace(coords: np.ndarray, titles: list[str], rows: list[int]) -> go.Scatter:
    return go.Scatter(
        x=coords[rows, 0],
        y=coords[rows, 1],
        mode="markers",
        name="Recommended",
        marker={"symbol": "circle-open", "size": 15, "color": HIGHLIGHT, "line": {"width": 2.5}},
        text=[f"<b>{label(titles[r])}</b><br>recommended #{k + 1}" for k, r in enumerate(rows)],
        hovertemplate="%{text}<extra></extra>",
    )


def _rated_trace(coords: np.ndarray, titles: list[str], rated: dict[int, float]) -> go.Scatter:
    rows = list(rated)
    stars = np.array([rated[r] for r in rows], dtype=np.float64)  # (r,)
    return go.Scatter(
        x=coords[rows, 0],
        y=coords[rows, 1],
        mode="markers",
        name="Rated",
        marker={
            "symbol": "star",
            "size": 9 + 3 * stars,  # 12 px at 1 star up to 24 px at 5 stars
            "color": stars,
            "colorscale": STARS_SCALE,
            "cmin": 1.0,
            "cmax": 5.0,
            "line": {"width": 1, "color": "rgba(128,128,128,0.9)"},
        },
        text=[f"<b>{label(titles[r])}</b><br>you rated {stars_label(rated[r])}" for r in rows],
        hovertemplate="%{text}<extra></extra>",
    )


def _viewer_trace(viewer_xy: tuple[float, float]) -> go.Scatter:
    x, y = (float(v) for v in viewer_xy)
    return go.Scatter(
        x=[x],
        y=[y],
        mode="markers+text",
        name="You",
        text=["You"],
        textposition="top center",
        textfont={"size": FONT_SIZE + 2},
        marker={
            "symbol": "diamond",
            "size": 22,
            "color": "#CC79A7",
            "line": {"width": 2, "color": "rgba(128,128,128,0.9)"},
        },
        hovertemplate="your taste (mean of what you rated)<extra></extra>",
    )


def genre_interest(rows: pd.DataFrame) -> go.Figure:
    """Affinity of the viewer's profile to each genre, sorted, so tastes read at a glance."""
    require_columns(rows, ["genre", "n_rated", "mean_stars", "affinity"], "genre_interest")
    # Ascending, because plotly draws the first bar at the bottom: strongest affinity on top.
    ordered = rows.sort_values("affinity", kind="stable")
    affinity = ordered["affinity"].to_numpy(dtype=np.float64)  # (g,)
    genres = [str(g) for g in ordered["genre"]]
    fig = go.Figure(
        go.Bar(
            x=affinity,
            y=np.arange(len(genres)),
            orientation="h",
            name="Affinity",
            marker_color=[POSITIVE if a >= 0 else NEGATIVE for a in affinity],
            customdata=_genre_hover(ordered),
            hovertemplate=(
                "<b>%{customdata[0]}</b><br>affinity: %{x:+.3f}<br>rated: %{customdata[1]}"
                "<br>mean stars: %{customdata[2]}<extra></extra>"
            ),
        )
    )
    fig.update_yaxes(tickvals=np.arange(len(genres)), ticktext=[label(g) for g in genres])
    fig.update_xaxes(title_text="affinity (cosine to genre centroid)", range=[-1.05, 1.05])
    return styled(fig, height=row_height(len(genres), base=90), showlegend=False)


def _genre_hover(ordered: pd.DataFrame) -> np.ndarray:
    rows = []
    for genre, count, mean in zip(
        ordered["genre"], ordered["n_rated"], ordered["mean_stars"], strict=True
    ):
        mean_text = "–" if pd.isna(mean) else f"{float(mean):.2f}"
        rows.append([label(genre), str(int(count)), mean_text])
    return np.array(rows, dtype=object).reshape(len(rows), 3)  # (g, 3)
