"""Figures of saved evaluation results: the α sweep, quality against training time, and the
few-ratings curve."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from vidrec.evaluation.report import FEW_METHODS, eval_tables, few_ratings, sweep
from vidrec.present.style import BASELINE, OURS, styled


def alpha_sweep(doc: dict, default_alpha: float | None = None) -> go.Figure:
    """nDCG@10 and P@10 as the blend moves from collaborative (α=0) to content (α=1)."""
    frame = sweep(doc)
    fig = go.Figure()
    for col, name in (("ndcg@10", "nDCG@10"), ("precision@10", "P@10")):
        fig.add_scatter(x=frame["alpha"], y=frame[col], mode="lines+markers", name=name)
    if default_alpha is not None:
        fig.add_vline(
            x=default_alpha,
            line_dash="dot",
            annotation_text=f"app default α={default_alpha:g}",
            annotation_position="bottom left",
        )
    return _lines(
        fig,
        "Blend sweep (protocol A)",
        "α: 0 = collaborative only, 1 = content only",
        "metric at 10",
    )


def few_ratings_curve(doc: dict) -> go.Figure:
    """nDCG@10 by how many ratings a viewer has, one line per method: where content should help."""
    frame = few_ratings(doc)
    fig = go.Figure()
    present = [m for m in FEW_METHODS if m in frame.columns]
    # collaborative last and dashed: the hybrid runs along it and would hide a solid line
    for method in sorted(present, key=lambda m: m == "collaborative"):
        fig.add_scatter(
            x=frame["ratings per viewer"],
            y=frame[method],
            name=method,
            mode="lines+markers",
            line=dict(dash="dash" if method == "collaborative" else None),
        )
    return _lines(
        fig,
        "Viewers with few ratings (protocol A split)",
        "training ratings each test viewer keeps",
        "nDCG@10",
    )


def _lines(fig: go.Figure, title: str, xaxis_title: str, yaxis_title: str) -> go.Figure:
    """The shared frame of the line charts: height, margins, legend under the plot."""
    return styled(
        fig,
        height=380,
        title=title,
        xaxis_title=xaxis_title,
        yaxis_title=yaxis_title,
        margin=dict(l=60, r=20, t=50, b=50),
        legend=dict(orientation="h", y=-0.25),
    )


def quality_vs_speed(doc: dict) -> go.Figure:
    """Every protocol-A method as a bar of nDCG@10, labelled with its training time."""
    frame = eval_tables(doc)["A"].sort_values("nDCG@10")
    ours = ~frame["method"].str.startswith(("implicit", "surprise", "popularity"))
    fig = go.Figure()
    for mask, name, colour in ((ours, "vidrec", OURS), (~ours, "baselines", BASELINE)):
        part = frame[mask]
        fig.add_bar(
            x=part["nDCG@10"],
            y=part["method"],
            orientation="h",
            text=[f"{n:.3f} · {_seconds(s)}" for n, s in zip(part["nDCG@10"], part["fit s"])],
            textposition="outside",
            marker_color=colour,
            name=name,
        )
    return styled(
        fig,
        height=90 + 28 * len(frame),
        title="nDCG@10 and training time (protocol A)",
        xaxis=dict(range=[0, frame["nDCG@10"].max() * 1.7]),
        yaxis=dict(categoryorder="array", categoryarray=frame["method"].tolist()),
        margin=dict(l=10, r=10, t=80, b=30),
        legend=dict(orientation="h", y=1.0, yanchor="bottom", x=0),
        barmode="overlay",
    )


def _seconds(value: float) -> str:
    return "no training" if pd.isna(value) or value == 0 else f"fit {value:.1f} s"
