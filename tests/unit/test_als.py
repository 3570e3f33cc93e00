"""ALS half-steps over rated entries only, against dense normal equations written out per row."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from vidrec import als
from vidrec.als import RatedRows, item_step, user_step
from vidrec.config import MFParams
from vidrec.errors import DataError

P = MFParams(
    factors=3,
    reg=2.0,
    rating_reg=1.5,
    bias_reg=3.0,
    observed_weight=1.2,
    unobserved_weight=0.3,
    rating_weight=0.4,
    batch_rows=4,
)


def ratings(n_rows: int, n_cols: int, seed: int = 0):
    """Rows with 0, 1, a few and many ratings (lengths cross several padding buckets)."""
    rng = np.random.default_rng(seed)
    rows, cols = [], []
    for r in range(n_rows):
        count = min([0, 1, 2, 3, 7, 11, n_cols][r % 7], n_cols)
        rows += [r] * count
        cols += sorted(rng.choice(n_cols, count, replace=False).tolist())
    stars = rng.integers(1, 6, len(rows)).astype(float)
    order = rng.permutation(len(rows))  # any input order
    return np.array(rows)[order], np.array(cols)[order], stars[order]


def dense(rows, cols, stars, n_rows, n_cols) -> np.ndarray:
    out = np.zeros((n_rows, n_cols))
    out[rows, cols] = stars
    return out


def test_rows_hold_every_rating_once_in_row_order():
    rows, cols, stars = ratings(30, 20)
    rated = RatedRows(rows, cols, stars, 30, 20)
    seen = np.zeros((30, 20))
    for r in range(30):
        at = slice(rated.indptr[r], rated.indptr[r + 1])
        assert (np.diff(rated.cols[at]) > 0).all()  # each row's columns sorted, none twice
        seen[r, rated.cols[at]] = rated.stars[at]
    np.testing.assert_array_equal(seen, dense(rows, cols, stars, 30, 20))
    local, found = rated.entries(np.array([5, 0, 6]))
    want = [
        (k, c)
        for k, r in enumerate([5, 0, 6])
        for c in np.flatnonzero(dense(rows, cols, stars, 30, 20)[r])
    ]
    assert sorted(zip(local.tolist(), found.tolist())) == want


STARS_ONLY = dataclasses.replace(P, observed_weight=0.0, unobserved_weight=0.0, rating_weight=1.0)


@pytest.mark.parametrize("P", [P, STARS_ONLY], ids=["two heads", "stars only"])
def test_user_step_solves_each_users_normal_equations(P):
    rng = np.random.default_rng(1)
    n_users, n_items, d = 21, 9, P.factors
    rows, cols, stars = ratings(n_users, n_items, seed=2)
    V, item_bias, mean = rng.normal(size=(n_items, d)), rng.normal(size=n_items), 3.4
    pref, taste, bias = user_step(
        RatedRows(rows, cols, stars, n_users, n_items),
        torch.tensor(V),
        torch.tensor(item_bias),
        mean,
        P,
    )
    R = dense(rows, cols, stars, n_users, n_items)
    for u in range(n_users):
        seen = R[u] > 0
        A = (
            P.reg * np.eye(d)
            + P.unobserved_weight * V.T @ V
            + P.observed_weight * V[seen].T @ V[seen]
        )
        want = np.linalg.solve(A, (P.unobserved_weight + P.observed_weight) * V[seen].sum(0))
        np.testing.assert_allclose(pref[u].numpy(), want, rtol=1e-10, atol=1e-12)
        X = np.hstack([V[seen], np.ones((seen.sum(), 1))])
        B = X.T @ X + np.diag([P.rating_reg] * d + [P.bias_reg])
        sol = np.linalg.solve(B, X.T @ (R[u, seen] - mean - item_bias[seen]))
        np.testing.assert_allclose(taste[u].numpy(), sol[:-1], rtol=1e-10, atol=1e-12)
        assert bias[u].item() == pytest.approx(sol[-1], rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("P", [P, STARS_ONLY], ids=["two heads", "stars only"])
def test_item_step_solves_each_items_normal_equations(P):
    rng = np.random.default_rng(3)
    n_items, n_users, d = 17, 8, P.factors
    rows, cols, stars = ratings(n_items, n_users, seed=4)
    Q, Pt, ub, mean = (
        rng.normal(size=(n_users, d)),
        rng.normal(size=(n_users, d)),
        rng.normal(size=n_users),
        3.6,
    )
    factors, bias = item_step(
        RatedRows(rows, cols, stars, n_items, n_users),
        torch.tensor(Q),
        torch.tensor(Pt),
        torch.tensor(ub),
        mean,
        P,
    )
    R = dense(rows, cols, stars, n_items, n_users)
    Y = np.hstack([Q, np.zeros((n_users, 1))])
    Z = np.hstack([Pt, np.ones((n_users, 1))])
    for i in range(n_items):
        seen = R[i] > 0
        A = (
            np.diag([P.reg] * d + [P.bias_reg])
            + P.unobserved_weight * Y.T @ Y
            + P.observed_weight * Y[seen].T @ Y[seen]
            + P.rating_weight * Z[seen].T @ Z[seen]
        )
        b = (P.unobserved_weight + P.observed_weight) * Y[seen].sum(0)
        b = b + P.rating_weight * Z[seen].T @ (R[i, seen] - mean - ub[seen])
        sol = np.linalg.solve(A, b)
        np.testing.assert_allclose(factors[i].numpy(), sol[:-1], rtol=1e-10, atol=1e-12)
        assert bias[i].item() == pytest.approx(sol[-1], rel=1e-10, abs=1e-12)


def test_float32_steps_stay_within_float32_rounding_of_the_exact_ones():
    """Training epochs run the sums and solves in float32; the result must not drift further."""
    rng = np.random.default_rng(5)
    rows, cols, stars = ratings(40, 30, seed=6)
    rated = RatedRows(rows, cols, stars, 40, 30)
    V, bias = torch.tensor(rng.normal(size=(30, P.factors))), torch.tensor(rng.normal(size=30))
    exact = user_step(rated, V, bias, 3.5, P)
    fast = user_step(rated, V, bias, 3.5, P, sums=als.FAST)
    for e, f in zip(exact, fast):
        assert f.dtype == torch.float64
        torch.testing.assert_close(f, e, rtol=1e-5, atol=1e-6)
        assert not torch.equal(f, e)  # it really ran in float32
    got = item_step(rated, *exact, 3.5, P, sums=als.FAST)
    for e, f in zip(item_step(rated, *exact, 3.5, P), got):
        torch.testing.assert_close(f, e, rtol=1e-5, atol=1e-6)


def half_steps(P, start=None, sums=als.DTYPE):
    """The user step (from ``start`` when given) on 40 users × 30 items, and its inputs."""
    rng = np.random.default_rng(7)
    rows, cols, stars = ratings(40, 30, seed=8)
    rated = RatedRows(rows, cols, stars, 40, 30)
    V, bias = torch.tensor(rng.normal(size=(30, P.factors))), torch.tensor(rng.normal(size=30))
    return rated, V, bias, user_step(rated, V, bias, 3.5, P, sums, start)


def test_conjugate_gradient_steps_reach_the_exact_solution(monkeypatch):
    """k + 1 steps solve a (k + 1)-dimensional system exactly (up to rounding); 3 steps from
    a start get closer to the exact solution than the start was."""
    rated, V, bias, exact = half_steps(P)
    start = tuple(torch.zeros_like(e) for e in exact)
    monkeypatch.setattr(als, "CG_STEPS", P.factors + 1)
    for e, got in zip(exact, user_step(rated, V, bias, 3.5, P, start=start)):
        torch.testing.assert_close(got, e, rtol=1e-8, atol=1e-10)
    monkeypatch.setattr(als, "CG_STEPS", 1)
    for e, got in zip(exact, user_step(rated, V, bias, 3.5, P, start=start)):
        assert (got - e).norm() < 0.5 * e.norm()
    items = RatedRows(*ratings(17, 40, seed=9), 17, 40)
    exact_items = item_step(items, *exact, 3.5, P)
    monkeypatch.setattr(als, "CG_STEPS", P.factors + 1)
    zero = tuple(torch.zeros_like(e) for e in exact_items)
    for e, got in zip(exact_items, item_step(items, *exact, 3.5, P, start=zero)):
        torch.testing.assert_close(got, e, rtol=1e-8, atol=1e-10)


def test_conjugate_gradient_keeps_unrated_rows_and_a_stars_only_preference_at_zero():
    start = tuple(torch.ones(40, P.factors) for _ in range(2)) + (torch.ones(40),)
    rated, *_, (pref, taste, bias) = half_steps(P, start)
    empty = np.diff(rated.indptr) == 0
    assert empty.any() and not pref[empty].any() and not taste[empty].any()
    assert not bias[empty].any() and pref[~empty].any()
    *_, (pref, taste, _) = half_steps(STARS_ONLY, start)
    assert not pref.any() and taste.any()


@pytest.mark.parametrize("sums", [als.DTYPE, als.FAST], ids=["exact", "float32"])
def test_half_steps_do_not_depend_on_the_thread_count(sums):
    """Each row is solved by one thread in a fixed order: 1 or many threads, same bits."""
    start = tuple(torch.full((40, P.factors), 0.1) for _ in range(2)) + (torch.zeros(40),)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = half_steps(P, start, sums)[-1] + half_steps(P, None, sums)[-1]
        torch.set_num_threads(max(2, before))
        many = half_steps(P, start, sums)[-1] + half_steps(P, None, sums)[-1]
    finally:
        torch.set_num_threads(before)
    for a, b in zip(one, many):
        assert torch.equal(a, b)


def test_a_system_without_ridge_is_an_error_not_nan():
    """With no ridge, a user with one rating has a singular stars system: say so."""
    P0 = dataclasses.replace(STARS_ONLY, rating_reg=0.0, bias_reg=0.0)
    with pytest.raises(DataError, match="mf_rating_reg"):
        half_steps(P0)
