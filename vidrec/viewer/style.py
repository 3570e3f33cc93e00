"""One look for every figure: the palette and layout the demo's and evaluation's charts share.

No template is set, so Streamlit's light and dark themes restyle every chart; backgrounds are
transparent and colours come from colour-blind-safe palettes (Okabe-Ito, Paul Tol, viridis),
in mid-tones that read on light and dark themes.
"""

from __future__ import annotations

import plotly.graph_objects as go

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
