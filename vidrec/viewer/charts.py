"""Plotly figures for the demo: pure functions of data, each returning a go.Figure.

Colours and the shared look come from ``style``, so every chart in the app agrees.
Category axes are avoided wherever labels may repeat (two videos share a title, a word piece
occurs twice), because plotly merges equal category labels into one position: rows and columns
sit at integer positions and carry their text through tickvals/ticktext instead.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from vidrec.errors import DataError
from vidrec.viewer.style import (
    COLLAB,
    CONTENT,
    FONT_SIZE,
    GENRE_COLOURS,
    HIGHLIGHT,
    NEGATIVE,
    OTHER_GENRE,
    POPULAR,
    POSITIVE,
    SEQUENTIAL,
    STARS_SCALE,
    styled,
)

MAX_LABEL = 28
ROW_PX = 26  # height per bar or heatmap row, so long lists stay legible
EMPTY_RATINGS_HINT = "Rate a few videos to see what drives each recommendation"
SCORE_PARTS = {  # column -> (trace name, colour)
    "content_score": ("Content", CONTENT),
    "collab_score": ("Collaborative", COLLAB),
    "popularity_score": ("Popularity", POPULAR),
}


def _text(value: object) -> str:
    # Plotly parses its labels as a small HTML subset; escaping keeps "<" in a title literal.
    return html.escape(str(value), quote=False)


def shorten(text: str, limit: int = MAX_LABEL) -> str:
    """Cut text to at most limit characters with an ellipsis, so tick labels stay narrow."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def main_genre(genres: str) -> str:
    """The first of a "|"-joined genre list ("Other" when empty): one colour per video."""
    first = genres.split("|")[0].strip() if isinstance(genres, str) else ""
    return first if first in GENRE_COLOURS else OTHER_GENRE


def _stars_label(stars: float) -> str:
    return f"★{stars:g}"


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{what} needs column(s) {missing}; it has {list(frame.columns)}")


def _message_figure(message: str, height: int = 220) -> go.Figure:
    """An empty chart carrying one centred note, for views that have nothing to plot yet."""
    fig = go.Figure()
    fig.add_annotation(
        text=_text(message), x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return styled(fig, height=height)


def _row_height(rows: int, base: int = 120) -> int:
    return base + ROW_PX * max(rows, 1)


# ----- 1. score breakdown ----------------------------------------------------------------------


def score_breakdown(recs: pd.DataFrame) -> go.Figure:
    """Stacked contributions per recommendation, so a viewer sees why each one scored."""
    _require_columns(recs, ["title", *SCORE_PARTS], "score_breakdown")
    titles = [str(t) for t in recs["title"]]
    rows = np.arange(len(titles))  # integer rows: repeated titles stay separate bars
    parts = recs[list(SCORE_PARTS)].to_numpy(dtype=np.float64)  # (n, 3)
    totals = parts.sum(axis=1)  # (n,)
    fig = go.Figure()
    for index, (name, colour) in enumerate(SCORE_PARTS.values()):
        fig.add_trace(_score_bar(parts[:, index], rows, titles, totals, name, colour))
    fig.add_vline(x=0, line_width=1, line_color="rgba(128,128,128,0.6)")
    fig.update_yaxes(
        tickvals=rows, ticktext=[_text(shorten(t, 40)) for t in titles], autorange="reversed"
    )
    fig.update_xaxes(title_text="contribution to the score", zeroline=False)
    return styled(fig, height=_row_height(len(titles)), barmode="relative", **_top_legend())


def _score_bar(
    values: np.ndarray,
    rows: np.ndarray,
    titles: list[str],
    totals: np.ndarray,
    name: str,
    colour: str,
) -> go.Bar:
    # Built row by row: np.column_stack would turn the totals into strings.
    custom = [[_text(title), float(total)] for title, total in zip(titles, totals, strict=True)]
    return go.Bar(
        x=values,
        y=rows,
        orientation="h",
        name=name,
        marker_color=colour,
        customdata=custom,
        hovertemplate=(
            f"<b>%{{customdata[0]}}</b><br>{name}: %{{x:+.4f}}"
            "<br>score: %{customdata[1]:.4f}<extra></extra>"
        ),
    )


def _top_legend() -> dict[str, object]:
    return {"legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0.0}}


# ----- 2. recommendation × rated-video attention -------------------------------------------------


def attention_heatmap(
    att: np.ndarray,
    rec_titles: list[str],
    rated_titles: list[str],
    rated_stars: list[float],
    support: np.ndarray | None = None,
) -> go.Figure:
    """How much each rated video drives each recommendation, so results explain themselves."""
    if not rated_titles:
        return _message_figure(EMPTY_RATINGS_HINT)
    att = _checked_matrix(att, (len(rec_titles), len(rated_titles)), "att")  # (n, m)
    if len(rated_stars) != len(rated_titles):
        raise DataError(f"{len(rated_titles)} rated titles but {len(rated_stars)} star values")
    if support is not None:
        support = _checked_matrix(support, att.shape, "support")  # (n, m)
    cols, rows = np.arange(att.shape[1]), np.arange(att.shape[0])
    hover = _attention_hover(att, rec_titles, rated_titles, rated_stars, support)
    fig = go.Figure(_weight_heatmap(att, cols, rows, hover))
    fig.update_xaxes(tickvals=cols, ticktext=rated_labels(rated_titles, rated_stars), tickangle=-40)
    fig.update_yaxes(
        tickvals=rows, ticktext=[_text(shorten(t)) for t in rec_titles], autorange="reversed"
    )
    return styled(fig, height=_row_height(len(rec_titles), base=200))


def _weight_heatmap(z: np.ndarray, x, y, hover) -> go.Heatmap:
    """The attention-weight heatmap both explanation charts draw: 0-based colour, text hover."""
    return go.Heatmap(
        z=z,
        x=x,
        y=y,
        colorscale=SEQUENTIAL,
        zmin=0.0,
        colorbar={"title": {"text": "weight"}, "thickness": 12},
        text=hover,
        hovertemplate="%{text}<extra></extra>",
    )


def rated_labels(titles: list[str], stars: list[float]) -> list[str]:
    """Tick labels like "Alien (1979) ★5": a short title plus the viewer's stars."""
    pairs = zip(titles, stars, strict=True)
    return [_text(f"{shorten(title)} {_stars_label(star)}") for title, star in pairs]


def _checked_matrix(matrix: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
    values = np.asarray(matrix, dtype=np.float64)
    if values.shape != tuple(shape):
        raise DataError(f"{name} has shape {values.shape}, expected {tuple(shape)}")
    if not np.isfinite(values).all():
        raise DataError(f"{name} contains NaN or infinite values")
    return values


def _attention_hover(
    att: np.ndarray,
    rec_titles: list[str],
    rated_titles: list[str],
    rated_stars: list[float],
    support: np.ndarray | None,
) -> list[list[str]]:
    text = []
    for i, rec in enumerate(rec_titles):
        row = []
        for j, (rated, stars) in enumerate(zip(rated_titles, rated_stars, strict=True)):
            line = (
                f"<b>{_text(rec)}</b><br>attends to {_text(rated)} ({_stars_label(stars)})"
                f"<br>weight: {att[i, j]:.4f}"
            )
            if support is not None:
                line += f"<br>support: {support[i, j]:+.4f}"
            row.append(line)
        text.append(row)
    return text  # (n, m) strings


# ----- 3./4. token attention ---------------------------------------------------------------------


def token_attention_heatmap(tokens: list[str], matrix: np.ndarray, title: str) -> go.Figure:
    """Query-token by key-token attention, so one can see which word pieces read which."""
    count = len(tokens)
    if count == 0:
        raise DataError("token_attention_heatmap needs at least one token")
    matrix = _checked_matrix(matrix, (count, count), "matrix")  # (T, T)
    positions = np.arange(count)  # numeric axes: a repeated token keeps its own position
    labels = [_text(t) for t in tokens]
    hover = [
        [f"{query} → {key}: {matrix[i, j]:.4f}" for j, key in enumerate(labels)]
        for i, query in enumerate(labels)
    ]  # (T, T) strings
    fig = go.Figure(_weight_heatmap(matrix, positions, positions, hover))
    axis = {"tickvals": positions, "ticktext": labels, "tickfont": {"size": 12}}
    fig.update_xaxes(title_text="key token", tickangle=-60, **axis)
    fig.update_yaxes(title_text="query token", autorange="reversed", **axis)
    side = min(220 + 16 * count, 900)  # roughly square, capped for long texts
    return styled(fig, height=side, title={"text": _text(title), "x": 0.0})


TOKENS_PER_ROW = 12  # a synopsis runs to ~90 tokens: wrap them so each stays readable


def token_strip(tokens: list[str], weights: np.ndarray) -> go.Figure:
    """Cells in reading order, one per token, shaded by its share of the pooled embedding."""
    count = len(tokens)
    if count == 0:
        raise DataError("token_strip needs at least one token")
    weights = _checked_matrix(weights, (count,), "weights")  # (T,)
    width = min(count, TOKENS_PER_ROW)
    rows = -(-count // width)
    pad = rows * width - count
    z = np.concatenate([weights, np.full(pad, np.nan)]).reshape(rows, width)  # (rows, width)
    labels = np.array([_text(t) for t in tokens] + [""] * pad, dtype=object).reshape(rows, width)
    shares = np.array([f"{w:.4f}" for w in weights] + [""] * pad, dtype=object)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=np.arange(width),
            y=np.arange(rows),
            colorscale=SEQUENTIAL,
            zmin=0.0,
            showscale=False,
            text=labels.tolist(),
            texttemplate="%{text}",
            customdata=shares.reshape(rows, width).tolist(),
            hovertemplate="%{text}: %{customdata}<extra></extra>",
            xgap=2,
            ygap=2,
        )
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed")
    return styled(fig, height=40 + 36 * rows, margin={"l": 4, "r": 4, "t": 4, "b": 4})


# ----- 5. interest map ---------------------------------------------------------------------------


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
    return _checked_matrix(coords, (n_titles, 2), "coords")


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
                text=[f"{_text(titles[r])}<br>{_text(genres[r])}" for r in rows],
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
        text=[f"<b>{_text(titles[r])}</b><br>recommended #{k + 1}" for k, r in enumerate(rows)],
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
        text=[f"<b>{_text(titles[r])}</b><br>you rated {_stars_label(rated[r])}" for r in rows],
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


# ----- 6. genre interest -------------------------------------------------------------------------


def genre_interest(rows: pd.DataFrame) -> go.Figure:
    """Affinity of the viewer's profile to each genre, sorted, so tastes read at a glance."""
    _require_columns(rows, ["genre", "n_rated", "mean_stars", "affinity"], "genre_interest")
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
    fig.update_yaxes(tickvals=np.arange(len(genres)), ticktext=[_text(g) for g in genres])
    fig.update_xaxes(title_text="affinity (cosine to genre centroid)", range=[-1.05, 1.05])
    return styled(fig, height=_row_height(len(genres), base=90), showlegend=False)


def _genre_hover(ordered: pd.DataFrame) -> np.ndarray:
    rows = []
    for genre, count, mean in zip(
        ordered["genre"], ordered["n_rated"], ordered["mean_stars"], strict=True
    ):
        mean_text = "–" if pd.isna(mean) else f"{float(mean):.2f}"
        rows.append([_text(genre), str(int(count)), mean_text])
    return np.array(rows, dtype=object).reshape(len(rows), 3)  # (g, 3)


# ----- 7. alpha sweep ----------------------------------------------------------------------------


def loop_dot(stages: list[tuple[str, str]]) -> str:
    """Graphviz DOT of the product loop: each stage a box with a live detail line, in a cycle."""
    if len(stages) < 2:
        raise DataError("the loop needs at least two stages")
    nodes = [
        f'  s{i} [label="{_dot(name)}\\n{_dot(detail)}"];'
        for i, (name, detail) in enumerate(stages)
    ]
    edges = [f"  s{i} -> s{(i + 1) % len(stages)};" for i in range(len(stages))]
    return "\n".join(
        ["digraph loop {", "  rankdir=LR; bgcolor=transparent;",
         '  node [shape=box, style="rounded,filled", fillcolor="#0072B2", color="#0072B2",'
         ' fontcolor=white, fontname="sans-serif", fontsize=12];', '  edge [color="#888888"];',
         *nodes, *edges, "}"]
    )  # fmt: skip


def _dot(text: str) -> str:
    """Escape a label for DOT's quoted strings."""
    return str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
