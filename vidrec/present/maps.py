"""Maps of the catalog for the demo: where the viewer's ratings, picks and taste lie, by genre.

The positions come from ``projection`` (PCA of the content embeddings, or of the MF item factors
for the taste trail); these functions only draw them, as pure functions of data returning a
go.Figure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from vidrec.errors import DataError
from vidrec.present.style import (
    FONT_SIZE,
    GENRE_COLOURS,
    HIGHLIGHT,
    NEGATIVE,
    POSITIVE,
    STARS_SCALE,
    checked_matrix,
    label,
    main_genre,
    message_figure,
    require_columns,
    row_height,
    stars_label,
    styled,
)

YOU = "#CC79A7"  # the viewer's own marks on both maps
MAP_HEIGHT = 500  # two maps side by side: the height the genre legend needs, and no more
MAP_MARGIN = {"l": 8, "r": 8, "t": 24, "b": 8}  # no title above a map: room for the tool bar only


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
    legend = {"itemsizing": "constant", "font": {"size": FONT_SIZE - 1}}
    return styled(fig, height=MAP_HEIGHT, margin=MAP_MARGIN, legend=legend)


def taste_trail(
    coords: np.ndarray,
    titles: list[str],
    genres: list[str],
    rated: dict[int, float],
    trail_xy: np.ndarray,
    trail_steps: list[int],
    trail_rows: list[int],
) -> go.Figure:
    """The collaborative map with the viewer's path over their last ratings: what moved them.

    ``trail_xy`` (k, 2): the viewer after ``trail_steps[i]`` ratings, the last of them the
    rating of catalog row ``trail_rows[i]``, on a map centred on the items' mean (a PCA), where
    the viewer's vector is drawn from (0, 0); ``rated`` holds every rating (row -> stars).
    """
    coords = _checked_coords(coords, len(titles), len(genres))  # (n, 2)
    xy = checked_matrix(trail_xy, (len(trail_steps), 2), "trail_xy")  # (k, 2)
    _check_trail_rows(trail_rows, len(trail_steps), rated, len(titles))
    if not len(xy):
        return message_figure("Rate a video to start your taste trail.", height=MAP_HEIGHT)
    fig = go.Figure(_genre_traces(coords, titles, genres))
    fig.add_trace(_rated_trace(coords, titles, rated))
    fig.add_trace(_trail_line(xy))
    texts = [_step_text(titles, rated, r) for r in trail_rows]
    fig.add_trace(_trail_steps(xy, trail_steps, texts, _extent(coords, xy)))
    fig.add_annotation(_vector_arrow(xy[-1]))
    fig.update_xaxes(title_text="collaborative axis 1", showticklabels=False, zeroline=False)
    fig.update_yaxes(title_text="collaborative axis 2", showticklabels=False, zeroline=False)
    # The genres' legend is the content map's beside it: one legend, and more room for the map.
    return styled(fig, height=MAP_HEIGHT, margin=MAP_MARGIN, showlegend=False)


def _check_trail_rows(rows: list[int], steps: int, rated: dict[int, float], count: int) -> None:
    if len(rows) != steps:
        raise DataError(f"{steps} trail steps but {len(rows)} trail rows")
    _check_rows([*rated, *rows], count)
    unrated = sorted({int(r) for r in rows} - {int(r) for r in rated})
    if unrated:
        raise DataError(f"Trail rows {unrated[:5]} are not among the rated rows")


def _step_text(titles: list[str], rated: dict[int, float], row: int) -> str:
    return f"after rating {label(titles[row])} {stars_label(rated[row])}"


def _trail_line(xy: np.ndarray) -> go.Scatter:
    return go.Scatter(
        x=xy[:, 0],
        y=xy[:, 1],
        mode="lines",
        name="Trail",
        line={"color": YOU, "width": 2.5},
        hoverinfo="skip",
    )


def _vector_arrow(tip: np.ndarray) -> dict:
    # The map is centred on the items' mean, and the viewer's vector ranks by its direction
    # from there: drawn as an arrow from the centre, the trail is the path of its tip.
    return {
        "x": float(tip[0]), "y": float(tip[1]), "ax": 0.0, "ay": 0.0, "xref": "x", "yref": "y",
        "axref": "x", "ayref": "y", "text": "", "showarrow": True, "arrowhead": 2,
        "arrowwidth": 2, "arrowcolor": YOU, "opacity": 0.7, "standoff": 14,
    }  # fmt: skip


def _trail_steps(xy: np.ndarray, steps: list[int], texts: list[str], span) -> go.Scatter:
    last = len(steps) - 1  # the viewer now: a larger diamond, like "You" on the content map
    shown = labelled_steps(xy, span)
    return go.Scatter(
        x=xy[:, 0],
        y=xy[:, 1],
        mode="markers+text",
        name="Your taste",
        text=[str(s) if keep else "" for s, keep in zip(steps, shown)],
        textfont={"size": FONT_SIZE - 2, "color": "rgba(0,0,0,0.85)"},  # dark reads on pink
        marker={
            "symbol": ["circle"] * last + ["diamond"],
            "size": [18] * last + [28],
            "color": YOU,
            "line": {"width": 1, "color": "rgba(128,128,128,0.9)"},
        },
        customdata=[[str(s), t] for s, t in zip(steps, texts)],
        hovertemplate="<b>step %{customdata[0]}</b>: %{customdata[1]}<extra></extra>",
    )


# A step's number is written only where it has room: a label ~20 px wide and tall on a map
# drawn ~370 × 470 px (two maps side by side on a 1366-wide screen) needs this share of the
# map's width and height between it and the next label. Close steps keep their dot and hover.
LABEL_GAP = (0.06, 0.045)  # (x, y) shares of the map's extent


def labelled_steps(xy: np.ndarray, span: tuple[float, float]) -> list[bool]:
    """Which steps get their number: the newest first, then each one clear of those kept."""
    gap = np.asarray(LABEL_GAP) * np.maximum(np.asarray(span, dtype=np.float64), 1e-12)
    kept: list[int] = []
    for i in range(len(xy) - 1, -1, -1):  # newest first: the viewer now is always numbered
        if all(np.any(np.abs(xy[i] - xy[j]) >= gap) for j in kept):
            kept.append(i)
    return [i in kept for i in range(len(xy))]


def _extent(*points: np.ndarray) -> tuple[float, float]:
    """Width and height of the box around every point drawn: what the map's axes span."""
    both = np.vstack([p for p in points if len(p)])
    width, height = np.ptp(both, axis=0)
    return float(width), float(height)


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
            "color": YOU,
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
