"""Protocol A: beyond-accuracy metrics, the split, and the eval commands on tiny data."""

import math
import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from vidrec.artifacts import load_artifacts
from vidrec.evaluation.cold import (
    READER,
    RIDGE,
    SCALES,
    among_all,
    cold_split,
    cold_world,
    evaluate_cold,
    scale_curve,
)
from vidrec.evaluation.topk import beyond_accuracy, evaluate, fit_split, stratified_split


def _fake_rec(embeddings: list[list[float]], ids: list[int]) -> SimpleNamespace:
    """The three things beyond_accuracy reads from a HybridRecommender."""
    row = {v: i for i, v in enumerate(ids)}
    return SimpleNamespace(
        videos=SimpleNamespace(rows_of=lambda wanted: np.array([row[v] for v in wanted])),
        embeddings=np.array(embeddings, dtype=np.float32),
        video_ids=np.array(ids),
    )


def test_beyond_accuracy_coverage_and_intra_list_diversity():
    rec = _fake_rec(
        [[1, 0, 0], [0, 1, 0], [1, 0, 0], [0.6, 0.8, 0], [0, 0, 1]], [100, 101, 102, 103, 104]
    )
    top = {
        1: [100, 101],  # orthogonal: mean cosine 0, diversity 1
        2: [100, 102],  # identical: mean cosine 1, diversity 0
        3: [100, 101, 102],  # off-diagonal cosines 0, 1, 0 (each twice): 1 - 2/(3*2) = 2/3
        4: [100, 103],  # cosine 0.6: diversity 0.4
    }
    out = beyond_accuracy(top, rec)
    assert out["coverage"] == pytest.approx(4 / 5)  # 100..103 shown, 104 never
    assert out["diversity"] == pytest.approx((1 + 0 + 2 / 3 + 0.4) / 4)


def test_beyond_accuracy_diversity_skips_lists_too_short_to_have_a_pair():
    """A one-video list has no pair to compare: it must not turn the mean into nan (0 / 0)."""
    rec = _fake_rec([[1, 0], [0, 1], [0.6, 0.8]], [100, 101, 102])
    top = {1: [100, 101], 2: [102], 3: []}  # only user 1 has a pair: orthogonal, diversity 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "invalid value in divide" from a 1 x 1 list either
        out = beyond_accuracy(top, rec)
    assert out["diversity"] == 1.0


def test_beyond_accuracy_coverage_counts_videos_of_one_video_lists():
    """Regression: the `len(ids) > 1` filter meant for diversity also dropped one-video lists
    from coverage, so a video that only ever appeared alone in a list counted as never shown."""
    rec = _fake_rec([[1, 0], [0, 1], [0.6, 0.8]], [100, 101, 102])
    out = beyond_accuracy({1: [100, 101], 2: [102]}, rec)
    assert out["coverage"] == 1.0  # all three videos were shown to someone


@pytest.mark.parametrize("top, coverage", [({}, 0.0), ({1: [], 2: [100]}, 0.5)])
def test_beyond_accuracy_with_no_list_of_two_has_nan_diversity(top, coverage):
    rec = _fake_rec([[1, 0], [0, 1]], [100, 101])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Mean of empty slice" RuntimeWarning
        out = beyond_accuracy(top, rec)
    assert out["coverage"] == coverage and type(out["coverage"]) is float
    assert math.isnan(out["diversity"]) and type(out["diversity"]) is float


def test_stratified_split_keeps_three_quarters_of_each_video():
    ratings = pd.DataFrame(
        {"user_id": np.arange(400), "video_id": np.repeat([1, 2, 3, 4], 100), "rating": 4.0}
    )
    train, test = stratified_split(ratings, seed=42)
    assert (train.groupby("video_id").size() == 75).all()
    assert (test.groupby("video_id").size() == 25).all()
    again, _ = stratified_split(ratings, seed=42)
    assert train.equals(again)


def test_stratified_split_defaults_draw_videos_in_sorted_order_from_seed_42():
    """Known answer: videos are visited in sorted id order (not file order), each shuffled by one
    permutation from default_rng(42), and the first round(0.75 n) of it go to train. Row order
    inside each part is the file order, with a fresh 0..n-1 index and the same columns."""
    videos = [9, 9, 4, 9, 4, 4, 9, 4, 9, 4, 9, 4, 9, 4, 9, 4]  # 9 appears first in the file
    ratings = pd.DataFrame(
        {"user_id": np.arange(16) + 100, "video_id": videos, "rating": np.arange(16) % 5 + 1.0}
    )
    rng = np.random.default_rng(42)
    in_train = np.zeros(16, dtype=bool)
    for video in (4, 9):  # sorted ids: 4 first although 9 comes first in the file
        rows = np.flatnonzero(ratings["video_id"].to_numpy() == video)  # 8 rows each
        in_train[rng.permutation(rows)[:6]] = True  # round(0.75 * 8) = 6
    expected_train = ratings[in_train].reset_index(drop=True)
    expected_test = ratings[~in_train].reset_index(drop=True)
    train, test = stratified_split(ratings)  # defaults: ratio 0.75, seed 42
    pd.testing.assert_frame_equal(train, expected_train)  # columns, dtypes and RangeIndex too
    pd.testing.assert_frame_equal(test, expected_test)
    assert list(train.columns) == list(test.columns) == ["user_id", "video_id", "rating"]
    assert train.index.equals(pd.RangeIndex(12)) and test.index.equals(pd.RangeIndex(4))


def test_eval_protocols_run_on_a_tiny_catalog(tiny_built):
    rows = evaluate(tiny_built, alphas=(0.5,))
    methods = [r["method"] for r in rows]
    assert {"popularity", "content", "mf", "hybrid", "hybrid α=0.5"} <= set(methods)
    assert all(0 <= r["ndcg@10"] <= 1 for r in rows)
    hybrid = next(r for r in rows if r["method"] == "hybrid")
    assert hybrid["rmse"] > 0


def test_cold_protocol_holds_out_whole_videos(tiny_built):
    arts = load_artifacts(tiny_built)
    warm, cold = cold_split(arts.dataset, seed=42)
    assert len(cold) >= 1 and not set(cold) & set(warm["video_id"])
    rows = evaluate_cold(arts, tiny_built)
    assert [r["method"] for r in rows] == [
        "random",
        "content",
        f"mapped MF, {RIDGE}",
        f"mapped MF, {READER}",
    ]


def test_c_all_places_the_cold_films_by_their_reading_and_judges_every_list(tiny_built):
    arts = load_artifacts(tiny_built)
    fitted = fit_split(arts, tiny_built)
    cold = cold_world(arts, fitted, tiny_built)
    assert len(cold.rows) >= 1
    cold_ids = set(arts.dataset.catalog["video_id"].to_numpy()[cold.rows])
    assert not cold_ids & set(cold.fit.train["video_id"])  # refitted without their ratings
    for scale in (1.0, 2.0):  # the placed engine reads the reader's factors, scaled
        placed = cold.placed(scale).mf.item_factors.numpy()[cold.rows]
        np.testing.assert_allclose(placed, scale * cold.factors, rtol=1e-6)
    rows = among_all(arts, fitted, tiny_built)
    assert [r["method"] for r in rows] == [
        "warm (trained with their ratings)",
        "cold (placed by the trained reader)",
    ]
    # eight films: a top-20 holds every unrated one, so each liked cold film is recalled
    assert [r["recall@20"] for r in rows] == [1.0, 1.0]
    assert all(0 < r["ndcg@10"] <= 1 for r in rows)
    curve = scale_curve(arts, fitted, tiny_built)
    assert [r["method"] for r in curve] == [f"cold, read factors × {s:g}" for s in SCALES]
    assert curve[0]["ndcg@10"] == rows[1]["ndcg@10"]  # × 1 is the cold row itself
