"""Tests for vidrec.present.charts: checked by the data in each figure, not by pixels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from figures import assert_serialisable, assert_shared_look

from vidrec.errors import DataError
from vidrec.present import charts


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


# ----- contribution_heatmap ----------------------------------------------------------------------

RATED = ["Alien (1979)", "Dr. Strangelove or: How I Learned to Stop Worrying (1963)"]


def contributions() -> np.ndarray:
    """(3 recs, 2 rated, 3 parts): content, MF preference, item-item."""
    return np.array(
        [
            [[0.1, 1.0, 0.5], [0.0, -0.2, 0.0]],
            [[0.3, 0.0, 0.0], [0.2, 0.4, 0.1]],
            [[-0.1, 0.2, 0.0], [0.0, 0.0, 2.0]],
        ]
    )


def test_contribution_heatmap_colours_totals_with_star_labels():
    fig = charts.contribution_heatmap(
        contributions(), ["Aliens (1986)", "Heat (1995)", "Babe (1995)"], RATED, [5, 2.5]
    )
    assert len(fig.data) == 1 and isinstance(fig.data[0], go.Heatmap)
    np.testing.assert_allclose(np.asarray(fig.data[0].z), contributions().sum(2))
    assert fig.data[0].zmid == 0 and fig.data[0].zmax == 2.0 and fig.data[0].zmin == -2.0
    ticks = list(fig.layout.xaxis.ticktext)
    assert ticks[0] == "Alien (1979) ★5"
    assert ticks[1].endswith(" ★2.5") and "…" in ticks[1]
    assert list(fig.layout.yaxis.ticktext) == ["Aliens (1986)", "Heat (1995)", "Babe (1995)"]
    assert fig.layout.yaxis.autorange == "reversed"
    assert_shared_look(fig)
    assert_serialisable(fig)


def test_contribution_heatmap_switches_parts_and_hover_gives_all_three():
    parts = contributions()
    content = charts.contribution_heatmap(parts, ["A", "B", "C"], RATED, [5, 1], show="content")
    np.testing.assert_allclose(np.asarray(content.data[0].z), parts[..., 0])
    collab = charts.contribution_heatmap(parts, ["A", "B", "C"], RATED, [5, 1], "collaborative")
    np.testing.assert_allclose(np.asarray(collab.data[0].z), parts[..., 1:].sum(2))
    hover = collab.data[0].text
    assert np.shape(hover) == (3, 2)
    assert RATED[1] in hover[2][1]
    assert "total +2.000 = content +0.000 + MF +0.000 + item-item +2.000" in hover[2][1]
    with pytest.raises(DataError, match="show must be one of"):
        charts.contribution_heatmap(parts, ["A", "B", "C"], RATED, [5, 1], show="attention")


def test_contribution_heatmap_without_ratings_shows_a_hint():
    fig = charts.contribution_heatmap(np.zeros((3, 0, 3)), ["A", "B", "C"], [], [])
    assert len(fig.data) == 0
    assert [a.text for a in fig.layout.annotations] == [charts.EMPTY_RATINGS_HINT]
    assert charts.EMPTY_RATINGS_HINT == "Rate a few videos to see what drives each recommendation"
    assert_serialisable(fig)


def test_contribution_heatmap_rejects_mismatched_shapes():
    with pytest.raises(DataError, match="shape"):
        charts.contribution_heatmap(contributions(), ["A", "B"], RATED, [5, 1])
    with pytest.raises(DataError, match="star"):
        charts.contribution_heatmap(contributions(), ["A", "B", "C"], RATED, [5])


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


def test_token_attention_of_a_long_text_labels_only_what_fits():
    """Regression: a 90-token synopsis wrote all 90 key labels under a ~700 px plot, 8 px
    apart, so they overlapped and none could be read. Now labels stay MIN_TICK_PX apart on the
    narrowest plot (every second key token, every third query token here); the hover still
    names every pair."""
    count = 90
    tokens = [f"w{i}" for i in range(count)]
    matrix = np.full((count, count), 1.0 / count)
    fig = charts.token_attention_heatmap(tokens, matrix, "layer 6")
    rows_px = fig.layout.height - charts.AXIS_PX  # the plot's height
    for axis, pixels, every in ((fig.layout.xaxis, charts.NARROWEST_PLOT_PX, 2),
                                (fig.layout.yaxis, rows_px, 3)):  # fmt: skip
        ticks = list(axis.tickvals)
        assert ticks == list(range(0, count, every))
        assert list(axis.ticktext) == [tokens[i] for i in ticks]
        assert pixels / count * every >= charts.MIN_TICK_PX  # room for each label
    assert fig.layout.xaxis.tickangle == -90
    assert np.shape(fig.data[0].text) == (count, count)
    assert charts.tick_stride(7, 700) == 1 and charts.tick_stride(128, 700) == 3


def test_hover_numbers_never_read_minus_zero():
    """Regression: a part of -0.0001 was written "-0.000" in the contribution hover."""
    parts = np.zeros((1, 1, 3))
    parts[0, 0] = [-0.0001, 0.25, -0.3]
    fig = charts.contribution_heatmap(parts, ["A"], ["B"], [4])
    hover = fig.data[0].text[0][0]
    assert "-0.000" not in hover and "content +0.000" in hover and "item-item -0.300" in hover


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
