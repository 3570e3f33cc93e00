"""Plotly figures that explain a list: score split, contributions of ratings, token attention.

Pure functions of data, each returning a go.Figure; colours and the shared look come from
``style``, so every chart in the app agrees; the maps of the catalog are in ``maps``.
Category axes are avoided wherever labels may repeat (two videos share a title, a word piece
occurs twice), because plotly merges equal category labels into one position: rows and columns
sit at integer positions and carry their text through tickvals/ticktext instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from vidrec.errors import DataError
from vidrec.present.style import (
    COLLAB,
    CONTENT,
    POPULAR,
    SEQUENTIAL,
    checked_matrix,
    label,
    message_figure,
    require_columns,
    row_height,
    shorten,
    signed,
    stars_label,
    styled,
)

EMPTY_RATINGS_HINT = "Rate a few videos to see what drives each recommendation"
SCORE_PARTS = {  # column -> (trace name, colour)
    "content_score": ("Content", CONTENT),
    "collab_score": ("Collaborative", COLLAB),
    "popularity_score": ("Popularity", POPULAR),
}


# ----- 1. score breakdown ----------------------------------------------------------------------


def score_breakdown(recs: pd.DataFrame) -> go.Figure:
    """Stacked contributions per recommendation, so a viewer sees why each one scored."""
    require_columns(recs, ["title", *SCORE_PARTS], "score_breakdown")
    titles = [str(t) for t in recs["title"]]
    rows = np.arange(len(titles))  # integer rows: repeated titles stay separate bars
    parts = recs[list(SCORE_PARTS)].to_numpy(dtype=np.float64)  # (n, 3)
    totals = parts.sum(axis=1)  # (n,)
    fig = go.Figure()
    for index, (name, colour) in enumerate(SCORE_PARTS.values()):
        fig.add_trace(_score_bar(parts[:, index], rows, titles, totals, name, colour))
    fig.add_vline(x=0, line_width=1, line_color="rgba(128,128,128,0.6)")
    fig.update_yaxes(
        tickvals=rows, ticktext=[label(shorten(t, 40)) for t in titles], autorange="reversed"
    )
    fig.update_xaxes(title_text="contribution to the score", zeroline=False)
    return styled(fig, height=row_height(len(titles)), barmode="relative", **_top_legend())


def _score_bar(
    values: np.ndarray,
    rows: np.ndarray,
    titles: list[str],
    totals: np.ndarray,
    name: str,
    colour: str,
) -> go.Bar:
    # Built row by row: np.column_stack would turn the totals into strings.
    custom = [[label(title), float(total)] for title, total in zip(titles, totals, strict=True)]
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


CONTRIBUTION_VIEWS = ("total", "content", "collaborative")  # what the heatmap colours


def contribution_heatmap(
    per_rating: np.ndarray,
    rec_titles: list[str],
    rated_titles: list[str],
    rated_stars: list[float],
    show: str = "total",
) -> go.Figure:
    """Each rating's exact part of each pick's score (vidrec.attribution): what ranked the list.

    ``per_rating`` is (n recs, m rated, 3) in score units: content, MF preference, item-item.
    ``show`` colours their total, the content part or the collaborative part (MF + item-item);
    the hover always gives all three.
    """
    if not rated_titles:
        return message_figure(EMPTY_RATINGS_HINT)
    if show not in CONTRIBUTION_VIEWS:
        raise DataError(f"show must be one of {', '.join(CONTRIBUTION_VIEWS)}, got {show!r}")
    per_rating = np.asarray(per_rating, dtype=np.float64)
    if per_rating.shape != (len(rec_titles), len(rated_titles), 3):
        raise DataError(
            f"per_rating has shape {per_rating.shape}; expected "
            f"({len(rec_titles)}, {len(rated_titles)}, 3)"
        )
    if len(rated_stars) != len(rated_titles):
        raise DataError(f"{len(rated_titles)} rated titles but {len(rated_stars)} star values")
    z = {"total": per_rating.sum(2), "content": per_rating[..., 0]}.get(show)
    z = per_rating[..., 1:].sum(2) if z is None else z  # (n, m)
    span = float(np.abs(z).max()) or 1.0
    cols, rows = np.arange(z.shape[1]), np.arange(z.shape[0])
    fig = go.Figure(
        go.Heatmap(
            z=z, x=cols, y=rows, colorscale="RdBu", zmid=0.0, zmin=-span, zmax=span,
            colorbar={"title": {"text": show}, "thickness": 12},
            text=_contribution_hover(per_rating, rec_titles, rated_titles, rated_stars),
            hovertemplate="%{text}<extra></extra>",
        )
    )  # fmt: skip
    fig.update_xaxes(tickvals=cols, ticktext=rated_labels(rated_titles, rated_stars), tickangle=-40)
    fig.update_yaxes(
        tickvals=rows, ticktext=[label(shorten(t)) for t in rec_titles], autorange="reversed"
    )
    return styled(fig, height=row_height(len(rec_titles), base=200))


def _weight_heatmap(z: np.ndarray, x, y, hover) -> go.Heatmap:
    """The token-attention heatmap: weights coloured from 0, with text hover."""
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
    return [label(f"{shorten(title)} {stars_label(star)}") for title, star in pairs]


def _contribution_hover(per_rating, rec_titles, rated_titles, rated_stars) -> list[list[str]]:
    text = []
    for i, rec in enumerate(rec_titles):
        row = []
        for j, (rated, stars) in enumerate(zip(rated_titles, rated_stars, strict=True)):
            c, m, ii = per_rating[i, j]
            row.append(
                f"<b>{label(rec)}</b><br>from your {stars_label(stars)} for {label(rated)}"
                f"<br>total {signed(c + m + ii)} = content {signed(c)} + MF {signed(m)}"
                f" + item-item {signed(ii)}"
            )
        text.append(row)
    return text  # (n, m) strings


# ----- 3./4. token attention ---------------------------------------------------------------------


MIN_TICK_PX = 15  # between two tick labels of 12 px text, so that none overlaps the next
NARROWEST_PLOT_PX = 700  # the heatmap's plot area on a 1366-wide screen with the sidebar open
AXIS_PX = 230  # of the figure's height: title, margins and the rotated key-token labels


def token_attention_heatmap(tokens: list[str], matrix: np.ndarray, title: str) -> go.Figure:
    """Query-token by key-token attention, so one can see which word pieces read which.

    A synopsis runs to ~90 tokens: more than fit as readable tick labels, so a long text labels
    every second (or third) token on an axis, and the hover names every cell's pair.
    """
    count = len(tokens)
    if count == 0:
        raise DataError("token_attention_heatmap needs at least one token")
    matrix = checked_matrix(matrix, (count, count), "matrix")  # (T, T)
    positions = np.arange(count)  # numeric axes: a repeated token keeps its own position
    labels = [label(t) for t in tokens]
    hover = [
        [f"{query} → {key}: {matrix[i, j]:.4f}" for j, key in enumerate(labels)]
        for i, query in enumerate(labels)
    ]  # (T, T) strings
    fig = go.Figure(_weight_heatmap(matrix, positions, positions, hover))
    side = min(AXIS_PX + 16 * count, 900)  # roughly square, capped for long texts
    fig.update_xaxes(title_text="key token", tickangle=-90, **_ticks(labels, NARROWEST_PLOT_PX))
    fig.update_yaxes(
        title_text="query token", autorange="reversed", **_ticks(labels, side - AXIS_PX)
    )
    return styled(fig, height=side, title={"text": label(title), "x": 0.0})


def tick_stride(count: int, pixels: float) -> int:
    """Label every n-th of ``count`` evenly spaced ticks so labels stay MIN_TICK_PX apart."""
    return max(1, -(-count * MIN_TICK_PX // max(int(pixels), 1)))


def _ticks(labels: list[str], pixels: float) -> dict:
    every = tick_stride(len(labels), pixels)
    shown = np.arange(0, len(labels), every)
    return {
        "tickvals": shown,
        "ticktext": [labels[i] for i in shown],
        "tickfont": {"size": 12},
        "tickmode": "array",
    }


TOKENS_PER_ROW = 12  # a synopsis runs to ~90 tokens: wrap them so each stays readable


def token_strip(tokens: list[str], weights: np.ndarray) -> go.Figure:
    """Cells in reading order, one per token, shaded by its share of the pooled embedding."""
    count = len(tokens)
    if count == 0:
        raise DataError("token_strip needs at least one token")
    weights = checked_matrix(weights, (count,), "weights")  # (T,)
    width = min(count, TOKENS_PER_ROW)
    rows = -(-count // width)
    pad = rows * width - count
    z = np.concatenate([weights, np.full(pad, np.nan)]).reshape(rows, width)  # (rows, width)
    labels = np.array([label(t) for t in tokens] + [""] * pad, dtype=object).reshape(rows, width)
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


# ----- the loop diagram -------------------------------------------------------------------------


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
