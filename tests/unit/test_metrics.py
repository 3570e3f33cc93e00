"""The shared ranking metrics with hand-computed answers."""

import math

import numpy as np
import pytest

from vidrec.metrics import discounts, mean_ndcg, ndcg, ranking_metrics


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


def test_ranking_metrics_normalise_per_user_then_average_over_users_with_held_out_videos():
    """Each user's relevant count picks a different normaliser; top-only users do not count."""
    top = {
        1: [11, 10, 12],  # 1 relevant, hit at rank 2
        2: [20, 29],  # 2 relevant, list shorter than k, hit at rank 1
        3: [30, 39, 31, 32, 33],  # 5 relevant (> k), hits at ranks 1 and 3; 4 and 5 past k
        5: [50, 51, 52],  # no held-out videos: ignored, however good its list
        6: [60, 61, 62],
    }
    relevant = {1: {10}, 2: {20, 21}, 3: {30, 31, 32, 33, 34}, 4: {40}}  # user 4: no list
    m = ranking_metrics(top, relevant, k=3)
    l3 = math.log2(3)
    # precision: hits / k, even for the short list of user 2
    assert m["precision@3"] == pytest.approx((1 / 3 + 1 / 3 + 2 / 3 + 0) / 4)
    # recall: hits / number relevant
    assert m["recall@3"] == pytest.approx((1 / 1 + 1 / 2 + 2 / 5 + 0) / 4)
    # nDCG: DCG over the ideal DCG of min(relevant, k) hits at the top
    ndcg = [
        (1 / l3) / 1,  # user 1: ideal is one hit at rank 1
        1 / (1 + 1 / l3),  # user 2: ideal is two hits
        (1 + 1 / 2) / (1 + 1 / l3 + 1 / 2),  # user 3: ideal cut at k = 3 hits
        0.0,
    ]
    assert m["ndcg@3"] == pytest.approx(sum(ndcg) / 4)
    # MAP: precision at each hit, summed, over min(relevant, k)
    ap = [(1 / 2) / 1, (1 / 1) / 2, (1 / 1 + 2 / 3) / 3, 0.0]
    assert m["map@3"] == pytest.approx(sum(ap) / 4)
    assert m == pytest.approx(
        {"precision@3": 1 / 3, "recall@3": 0.475, "ndcg@3": sum(ndcg) / 4, "map@3": 7 / 18}
    )


def test_ranking_metrics_perfect_and_empty_cases():
    assert ranking_metrics({1: [1, 2]}, {1: {1, 2}}, k=2) == pytest.approx(
        {"precision@2": 1.0, "recall@2": 1.0, "ndcg@2": 1.0, "map@2": 1.0}
    )
    # a perfect list for a user with more relevant videos than k still scores nDCG = MAP = 1
    perfect = ranking_metrics({1: [1, 2]}, {1: {1, 2, 3, 4}}, k=2)
    assert perfect == pytest.approx(
        {"precision@2": 1.0, "recall@2": 0.5, "ndcg@2": 1.0, "map@2": 1.0}
    )
    assert ranking_metrics({1: [1]}, {}, k=2) == dict.fromkeys(
        ("precision@2", "recall@2", "ndcg@2", "map@2"), 0.0
    )


def test_ndcg_of_one_list_counts_only_its_first_k_and_short_lists_have_no_more():
    l3 = math.log2(3)
    assert discounts(3) == pytest.approx([1.0, 1 / l3, 0.5])
    assert ndcg(np.array([False, True]), n_relevant=1, k=3) == pytest.approx(1 / l3)
    assert ndcg(np.array([False, False, False, True]), n_relevant=1, k=3) == 0.0
    assert ndcg(np.array([True, True, True]), n_relevant=5, k=3) == pytest.approx(1.0)


def test_mean_ndcg_averages_over_the_pairs_given_and_is_zero_for_none():
    pairs = [([7, 8, 9], {8}), ([1, 2], {1, 2}), ([5], {6})]
    want = (1 / math.log2(3) + 1.0 + 0.0) / 3
    assert mean_ndcg(pairs, k=3) == pytest.approx(want)
    assert mean_ndcg([], k=3) == 0.0
    # more relevant videos than k: the ideal list is cut at k, so a perfect top 3 scores 1
    assert mean_ndcg([([1, 2, 3], {1, 2, 3, 4, 5})], k=3) == pytest.approx(1.0)
