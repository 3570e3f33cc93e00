"""Checks every figure test shares: serialisable, and drawn in the app's one look."""

from __future__ import annotations

import json

import plotly.graph_objects as go

GENRES = [
    "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
    "War", "Western",
]  # fmt: skip


def assert_serialisable(fig: go.Figure) -> dict:
    assert isinstance(fig, go.Figure)
    return json.loads(fig.to_json())


def assert_shared_look(fig: go.Figure) -> None:
    layout = fig.to_plotly_json()["layout"]
    # No template of our own: only plotly's process default, which Streamlit's theme replaces.
    assert fig.layout.template == go.Figure().layout.template
    assert layout["paper_bgcolor"] == layout["plot_bgcolor"] == "rgba(0,0,0,0)"
    assert layout["font"]["size"] >= 12
