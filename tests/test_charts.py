"""Tests for vidrec.viewer.charts: checked by the data in each figure, not by pixels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from figures import assert_serialisable, assert_shared_look

from vidrec.errors import DataError
from vidrec.viewer import charts


def recs_frame() -> pd.DataFrame:
    parts = {
        "content_score": [0.50, 0.30, -0.10, 0.20],
        "collab_score": [0.20, -0.15, 0.40, 0.00],
        "popularity_score": [0.01, 0.02, 0.03, -0.04],
    }
    frame = pd.DataFrame({"title": ["Alien (1979)", "Heat (1995)", "Heat (1995)", "Babe (1995)"]})
    frame = frame.assign(**parts)
    return frame.assign(score=frame[list(parts)].sum(axis=1))


# ----- score_breakdown ---------------------------------------------------------------------------


def test_score_breakdown_stacks_three_named_bars():
    recs = recs_frame()
    fig = charts.score_breakdown(recs)
    assert [t.name for t in fig.data] == ["Content", "Collaborative", "Popularity"]
    assert all(isinstance(t, go.Bar) and t.orientation == "h" for t in fig.data)
    assert fig.layout.barmode == "relative"
    stacked = np.sum([np.asarray(t.x, dtype=float) for t in fig.data], axis=0)
    np.testing.assert_allclose(stacked, recs["score"])
    assert_shared_look(fig)
    assert_serialisable(fig)


def test_score_breakdown_puts_the_top_result_on_top_and_keeps_repeated_titles():
    fig = charts.score_breakdown(recs_frame())
    assert fig.layout.yaxis.autorange == "reversed"
    assert list(fig.data[0].y) == [0, 1, 2, 3]  # two "Heat (1995)" rows stay apart
    assert list(fig.layout.yaxis.ticktext) == list(recs_frame()["title"])
    assert "%{x:+.4f}" in fig.data[0].hovertemplate


def test_score_breakdown_requires_its_columns():
    with pytest.raises(DataError, match="collab_score"):
        charts.score_breakdown(recs_frame().drop(columns="collab_score"))


def test_score_breakdown_of_no_recommendations_is_still_a_figure():
    fig = charts.score_breakdown(recs_frame().iloc[:0])
    assert len(fig.data) == 3 and len(fig.data[0].x) == 0
    assert_serialisable(fig)


# ----- attention_heatmap -------------------------------------------------------------------------

RATED = ["Alien (1979)", "Dr. Strangelove or: How I Learned to Stop Worrying (1963)"]


def attention() -> np.ndarray:
    return np.array([[0.7, 0.3], [0.5, 0.5], [0.1, 0.9]])  # (3 recs, 2 rated)


def test_attention_heatmap_shows_the_matrix_with_star_labels():
    att = attention()
    fig = charts.attention_heatmap(
        att, ["Aliens (1986)", "Heat (1995)", "Babe (1995)"], RATED, [5, 2.5]
    )
    assert len(fig.data) == 1 and isinstance(fig.data[0], go.Heatmap)
    np.testing.assert_array_equal(np.asarray(fig.data[0].z), att)
    ticks = list(fig.layout.xaxis.ticktext)
    assert ticks[0] == "Alien (1979) ★5"
    assert ticks[1].endswith(" ★2.5") and "…" in ticks[1]
    assert len(ticks[1].split(" ★")[0]) <= 28
    assert list(fig.layout.yaxis.ticktext) == ["Aliens (1986)", "Heat (1995)", "Babe (1995)"]
    assert fig.layout.yaxis.autorange == "reversed"
    assert_shared_look(fig)
    assert_serialisable(fig)


def test_attention_heatmap_hover_has_full_titles_weights_and_support():
    att = attention()
    support = att * np.array([1.0, -0.5])
    fig = charts.attention_heatmap(att, ["A", "B", "C"], RATED, [5, 1], support=support)
    hover = fig.data[0].text
    assert np.shape(hover) == (3, 2)
    assert RATED[1] in hover[2][1] and "0.9000" in hover[2][1] and "-0.4500" in hover[2][1]
    plain = charts.attention_heatmap(att, ["A", "B", "C"], RATED, [5, 1])
    assert "support" not in plain.data[0].text[0][0]


def test_attention_heatmap_without_ratings_shows_a_hint():
    fig = charts.attention_heatmap(np.zeros((3, 0)), ["A", "B", "C"], [], [])
    assert len(fig.data) == 0
    assert [a.text for a in fig.layout.annotations] == [charts.EMPTY_RATINGS_HINT]
    assert charts.EMPTY_RATINGS_HINT == "Rate a few videos to see what drives each recommendation"
    assert_serialisable(fig)


def test_attention_heatmap_rejects_mismatched_shapes():
    with pytest.raises(DataError, match="shape"):
        charts.attention_heatmap(attention(), ["A", "B"], RATED, [5, 1])
    with pytest.raises(DataError, match="star"):
        charts.attention_heatmap(attention(), ["A", "B", "C"], RATED, [5])
    with pytest.raises(DataError, match="support"):
        charts.attention_heatmap(attention(), ["A", "B", "C"], RATED, [5, 1], np.zeros((2, 2)))


# ----- token_attention_heatmap and token_strip ---------------------------------------------------

TOKENS = ["[CLS]", "the", "cat", "saw", "the", "dog", "[SEP]"]


def test_token_attention_keeps_repeated_tokens_apart():
    count = len(TOKENS)
    matrix = np.random.default_rng(0).dirichlet(np.ones(count), size=count)  # (T, T)
    fig = charts.token_attention_heatmap(TOKENS, matrix, "Layer 6, mean of heads")
    heat = fig.data[0]
    assert isinstance(heat, go.Heatmap)
    np.testing.assert_array_equal(np.asarray(heat.z), matrix)
    assert list(heat.x) == list(heat.y) == list(range(count))  # T distinct positions
    assert list(fig.layout.xaxis.tickvals) == list(range(count))
    assert list(fig.layout.xaxis.ticktext) == list(fig.layout.yaxis.ticktext) == TOKENS
    assert fig.layout.yaxis.autorange == "reversed"
    assert heat.text[1][4] == f"the → the: {matrix[1, 4]:.4f}"
    assert fig.layout.title.text == "Layer 6, mean of heads"
    assert_shared_look(fig)
    assert_serialisable(fig)


def test_token_attention_rejects_a_non_square_matrix():
    with pytest.raises(DataError, match="shape"):
        charts.token_attention_heatmap(TOKENS, np.ones((7, 6)), "x")


def test_token_strip_writes_every_token_in_its_cell():
    weights = np.linspace(0.05, 0.25, len(TOKENS))
    fig = charts.token_strip(TOKENS, weights)
    heat = fig.data[0]
    np.testing.assert_array_equal(np.asarray(heat.z), weights[None, :])
    assert list(heat.text[0]) == TOKENS  # [CLS] and [SEP] included, repeats kept
    assert heat.texttemplate == "%{text}"
    assert list(heat.x) == list(range(len(TOKENS)))
    assert fig.layout.height <= 160
    assert_serialisable(fig)


def test_token_strip_wraps_long_texts_in_reading_order():
    tokens = [f"t{i}" for i in range(30)]
    fig = charts.token_strip(tokens, np.full(30, 1 / 30))
    heat = fig.data[0]
    assert np.asarray(heat.z).shape == (3, charts.TOKENS_PER_ROW)
    flat = [t for row in heat.text for t in row if t]
    assert flat == tokens
    assert np.isnan(np.asarray(heat.z, dtype=float)[-1, -1])  # padding is blank, not zero


def test_token_strip_escapes_markup_and_checks_lengths():
    fig = charts.token_strip(["<b>", "x"], np.array([0.5, 0.5]))
    assert list(fig.data[0].text[0]) == ["&lt;b&gt;", "x"]
    with pytest.raises(DataError):
        charts.token_strip(TOKENS, np.ones(3))
    with pytest.raises(DataError):
        charts.token_strip([], np.ones(0))


def test_charts_follow_whatever_template_the_app_chooses(monkeypatch):
    monkeypatch.setattr(pio.templates, "default", "plotly_dark")
    figures = [
        charts.score_breakdown(recs_frame()),
        charts.token_strip(TOKENS, np.ones(len(TOKENS)) / len(TOKENS)),
    ]
    for fig in figures:
        assert fig.layout.template == pio.templates["plotly_dark"]


def test_score_breakdown_hover_carries_numeric_totals():
    fig = charts.score_breakdown(recs_frame())
    custom = [list(row) for row in fig.data[0].customdata]
    assert custom[0][0] == "Alien (1979)"
    assert isinstance(custom[0][1], float)
    np.testing.assert_allclose([row[1] for row in custom], recs_frame()["score"])


def test_loop_dot_is_a_cycle_with_escaped_labels():
    dot = charts.loop_dot([("Content", '1,682 "videos"'), ("Interest", "9 ratings"), ("Rank", "x")])
    assert dot.startswith("digraph loop {") and dot.rstrip().endswith("}")
    assert "s0 -> s1;" in dot and "s2 -> s0;" in dot
    assert '1,682 \\"videos\\"' in dot
    with pytest.raises(DataError):
        charts.loop_dot([("only", "one")])
