"""BiasedMF on planted data with known answers, fold-in agreement and persistence."""

import numpy as np
import pytest

from vidrec.errors import DataError
from vidrec.mf import BiasedMF, MFParams

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
    assert uv.n_ratings == 0 and not uv.preference.any()
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
    assert back.params == mf.params


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
