"""BiasedMF: hand-worked solves and metrics, planted data, fold-in agreement, persistence."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from vidrec.als import RatedRows
from vidrec.errors import DataError
from vidrec.metrics import mean_ndcg
from vidrec.mf import BiasedMF, MFParams, UserVector, _ndcg_at_10

N_USERS, N_ITEMS = 120, 80


def planted(seed=0):
    """Two taste groups: users pick half of their group's items (4-5★), a tenth of the other (1-2★).

    Returns training triples and the withheld same-group pairs (what each user should get next).
    """
    rng = np.random.default_rng(seed)
    ug, ig = np.arange(N_USERS) % 2, np.arange(N_ITEMS) % 2
    users, items, stars, withheld = [], [], [], {}
    for u in range(N_USERS):
        mine = rng.permutation(np.flatnonzero(ig == ug[u]))
        other = rng.permutation(np.flatnonzero(ig != ug[u]))
        picked = list(mine[:20])
        withheld[u] = set(mine[20:25].tolist())
        for i in picked:
            users.append(u), items.append(i), stars.append(rng.choice([4.0, 5.0]))
        for i in other[:4]:
            users.append(u), items.append(i), stars.append(rng.choice([1.0, 2.0]))
    return np.array(users), np.array(items), np.array(stars), withheld, ug, ig


@pytest.fixture(scope="module")
def trained():
    users, items, stars, withheld, ug, ig = planted()
    mf = BiasedMF(MFParams(factors=8, epochs=15, reg=1.0, rating_reg=1.0))
    mf.fit(users, items, stars, N_USERS, N_ITEMS)
    return mf, (users, items, stars, withheld, ug, ig)


def test_recovers_the_planted_taste_groups(trained):
    mf, (users, items, stars, withheld, ug, ig) = trained
    hits = same = 0
    for u in range(N_USERS):
        mask = users == u
        uv = mf.fold_in(items[mask], stars[mask])
        scores = mf.preference_scores(uv)
        scores[items[mask]] = -np.inf
        top5 = np.argsort(-scores)[:5]
        same += (ig[top5] == ug[u]).sum()
        hits += len(set(top5.tolist()) & withheld[u])
    assert same / (5 * N_USERS) > 0.95  # chance: 20 of 56 unrated items are same-group
    assert hits / (5 * N_USERS) > 0.15  # chance: 5 of 56


def test_predicted_stars_separate_liked_from_disliked(trained):
    mf, (users, items, stars, withheld, ug, ig) = trained
    gaps = []
    for u in range(0, N_USERS, 7):
        mask = users == u
        uv = mf.fold_in(items[mask], stars[mask])
        same = mf.predict(uv, np.flatnonzero(ig == ug[u])).mean()
        other = mf.predict(uv, np.flatnonzero(ig != ug[u])).mean()
        gaps.append(same - other)
    assert min(gaps) > 1.5


def test_fold_in_reproduces_the_trained_user_vectors(trained):
    mf, (users, items, stars, *_rest) = trained
    for u in (0, 1, 57):
        mask = users == u
        uv = mf.fold_in(items[mask], stars[mask])
        np.testing.assert_allclose(uv.preference, mf.user_factors[u].numpy(), atol=1e-5)


def test_empty_fold_in_is_a_zero_vector(trained):
    mf, _ = trained
    uv = mf.fold_in(np.array([], dtype=int), np.array([]))
    assert uv.n_ratings == 0 and not uv.preference.any() and not uv.taste.any()
    assert uv.preference.dtype == uv.taste.dtype == np.float32  # as for a non-empty fold-in
    assert np.allclose(
        mf.predict(uv, np.arange(3)), np.clip(mf.global_mean + mf.item_bias[:3].numpy(), 1, 5)
    )


def test_early_stopping_records_validation_history(trained):
    mf, _ = trained
    assert mf.history and all({"epoch", "ndcg@10", "rmse"} <= set(h) for h in mf.history)


def test_save_load_round_trip(trained, tmp_path):
    mf, (users, items, stars, *_rest) = trained
    mf.save(tmp_path / "mf.safetensors")
    back = BiasedMF.load(tmp_path / "mf.safetensors")
    mask = users == 3
    a, b = mf.fold_in(items[mask], stars[mask]), back.fold_in(items[mask], stars[mask])
    np.testing.assert_allclose(a.preference, b.preference, atol=1e-6)
    assert back.params == mf.params and back.history == mf.history
    assert back.global_mean == mf.global_mean == pytest.approx(stars.mean())
    for name in ("item_factors", "item_bias", "user_factors"):
        assert torch.equal(getattr(back, name), getattr(mf, name)), name


def test_damaged_model_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "mf.safetensors"
    bad.write_bytes(b"\x00garbage")
    with pytest.raises(DataError, match="cannot read MF model"):
        BiasedMF.load(bad)


@pytest.mark.parametrize("stars", [[1.0, np.nan], [1.0]])
def test_bad_training_input_is_rejected(stars):
    with pytest.raises(DataError):
        BiasedMF().fit(np.array([0, 1]), np.array([0, 1]), np.array(stars), 2, 2)


def test_training_is_deterministic():
    users, items, stars, *_ = planted(seed=1)
    params = MFParams(factors=4, epochs=3)
    a = BiasedMF(params).fit(users, items, stars, N_USERS, N_ITEMS)
    b = BiasedMF(params).fit(users, items, stars, N_USERS, N_ITEMS)
    assert np.array_equal(a.item_factors.numpy(), b.item_factors.numpy())


# ---- hand-worked known answers ------------------------------------------------------------
# Three or four items in two dimensions; every regulariser different, so using the wrong one
# (or dropping a term) changes the answer.
HAND = MFParams(
    factors=2,
    reg=2.0,
    rating_reg=1.0,
    bias_reg=3.0,
    observed_weight=1.0,
    unobserved_weight=0.5,
    rating_weight=0.25,
    batch_rows=2,  # three users solve in two mini-batches
)
V4 = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, -1.0]])
B4 = np.array([0.5, -0.5, 0.0, 0.2])
MU = 3.5
R = np.array([[5.0, 0.0, 3.0, 0.0], [0.0, 4.0, 0.0, 1.0], [2.0, 0.0, 0.0, 5.0]])  # 0: unrated


def hand_model(n_items: int = 3, params: MFParams = HAND) -> BiasedMF:
    return BiasedMF.from_item_side(
        params, torch.tensor(V4[:n_items]), torch.tensor(B4[:n_items]), MU
    )


def weighted_ridge(X, y, w, penalty):
    """argmin_β Σ_k w_k (y_k − x_k·β)² + Σ_j penalty_j β_j², as plain least squares on rows
    scaled by √w plus one row √penalty_j per coefficient (independent of the module's solves)."""
    A = np.vstack([np.sqrt(w)[:, None] * X, np.diag(np.sqrt(penalty))])
    b = np.concatenate([np.sqrt(w) * y, np.zeros(len(penalty))])
    return np.linalg.lstsq(A, b, rcond=None)[0]


def hand_user_step(p: MFParams = HAND, item_bias: np.ndarray = B4):
    """The user half-step of the module docstring's objective, one user at a time.

    Preference: Σ_i c_ui (t_ui − q·v_i)² + reg|q|², t = 1 on rated items with weight
    w₀ + w₁, t = 0 elsewhere with weight w₀. Stars: Σ_rated (r − μ − b_i − p·v_i − b)²
    + rating_reg|p|² + bias_reg b².
    """
    prefs, tastes, biases = [], [], []
    for row in R:
        rated = row > 0
        w = p.unobserved_weight + p.observed_weight * rated
        prefs.append(weighted_ridge(V4, rated.astype(float), w, [p.reg] * 2))
        X = np.hstack([V4[rated], np.ones((rated.sum(), 1))])
        y = row[rated] - MU - item_bias[rated]
        sol = weighted_ridge(X, y, np.ones(len(y)), [p.rating_reg] * 2 + [p.bias_reg])
        tastes.append(sol[:2])
        biases.append(sol[2])
    return np.array(prefs), np.array(tastes), np.array(biases)


def test_fold_in_preference_head_is_the_hand_worked_ridge_solve():
    # G = VᵀV over all three items = [[2,1],[1,2]]; rated rows 0 and 2: VrᵀVr = [[2,1],[1,1]]
    # A = w₀·G + w₁·VrᵀVr + reg·I = [[1,.5],[.5,1]] + [[2,1],[1,1]] + [[2,0],[0,2]]
    #   = [[5,1.5],[1.5,4]], det 17.75;  rhs = (w₀ + w₁)·Σv = 1.5·(2,1) = (3,1.5)
    # q = (4·3 − 1.5·1.5, −1.5·3 + 5·1.5)/17.75 = (9.75, 3)/17.75 = (39/71, 12/71)
    uv = hand_model().fold_in(np.array([0, 2]), np.array([5.0, 3.0]))
    np.testing.assert_allclose(uv.preference, [39 / 71, 12 / 71], rtol=1e-6)
    assert uv.n_ratings == 2


def test_preference_terms_are_the_hand_worked_per_rating_split():
    # Same A = [[5,1.5],[1.5,4]] (det 17.75) as above. A⁻¹ = [[4,−1.5],[−1.5,5]]/17.75.
    # Rated rows 0 (1,0) and 2 (1,1): A⁻¹V₀ = (4, −1.5)/17.75, A⁻¹V₂ = (2.5, 3.5)/17.75.
    # Term of rating j on row 1 (0,1): c·V₁·A⁻¹V_j = 1.5·(−1.5, 3.5)/17.75 = (−9/71, 21/71).
    mf = hand_model()
    got = mf.preference_terms(np.array([0, 2]), np.array([1]))
    np.testing.assert_allclose(got, [[-9 / 71, 21 / 71]], rtol=1e-9)
    uv = mf.fold_in(np.array([0, 2]), np.array([5.0, 3.0]))
    together = mf.preference_terms(np.array([0, 2]), np.arange(3)).sum(axis=1)
    np.testing.assert_allclose(together, mf.preference_scores(uv), rtol=1e-6)
    assert mf.preference_terms(np.array([], np.int64), np.arange(3)).shape == (3, 0)


def test_fold_in_stars_head_is_the_hand_worked_ridge_solve():
    # X = [V, 1] on rated rows 0, 2 = [[1,0,1],[1,1,1]]
    # y = r − μ − b_i = (5 − 3.5 − 0.5, 3 − 3.5 − 0) = (1, −0.5)
    # XᵀX + diag(rating_reg, rating_reg, bias_reg) = [[3,1,2],[1,2,1],[2,1,5]], Xᵀy = (.5,−.5,.5)
    # solution (p₁, p₂, b) = (1/4, −5/12, 1/12); row 1: 3/4 − 5/12 + 2/12 = 1/2 ✓
    uv = hand_model().fold_in(np.array([0, 2]), np.array([5.0, 3.0]))
    np.testing.assert_allclose(uv.taste, [1 / 4, -5 / 12], rtol=1e-6)
    assert uv.bias == pytest.approx(1 / 12, rel=1e-9)


def test_fold_in_equals_the_training_user_step_on_the_hand_catalog():
    mf = hand_model(4)
    pref, taste, bias = hand_user_step()
    for u, row in enumerate(R):
        rated = np.flatnonzero(row)
        uv = mf.fold_in(rated, row[rated])
        np.testing.assert_allclose(uv.preference, pref[u], rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(uv.taste, taste[u], rtol=1e-6, atol=1e-7)
        assert uv.bias == pytest.approx(bias[u], rel=1e-9)


def test_predict_adds_mean_biases_and_taste_then_clips_to_the_star_scale():
    mf = hand_model()  # μ 3.5, b_i (0.5, −0.5, 0), v = (1,0), (0,1), (1,1)
    high = UserVector(np.zeros(2, np.float32), np.array([1.0, -1.0], np.float32), 0.2, 1)
    # 3.5 + 0.2 + (0.5, −0.5, 0) + (1, −1, 0) = (5.2 → 5, 2.2, 3.7)
    np.testing.assert_allclose(mf.predict(high, np.arange(3)), [5.0, 2.2, 3.7], rtol=1e-6)
    low = UserVector(np.zeros(2, np.float32), np.array([-3.0, 0.5], np.float32), -0.5, 1)
    # 3.5 − 0.5 + (0.5, −0.5, 0) + (−3, 0.5, −2.5) = (0.5 → 1, 3, 0.5 → 1); rows in asked order
    np.testing.assert_allclose(mf.predict(low, np.array([1, 0, 2])), [3.0, 1.0, 1.0], rtol=1e-6)


def test_user_half_step_is_the_weighted_ridge_of_the_objective():
    mf = hand_model(4)
    users, items = np.nonzero(R)
    pref, taste, bias = mf._solve_users(RatedRows(users, items, R[users, items], 3, 4))
    want_pref, want_taste, want_bias = hand_user_step()
    np.testing.assert_allclose(pref.numpy(), want_pref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(taste.numpy(), want_taste, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(bias.numpy(), want_bias, rtol=1e-9, atol=1e-12)


def test_item_half_step_is_the_weighted_ridge_of_the_objective():
    """[v_i, b_i] = argmin Σ_u c_ui (t_ui − q_u·v)² + rating_weight Σ_rated (r − μ − b_u − p_u·v
    − b)² + reg|v|² + bias_reg b², with hand-set user vectors."""
    p, mf = HAND, hand_model(4)
    Q = np.array([[0.5, 0.1], [0.2, 0.4], [-0.3, 0.6]])
    P = np.array([[0.3, -0.2], [0.1, 0.5], [-0.4, 0.2]])
    bu = np.array([0.3, -0.2, 0.1])
    users, items = np.nonzero(R)
    by_item = RatedRows(items, users, R[users, items], 4, 3)
    as_t = torch.tensor
    factors, bias = mf._solve_items(by_item, as_t(Q), as_t(P), as_t(bu))
    for i in range(4):
        rated = R[:, i] > 0
        X = np.vstack(
            [np.hstack([Q, np.zeros((3, 1))]), np.hstack([P[rated], np.ones((rated.sum(), 1))])]
        )
        y = np.concatenate([rated.astype(float), R[rated, i] - MU - bu[rated]])
        w = np.concatenate(
            [p.unobserved_weight + p.observed_weight * rated, np.full(rated.sum(), 0.25)]
        )
        want = weighted_ridge(X, y, w, [p.reg, p.reg, p.bias_reg])
        np.testing.assert_allclose(factors[i].numpy(), want[:2], rtol=1e-9, atol=1e-12)
        assert float(bias[i]) == pytest.approx(want[2], rel=1e-9, abs=1e-12)


def ranked_ndcg(scores: np.ndarray, relevant: set) -> float:
    """Binary nDCG@10 of one score row, written out: gains 1/log2(rank + 1)."""
    order = sorted(range(len(scores)), key=lambda j: -scores[j])[:10]
    dcg = sum(1 / np.log2(rank + 2) for rank, j in enumerate(order) if j in relevant)
    return dcg / sum(1 / np.log2(rank + 2) for rank in range(min(len(relevant), 10)))


def test_validation_scores_held_out_pairs_against_the_user_step():
    """RMSE of clipped star predictions and nDCG@10 of the preference head, items rated in
    training masked out; user 1 holds nothing out and is not averaged in."""
    item_bias = np.array([0.5, -3.0, 0.0, 2.5])  # extreme biases push predictions off the scale
    mf = BiasedMF.from_item_side(HAND, torch.tensor(V4), torch.tensor(item_bias), MU)
    users, items = np.nonzero(R)
    val = (np.array([0, 2, 2]), np.array([3, 1, 2]), np.array([2.0, 1.0, 5.0]))
    by_user = RatedRows(users, items, R[users, items], 3, 4)
    got = mf._validate(mf._solve_users(by_user), by_user, val, epoch=4)
    pref, taste, bias = hand_user_step(item_bias=item_bias)
    u, i, r = val
    pred = MU + bias[u] + item_bias[i] + (taste[u] * V4[i]).sum(1)
    assert pred.max() > 5 and pred.min() < 1  # so the clip to the star scale matters
    rmse = np.sqrt(((np.clip(pred, 1, 5) - r) ** 2).mean())
    ndcgs = []
    for user, held in ((0, {3}), (2, {1, 2})):
        scores = V4 @ pref[user]
        scores[R[user] > 0] = -np.inf
        ndcgs.append(ranked_ndcg(scores, held))
    assert got["epoch"] == 5
    assert got["rmse"] == pytest.approx(rmse, rel=1e-9)
    assert got["ndcg@10"] == pytest.approx(np.mean(ndcgs), rel=1e-9)
    # by hand: user 0's unrated items score (item 1: 0.18, item 3: 0.09), so item 3 is 2nd;
    # user 2 holds out both unrated items: (1/log2(3) + 1) / 2
    assert got["ndcg@10"] == pytest.approx((1 / np.log2(3) + 1) / 2, rel=1e-9)


def test_ndcg_at_10_hand_case_with_one_two_and_twelve_held_out_items():
    scores = torch.tensor(np.tile(14.0 - np.arange(14), (4, 1)))  # every user ranks 0, 1, …, 13
    # user 0 finds {1} at rank 2: 1/log2(3) = 0.630930
    # user 1 finds {0, 2} at ranks 1, 3: (1 + 1/2) / (1 + 1/log2(3)) = 0.919721 (pair repeated)
    # user 2 holds 12 out, all but rank 5 of the top 10 hit: the ideal is cut at 10 slots,
    #   1 − (1/log2 6) / Σ_{k=1..10} 1/log2(k+1) = 1 − 0.386853/4.543559 = 0.914857
    # user 3 holds nothing out and is not averaged: (0.630930 + 0.919721 + 0.914857)/3
    twelve = [j for j in range(14) if j not in (4, 11)]
    users = np.array([0, 1, 1, 1] + [2] * 12)
    items = np.array([1, 0, 2, 2] + twelve)
    assert _ndcg_at_10(scores, users, items) == pytest.approx(0.8218358, abs=1e-6)


def test_ndcg_at_10_on_a_catalog_smaller_than_ten():
    # four items ranked 1, 2, 3, 0: the held-out item 0 is at rank 4, 1/log2(5) = 0.430677
    scores = torch.tensor([[0.1, 0.4, 0.3, 0.2]], dtype=torch.float64)
    assert _ndcg_at_10(scores, np.array([0]), np.array([0])) == pytest.approx(0.4306766, abs=1e-6)


def test_ndcg_at_10_equals_the_shared_metric_on_random_batches():
    rng = np.random.default_rng(3)
    scores = torch.as_tensor(rng.normal(size=(40, 30)))
    users, items = rng.integers(0, 40, 200), rng.integers(0, 30, 200)
    top = torch.topk(scores, 10, dim=1).indices.numpy()
    held = {u: set(items[users == u]) for u in np.unique(users)}
    want = mean_ndcg((top[u], rel) for u, rel in held.items())
    assert _ndcg_at_10(scores, users, items) == pytest.approx(want, abs=1e-12)


def _scripted(ndcg, rmse):
    def validate(solved, by_user, val, epoch):
        return {"epoch": epoch + 1, "ndcg@10": ndcg[epoch], "rmse": rmse[epoch]}

    return validate


@pytest.mark.parametrize(
    ("observed_weight", "ndcg", "rmse", "stopped_after", "chosen"),
    [
        # ranking model: nDCG best at epoch 2, three worse epochs stop it after 5; the RMSE
        # keeps falling and must not matter
        (1.0, [0.1, 0.5, 0.4, 0.3, 0.2, 0.9, 0.9], [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4], 5, 2),
        # stars-only model (no picks head): lowest RMSE at epoch 3, stops after 6
        (0.0, [0.9, 0.8, 0.1, 0.2, 0.3, 0.9, 0.9], [1.0, 0.9, 0.8, 0.95, 0.97, 0.99, 0.1], 6, 3),
    ],
)
def test_early_stopping_retrains_for_the_epoch_of_best_validation_merit(
    monkeypatch, observed_weight, ndcg, rmse, stopped_after, chosen
):
    mf = BiasedMF(MFParams(factors=2, epochs=7, patience=3, observed_weight=observed_weight))
    monkeypatch.setattr(mf, "_validate", _scripted(ndcg, rmse))
    calls, progress, train = [], [], mf._train

    def spy(*args):  # _train(users, items, ratings, n_users, n_items, epochs, val, progress)
        calls.append((args[5], args[6] is None))
        return train(*args)

    monkeypatch.setattr(mf, "_train", spy)
    users, items = np.nonzero(R)
    mf.fit(
        users, items, R[users, items], 3, 4, validation=0.5, progress=lambda *a: progress.append(a)
    )
    assert calls == [(7, False), (chosen, True)]  # search with validation, then refit on all
    assert [h["epoch"] for h in mf.history] == list(range(1, stopped_after + 1))
    assert [(e, n) for e, n, _ in progress] == [(e, 7) for e in range(1, stopped_after + 1)]
    assert [h for _, _, h in progress] == mf.history  # each epoch reports its own scores


@pytest.mark.parametrize(
    ("epochs", "chosen", "validation"), [(12, 10, 0.0), (3, 3, 0.0), (12, 10, 1.0)]
)
def test_no_validation_split_trains_ten_epochs_at_most(monkeypatch, epochs, chosen, validation):
    """No pair held out, or every pair held out (nothing left to train on): no search."""
    mf = BiasedMF(MFParams(factors=2, epochs=epochs))
    calls, train = [], mf._train
    monkeypatch.setattr(mf, "_train", lambda *a: calls.append(a[5]) or train(*a))
    users, items = np.nonzero(R)
    mf.fit(users, items, R[users, items], 3, 4, validation=validation)
    assert calls == [chosen]
    assert mf.global_mean == pytest.approx((5 + 3 + 4 + 1 + 2 + 5) / 6)  # mean of all stars


def test_save_load_restores_every_field(tmp_path):
    params = MFParams(
        factors=2,
        reg=2.5,
        rating_reg=1.5,
        bias_reg=3.5,
        observed_weight=0.7,
        unobserved_weight=0.3,
        rating_weight=0.25,
        epochs=7,
        patience=2,
        batch_rows=5,
        seed=9,
    )
    mf = BiasedMF.from_item_side(params, torch.tensor(V4), torch.tensor(B4), 3.25)
    mf.user_factors = torch.tensor([[0.1, 0.2], [0.3, -0.4]], dtype=torch.float64)
    mf.history = [
        {"epoch": 1, "ndcg@10": 0.25, "rmse": 1.5},
        {"epoch": 2, "ndcg@10": 0.5, "rmse": 1.25},
    ]
    mf.save(tmp_path / "mf.safetensors")
    back = BiasedMF.load(tmp_path / "mf.safetensors")
    assert back.params == params
    assert back.global_mean == 3.25  # not the 3.5 a fresh model starts with
    assert back.history == mf.history
    assert torch.equal(back.item_factors, torch.tensor(V4))
    assert torch.equal(back.item_bias, torch.tensor(B4))
    assert torch.equal(back.user_factors, mf.user_factors)
    # the Gram of the loaded factors is rebuilt, so fold-in works straight after load:
    # the preference system with nothing rated is w₀·VᵀV + λI
    eye = np.eye(V4.shape[1])
    expected = params.unobserved_weight * V4.T @ V4 + params.reg * eye  # A with nothing rated
    torch.testing.assert_close(back.preference_system([]), torch.tensor(expected))


def test_validation_rmse_multiplies_taste_by_the_item_factors():
    """Mid-scale predictions (no clipping) on an item whose factors are not 0 or 1."""
    mf = hand_model(4)
    users, items = np.nonzero(R)
    val = (np.array([0, 1]), np.array([3, 2]), np.array([3.0, 4.0]))
    by_user = RatedRows(users, items, R[users, items], 3, 4)
    got = mf._validate(mf._solve_users(by_user), by_user, val, epoch=0)
    _, taste, bias = hand_user_step()
    u, i, r = val
    pred = MU + bias[u] + B4[i] + (taste[u] * V4[i]).sum(1)
    assert pred.min() > 1 and pred.max() < 5 and taste[0, 0] != 0
    assert got["rmse"] == pytest.approx(np.sqrt(((pred - r) ** 2).mean()), rel=1e-9)


def test_rows_given_as_floats_index_like_integers():
    """Rows from a float column (e.g. a DataFrame with NaN-free floats) still index items."""
    mf = hand_model()
    uv = mf.fold_in(np.array([0.0, 2.0]), np.array([5.0, 3.0]))
    np.testing.assert_allclose(uv.preference, [39 / 71, 12 / 71], rtol=1e-6)
    high = UserVector(np.zeros(2, np.float32), np.array([1.0, -1.0], np.float32), 0.2, 1)
    stars = mf.predict(high, np.array([1.0, 2.0]))
    assert stars.dtype == np.float32
    np.testing.assert_allclose(stars, [2.2, 3.7], rtol=1e-6)


def test_preference_scores_are_float32_even_for_a_float64_vector():
    mf = hand_model()  # v = (1,0), (0,1), (1,1)
    user = UserVector(np.array([0.5, -0.25]), np.zeros(2), 0.0, 1)  # float64, e.g. by hand
    scores = mf.preference_scores(user)
    assert scores.dtype == np.float32
    np.testing.assert_array_equal(scores, [0.5, -0.25, 0.25])
    picked = mf.preference_scores(user, np.array([2, 0]))
    assert picked.dtype == np.float32
    np.testing.assert_array_equal(picked, [0.25, 0.5])


def test_float_factors_are_cached_until_the_factors_change():
    mf = hand_model()
    first = mf.float_factors()
    assert first.dtype == np.float32 and mf.float_factors() is first  # converted once
    fresh = torch.tensor([[2.0, 2.0], [3.0, -1.0]], dtype=torch.float64)
    assert fresh._version == mf.item_factors._version  # a new tensor, same version counter
    mf.item_factors = fresh
    np.testing.assert_array_equal(mf.float_factors(), [[2.0, 2.0], [3.0, -1.0]])
    mf.item_factors[1, 0] = 7.0  # written in place: the version counter moves
    np.testing.assert_array_equal(mf.float_factors(), [[2.0, 2.0], [7.0, -1.0]])
    assert mf.float_factors() is mf.float_factors()


def test_from_item_side_and_load_hold_double_precision(tmp_path):
    """Item sides built in float32 (an embedding map, a shrunk file) are widened to float64, the
    precision fold-in solves need to match training."""
    f32 = torch.tensor(V4[:3], dtype=torch.float32), torch.tensor(B4[:3], dtype=torch.float32)
    mf = BiasedMF.from_item_side(HAND, *f32, MU)
    assert mf.item_factors.dtype == mf.item_bias.dtype == torch.float64
    path = tmp_path / "mf32.safetensors"
    tensors = {"item_factors": f32[0], "item_bias": f32[1], "user_factors": torch.ones(2, 2)}
    meta = {"params": json.dumps(HAND.__dict__), "global_mean": "3.5", "history": "[]"}
    save_file(tensors, str(path), metadata=meta)
    back = BiasedMF.load(path)
    for name in ("item_factors", "item_bias", "user_factors"):
        assert getattr(back, name).dtype == torch.float64, name
    assert torch.equal(back.item_factors, torch.tensor(V4[:3]))


def test_fold_in_adds_the_ridge_in_double_precision():
    # as in the hand-worked preference solve, with reg 2.1 (not a float32 number):
    # A = [[5.1, 1.5], [1.5, 4.1]], det 18.66, rhs (3, 1.5): q = (10.05, 3.15)/18.66
    #   = (335/622, 105/622); rounding reg to float32 first moves q by one float32 step
    mf = hand_model(params=MFParams(**{**HAND.__dict__, "reg": 2.1}))
    uv = mf.fold_in(np.array([0, 2]), np.array([5.0, 3.0]))
    np.testing.assert_array_equal(uv.preference, np.float32([335 / 622, 105 / 622]))


def test_training_starts_from_small_seeded_factors_and_zero_biases(monkeypatch):
    """The first user step sees V = 0.1 · N(0, 1) drawn from the seed, and b_i = 0 in float64."""
    mf = BiasedMF(MFParams(factors=2, epochs=1, seed=5))
    seen, solve = [], mf._solve_users
    monkeypatch.setattr(
        mf,
        "_solve_users",
        lambda b, *a: seen.append((mf.item_factors, mf.item_bias)) or solve(b, *a),
    )
    users, items = np.nonzero(R)
    mf.fit(users, items, R[users, items], 3, 4, validation=0.0)
    gen = torch.Generator().manual_seed(5)
    draw = torch.randn(4, 2, generator=gen, dtype=torch.float64)
    factors, bias = seen[0]
    torch.testing.assert_close(factors, 0.1 * draw, rtol=1e-15, atol=0)
    assert bias.dtype == torch.float64 and not bias.any()
