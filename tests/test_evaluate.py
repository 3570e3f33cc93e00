"""Offline metrics with hand-computed answers, the split, and the eval commands on tiny data."""

import math

import numpy as np
import pandas as pd
import pytest

from vidrec.artifacts import load_artifacts
from vidrec.coldeval import cold_split, evaluate_cold
from vidrec.evaluate import evaluate, ranking_metrics, stratified_split


def test_ranking_metrics_match_a_hand_computed_case():
    top = {1: [10, 11, 12], 2: [20, 21, 22]}
    relevant = {1: {10, 12, 99}, 2: {50}}
    m = ranking_metrics(top, relevant, k=3)
    disc = [1, 1 / math.log2(3), 1 / math.log2(4)]
    ndcg_1 = (disc[0] + disc[2]) / sum(disc)
    assert m["precision@3"] == pytest.approx((2 / 3 + 0) / 2)
    assert m["recall@3"] == pytest.approx((2 / 3 + 0) / 2)
    assert m["ndcg@3"] == pytest.approx(ndcg_1 / 2)
    assert m["map@3"] == pytest.approx(((1 + 2 / 3) / 3) / 2)


def test_stratified_split_keeps_three_quarters_of_each_video():
    ratings = pd.DataFrame(
        {"user_id": np.arange(400), "video_id": np.repeat([1, 2, 3, 4], 100), "rating": 4.0}
    )
    train, test = stratified_split(ratings, seed=42)
    assert (train.groupby("video_id").size() == 75).all()
    assert (test.groupby("video_id").size() == 25).all()
    again, _ = stratified_split(ratings, seed=42)
    assert train.equals(again)


def test_eval_protocols_run_on_a_tiny_catalog(tiny_config):
    rows = evaluate(tiny_config, alphas=(0.5,))
    methods = [r["method"] for r in rows]
    assert {"popularity", "content", "mf", "hybrid", "hybrid α=0.5"} <= set(methods)
    assert all(0 <= r["ndcg@10"] <= 1 for r in rows)
    hybrid = next(r for r in rows if r["method"] == "hybrid")
    assert hybrid["rmse"] > 0


def test_cold_protocol_holds_out_whole_videos(tiny_config):
    arts = load_artifacts(tiny_config)
    warm, cold = cold_split(arts.dataset, seed=42)
    assert len(cold) >= 1 and not set(cold) & set(warm["video_id"])
    rows = evaluate_cold(arts, tiny_config, alphas=(0.5,))
    assert [r["method"] for r in rows] == ["random", "content", "mapped MF", "blend α=0.5"]
