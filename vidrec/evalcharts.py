"""Figures of saved evaluation results: the α sweep, and quality against training time."""

from __future__ import annotations

import plotly.graph_objects as go

from vidrec.report import eval_tables, sweep

FONT = dict(family="Inter, system-ui, sans-serif", size=13)


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
            annotation_position="top right",
        )
    fig.update_layout(
        title="Blend sweep (protocol A)",
        xaxis_title="α: 0 = collaborative only, 1 = content only",
        yaxis_title="metric at 10",
        font=FONT,
        height=380,
        margin=dict(l=60, r=20, t=50, b=50),
        legend=dict(orientation="h", y=-0.25),
    )
    return fig


def quality_vs_speed(doc: dict) -> go.Figure:
    """Each protocol-A method as a point: training seconds (log) against nDCG@10."""
    frame = eval_tables(doc)["A"]
    frame = frame[frame["fit s"] > 0]
    ours = frame["method"].isin(["mf", "hybrid", "explicit MF (stars only)"])
    fig = go.Figure()
    for mask, name, symbol in ((ours, "vidrec", "circle"), (~ours, "baselines", "diamond")):
        part = frame[mask]
        fig.add_scatter(
            x=part["fit s"],
            y=part["nDCG@10"],
            mode="markers+text",
            text=part["method"],
            textposition="top center",
            marker=dict(size=12, symbol=symbol),
            name=name,
        )
    fig.update_layout(
        title="Quality vs training time (protocol A)",
        xaxis=dict(title="training seconds (log scale)", type="log"),
        yaxis_title="nDCG@10",
        font=FONT,
        height=380,
        margin=dict(l=60, r=20, t=50, b=50),
        legend=dict(orientation="h", y=-0.25),
    )
    return fig
