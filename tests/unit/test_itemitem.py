"""The item-to-item model: hand-worked EASE weights and metric, a withheld co-watch pattern,
online scores, safe saving."""

import re

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from vidrec import itemitem
from vidrec.errors import DataError
from vidrec.itemitem import (
    ITEM_ITEM_MAX,
    ItemItem,
    _gram,
    _solve,
    _validate,
    _validation_users,
)


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


def test_scores_are_float32_and_take_float_rows_and_drop_the_first_row_past_the_catalog():
    model = ItemItem(HAND_B.astype(np.float32), 1.0)
    scores = model.scores(np.array([0.0, 2.0]))  # rows as floats, e.g. from a DataFrame
    assert scores.dtype == np.float32
    np.testing.assert_allclose(scores, [-1 / 8, 2 / 3, -1 / 8], rtol=1e-6)
    # row 3 is the first one past the 3-item catalog: it adds nothing, the padding scores 0
    padded = model.scores(np.array([1, 3]), n_rows=4)
    assert padded.dtype == np.float32
    np.testing.assert_allclose(padded, [3 / 8, 0, 3 / 8, 0], rtol=1e-6)


@pytest.mark.parametrize("shape", [(2, 3), (4,)])
def test_load_refuses_weights_that_are_not_square(tmp_path, shape):
    path = tmp_path / "ii.safetensors"
    save_file({"weights": torch.ones(shape)}, str(path), metadata={"reg": "100.0"})
    want = f"item-item weights in {path} are not square: {shape}"
    with pytest.raises(DataError, match=f"^{re.escape(want)}$"):
        ItemItem.load(path)


def test_gram_is_float64_and_zero_without_any_pair():
    g = _gram(np.array([0, 1]), np.array([1, 1]), 2)
    assert g.dtype == torch.float64
    np.testing.assert_array_equal(g.numpy(), [[0, 0], [0, 2]])
    empty = _gram(np.array([], np.int64), np.array([], np.int64), 3)
    assert empty.dtype == torch.float64 and not empty.any()


def test_solve_adds_reg_in_double_precision():
    # G = [[1,1],[1,1]]: P = (G + λI)⁻¹ = [[1+λ, −1],[−1, 1+λ]] / (λ² + 2λ), so B₀₁ = 1/(1+λ).
    # λ = 1.3 is not a float32 number; rounding it first would give 0.43478262, not 10/23
    B = _solve(torch.tensor([[1.0, 1.0], [1.0, 1.0]], dtype=torch.float64), 1.3)
    assert B[0, 1] == B[1, 0] == np.float32(10 / 23)
    with pytest.raises(RuntimeError, match="square"):
        _solve(torch.ones(1, 3, dtype=torch.float64), 1.0)


def test_validate_without_validation_users_is_zero():
    B = np.zeros((3, 3), np.float32)
    assert _validate(B, np.array([0]), np.array([1]), np.array([], np.int64), []) == 0.0


def test_validate_cuts_the_ranking_at_ten_on_a_bigger_catalog():
    # 12 items; the one user watched item 0 and B's row 0 ranks items 1, 2, …, 11 in order.
    # Held out: items 10 and 11 (ranks 10 and 11): only rank 10 counts, 1/log2(11), over the
    # ideal 1 + 1/log2(3)
    B = np.zeros((12, 12), np.float32)
    B[0, 1:] = np.arange(11, 0, -1)
    got = _validate(B, np.array([4]), np.array([0]), np.array([4]), [{10, 11}])
    assert got == pytest.approx((1 / np.log2(11)) / (1 + 1 / np.log2(3)), rel=1e-9)


def test_validate_scores_with_one_per_watched_item():
    """Watched items count once each: two huge weights that cancel give exactly 0, not an
    overflow (doubling them would leave float32)."""
    B = np.zeros((5, 5), np.float32)
    B[0, 1], B[3, 1] = 2e38, -2e38  # item 1: 0
    B[0, 2], B[0, 4] = 0.5, -0.5  # item 2: 0.5, item 4: −0.5
    # the user watched 0 and 3; order 2, 1, 4: held-out item 1 is 2nd, 1/log2(3)
    got = _validate(B, np.array([7, 7]), np.array([0, 3]), np.array([7]), [{1}])
    assert got == pytest.approx(1 / np.log2(3), rel=1e-9)


def test_validation_users_samples_distinct_users_without_replacement():
    users = np.repeat(np.arange(0, 24, 2), 2)  # 12 users (even ids), two items each
    items = np.arange(24)
    wanted, relevant = _validation_users(users, items, np.random.default_rng(0), most=10)
    assert len(wanted) == len(set(wanted.tolist())) == 10
    assert np.all(np.diff(wanted) > 0) and set(wanted.tolist()) <= set(users.tolist())
    assert relevant == [{u, u + 1} for u in wanted.tolist()]


def test_validation_users_keeps_everyone_up_to_the_cap_without_drawing():
    users, items = np.array([5, 3, 5, 9]), np.array([0, 1, 2, 3])
    rng = np.random.default_rng(1)
    wanted, relevant = _validation_users(users, items, rng, most=3)
    np.testing.assert_array_equal(wanted, [3, 5, 9])
    assert relevant == [{1}, {0, 2}, {3}]
    assert rng.random() == np.random.default_rng(1).random()  # no random draw was spent


def test_validation_users_cap_is_two_thousand():
    users = np.arange(2001)
    wanted, _ = _validation_users(users, users, np.random.default_rng(0))
    assert len(wanted) == 2000
    wanted, _ = _validation_users(users[:2000], users[:2000], np.random.default_rng(0))
    np.testing.assert_array_equal(wanted, np.arange(2000))


def test_fit_seeds_its_split_with_42_and_hands_on_int64_rows_and_the_generator(monkeypatch):
    seeds, rngs = [], []
    default_rng, validation_users = np.random.default_rng, itemitem._validation_users

    def spy_rng(seed=None):
        seeds.append(seed)
        return default_rng(seed)

    def spy_users(users, items, rng):
        assert users.dtype == items.dtype == np.int64  # rows are cast once, on the way in
        rngs.append(rng)
        return validation_users(users, items, rng)

    monkeypatch.setattr(np.random, "default_rng", spy_rng)
    monkeypatch.setattr(itemitem, "_validation_users", spy_users)
    users, items = _two_groups()
    ItemItem.fit(users.astype(float), items.astype(float), n_items=8)
    assert seeds == [42] and isinstance(rngs[0], np.random.Generator)


def test_fit_takes_rows_as_floats_and_allows_exactly_the_size_limit(monkeypatch):
    users, items = _two_groups()
    want = ItemItem.fit(users, items, n_items=8)
    got = ItemItem.fit(users.astype(float), items.astype(float), n_items=8)
    assert got.reg == want.reg and np.array_equal(got.weights, want.weights)
    monkeypatch.setattr(itemitem, "ITEM_ITEM_MAX", 8)
    assert ItemItem.fit(users, items, n_items=8).weights.shape == (8, 8)
    with pytest.raises(DataError, match="^item-item weights need ≤ 8 videos, got 9$"):
        ItemItem.fit(users, items, n_items=9)
