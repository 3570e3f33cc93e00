"""One look for every figure: palette, layout and label helpers the app's charts all share.

No template is set, so Streamlit's light and dark themes restyle every chart; backgrounds are
transparent and colours come from colour-blind-safe palettes (Okabe-Ito, Paul Tol, viridis),
in mid-tones that read on light and dark themes.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from vidrec.errors import DataError

OTHER_GENRE = "Other"
GENRE_COLOURS: dict[str, str] = {  # one fixed colour per genre so every chart agrees
    "Action": "#D55E00",
    "Adventure": "#E69F00",
    "Animation": "#F0E442",
    "Children's": "#BBCC33",
    "Comedy": "#56B4E9",
    "Crime": "#CC6677",
    "Documentary": "#999933",
    "Drama": "#0072B2",
    "Fantasy": "#AA4499",
    "Film-Noir": "#6F6F6F",
    "Horror": "#882255",
    "Musical": "#FFAABB",
    "Mystery": "#44AA99",
    "Romance": "#CC79A7",
    "Sci-Fi": "#009E73",
    "Thriller": "#EE8866",
    "War": "#77AADD",
    "Western": "#A6761D",
    OTHER_GENRE: "#AAAAAA",
}
CONTENT, COLLAB, POPULAR = "#0072B2", "#E69F00", "#009E73"  # the score's three parts
OURS, BASELINE = CONTENT, COLLAB  # vidrec's methods against external baselines
POSITIVE, NEGATIVE = "#0072B2", "#D55E00"  # Okabe-Ito blue/vermillion: safe for red-green CVD
HIGHLIGHT = "#E69F00"
SEQUENTIAL = "Viridis"
STARS_SCALE = "RdBu"  # 1 star red, 5 stars blue; diverging and colour-blind-safe
FONT_SIZE = 13
MAX_LABEL = 28
ROW_PX = 26  # height per bar or heatmap row, so long lists stay legible


def styled(fig: go.Figure, height: int | None = None, **layout: object) -> go.Figure:
    """The shared look: transparent backgrounds, tight margins, readable font, no template."""
    look: dict[str, object] = {
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "margin": {"l": 8, "r": 8, "t": 40, "b": 8},
        "font": {"size": FONT_SIZE},
        "hoverlabel": {"font": {"size": FONT_SIZE}},
        "height": height,
    }
    fig.update_layout(**{**look, **layout})  # a chart may override any part, e.g. its margins
    return fig


def label(value: object) -> str:
    """Text for a plotly label: it parses a small HTML subset, so "<" in a title is escaped."""
    return html.escape(str(value), quote=False)


def shorten(text: str, limit: int = MAX_LABEL) -> str:
    """Cut text to at most limit characters with an ellipsis, so tick labels stay narrow."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def main_genre(genres: str) -> str:
    """The first of a "|"-joined genre list ("Other" when empty): one colour per video."""
    first = genres.split("|")[0].strip() if isinstance(genres, str) else ""
    return first if first in GENRE_COLOURS else OTHER_GENRE


def signed(value: float, digits: int = 3) -> str:
    """+0.123 or -0.045, and +0.000 for a value that rounds to zero: never "-0.000"."""
    text = f"{value:+.{digits}f}"
    return "+" + text[1:] if float(text) == 0 else text


def stars_label(stars: float) -> str:
    """4.0 -> "★4"."""
    return f"★{stars:g}"


def require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """DataError naming the chart and the columns its frame lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{what} needs column(s) {missing}; it has {list(frame.columns)}")


def message_figure(message: str, height: int = 220) -> go.Figure:
    """An empty chart carrying one centred note, for views that have nothing to plot yet."""
    fig = go.Figure()
    fig.add_annotation(
        text=label(message), x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return styled(fig, height=height)


def row_height(rows: int, base: int = 120) -> int:
    """Figure height that gives each bar or heatmap row ROW_PX."""
    return base + ROW_PX * max(rows, 1)


def checked_matrix(matrix: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
    """The values as float64 of exactly this shape, all finite, or DataError naming them."""
    values = np.asarray(matrix, dtype=np.float64)
    if values.shape != tuple(shape):
        raise DataError(f"{name} has shape {values.shape}, expected {tuple(shape)}")
    if not np.isfinite(values).all():
        raise DataError(f"{name} contains NaN or infinite values")
    return values
