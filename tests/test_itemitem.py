"""The item-to-item model: hand-worked EASE weights and metric, a withheld co-watch pattern,
online scores, safe saving."""

import numpy as np
import pytest
import torch

from vidrec import itemitem
from vidrec.errors import DataError
from vidrec.itemitem import ITEM_ITEM_MAX, ItemItem, _gram, _solve, _validate


def _two_groups(n_users: int = 60):
    """Users 0..29 watch items 0-3, users 30..59 watch items 4-7; user 0 misses item 3."""
    users, items = [], []
    for u in range(n_users):
        group = range(4) if u < n_users // 2 else range(4, 8)
        for i in group:
            if (u, i) != (0, 3):
                users.append(u)
                items.append(i)
    return np.array(users), np.array(items)


def test_withheld_item_of_the_same_group_ranks_first():
    users, items = _two_groups()
    model = ItemItem.fit(users, items, n_items=8)
    scores = model.scores(np.array([0, 1, 2]))
    unseen = [3, 4, 5, 6, 7]
    assert unseen[int(np.argmax(scores[unseen]))] == 3
    assert np.allclose(np.diag(model.weights), 0)


def test_scores_pad_rows_past_the_trained_catalog_with_zero():
    users, items = _two_groups()
    model = ItemItem.fit(users, items, n_items=8)
    scores = model.scores(np.array([0, 9]), n_rows=10)  # row 9: a video a viewer added
    assert scores.shape == (10,) and scores[8] == scores[9] == 0
    assert np.array_equal(model.scores(np.array([], dtype=np.int64)), np.zeros(8))


def test_save_load_round_trip_and_damaged_file(tmp_path):
    users, items = _two_groups()
    model = ItemItem.fit(users, items, n_items=8)
    model.save(tmp_path / "ii.safetensors")
    again = ItemItem.load(tmp_path / "ii.safetensors")
    assert again.reg == model.reg and np.array_equal(again.weights, model.weights)
    (tmp_path / "bad.safetensors").write_bytes(b"\x00garbage")
    with pytest.raises(DataError, match="cannot read item-item weights"):
        ItemItem.load(tmp_path / "bad.safetensors")


def test_refuses_catalogs_too_big_for_dense_weights():
    with pytest.raises(DataError, match="item-item weights need"):
        ItemItem.fit(np.array([0]), np.array([0]), n_items=ITEM_ITEM_MAX + 1)


# EASE on a 3×3 Gram by hand: G + λI with λ = 1 is [[3,1,0],[1,3,1],[0,1,3]], det 21, so
# P = (G + λI)⁻¹ = [[8,−3,1],[−3,9,−3],[1,−3,8]] / 21 and B_ij = −P_ij / P_jj off the diagonal.
HAND_GRAM = [[2.0, 1.0, 0.0], [1.0, 2.0, 1.0], [0.0, 1.0, 2.0]]
HAND_B = np.array([[0, 1 / 3, -1 / 8], [3 / 8, 0, 3 / 8], [-1 / 8, 1 / 3, 0]])


def test_solve_is_the_hand_worked_ease_solution():
    B = _solve(torch.tensor(HAND_GRAM, dtype=torch.float64), 1.0)
    assert B.dtype == np.float32
    np.testing.assert_allclose(B, HAND_B, rtol=1e-6, atol=1e-7)


def test_scores_sum_the_weight_rows_of_the_rated_items():
    model = ItemItem(HAND_B.astype(np.float32), 1.0)
    # rows 0 and 2: (0 − 1/8, 1/3 + 1/3, −1/8 + 0)
    np.testing.assert_allclose(model.scores(np.array([0, 2])), [-1 / 8, 2 / 3, -1 / 8], rtol=1e-6)
    np.testing.assert_allclose(model.scores(np.array([1])), [3 / 8, 0, 3 / 8], rtol=1e-6)


def test_gram_counts_co_watches_across_user_chunks():
    # users 0, 1 | 2, 3 land in different chunks of two; user 3 watched item 2 twice (binary)
    users = np.array([0, 0, 1, 1, 1, 2, 3, 3, 3])
    items = np.array([0, 1, 0, 1, 2, 1, 2, 2, 0])
    # watched rows: u0 (1,1,0), u1 (1,1,1), u2 (0,1,0), u3 (1,0,1)
    want = [[3, 2, 2], [2, 3, 1], [2, 1, 2]]
    np.testing.assert_array_equal(_gram(users, items, 3, chunk=2).numpy(), want)
    np.testing.assert_array_equal(_gram(users, items, 3).numpy(), want)


def test_validate_hand_case_with_known_ndcg():
    B = np.array(
        [
            [0.0, 0.1, 0.5, 0.3],
            [-0.2, 0.0, 0.4, 0.6],
            [0.9, 0.9, 0.0, 0.9],
            [0.0, 0.0, 0.0, 0.0],
        ],
        np.float32,
    )
    # training pairs: user 5 watched 0, user 9 watched 1; users 7 and 12 (watched 2) are not
    # validation users, so row 2 of B must not reach anyone's scores
    users, items = np.array([5, 7, 9, 12]), np.array([0, 2, 1, 2])
    wanted, relevant = np.array([5, 9]), [{3}, {0, 3}]
    # user 5: items 1, 2, 3 score 0.1, 0.5, 0.3, so item 3 is 2nd: 1/log2(3) = 0.630930
    # user 9: items 0, 2, 3 score −0.2, 0.4, 0.6 and its own item 1 (score 0) is masked, so the
    #   order is 3, 2, 0: hits at ranks 1, 3: (1 + 1/2) / (1 + 1/log2(3)) = 0.919721
    want = (1 / np.log2(3) + 1.5 / (1 + 1 / np.log2(3))) / 2
    assert _validate(B, users, items, wanted, relevant) == pytest.approx(want, rel=1e-6)
    assert want == pytest.approx(0.775325, abs=1e-6)


def test_fit_keeps_the_reg_with_the_best_validation_score(monkeypatch):
    """λ is chosen by the validation score of weights from the training pairs only, and the
    final weights are the EASE solution on every pair."""
    rng = np.random.default_rng(3)
    watched = rng.random((40, 5)) < 0.5
    users, items = np.nonzero(watched)
    seen, scores = [], {1.0: 0.2, 2.0: 0.5, 3.0: 0.3}
    solve = itemitem._solve

    def fake_validate(B, train_users, train_items, wanted, relevant):
        train = set(zip(train_users.tolist(), train_items.tolist()))
        held = {(u, i) for u, rel in zip(wanted.tolist(), relevant) for i in rel}
        assert held and not train & held and train | held == set(zip(users, items))
        assert len(held) < 0.15 * len(users)  # a 5% validation slice (here 4 of 95 pairs)
        assert np.allclose(B, solve(_gram(train_users, train_items, 5), seen[-1]))
        return scores[seen[-1]]

    def spy_solve(gram, reg):
        seen.append(reg)
        return solve(gram, reg)

    monkeypatch.setattr(itemitem, "REGS", (1.0, 2.0, 3.0))
    monkeypatch.setattr(itemitem, "_solve", spy_solve)
    monkeypatch.setattr(itemitem, "_validate", fake_validate)
    model = ItemItem.fit(users, items, n_items=5)
    assert seen == [1.0, 2.0, 3.0, 2.0] and model.reg == 2.0
    X = watched.astype(float)  # EASE with λ = 2 on the full watched matrix, in plain numpy
    P = np.linalg.inv(X.T @ X + 2.0 * np.eye(5))
    want = np.eye(5) - P / np.diag(P)[None, :]
    np.testing.assert_allclose(model.weights, want, rtol=1e-5, atol=1e-6)
