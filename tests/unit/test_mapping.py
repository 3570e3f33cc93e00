"""Content → collaborative map: hand-worked weighted ridge, count weighting and spread matching."""

import numpy as np
import pandas as pd
import pytest

from vidrec.data.schema import GENRES
from vidrec.errors import DataError
from vidrec.mapping import (
    CONFIDENCE_HALF,
    CatalogSide,
    ContentToCollab,
    _match_spread,
    fit_content_map,
)

RNG = np.random.default_rng(3)


def test_predict_maps_embedding_plus_one_through_the_weights():
    # W maps [x₁, x₂, 1] to [f₁, f₂, bias]
    mapped = ContentToCollab(np.array([[1.0, 0.0, 0.5], [0.0, 2.0, 0.0], [0.1, -0.1, 3.0]]))
    factors, bias = mapped.predict(np.array([[1.0, 1.0], [2.0, -1.0]]))
    # [1, 1, 1] @ W = (1.1, 1.9, 3.5); [2, −1, 1] @ W = (2.1, −2.1, 4.0)
    np.testing.assert_allclose(factors, [[1.1, 1.9], [2.1, -2.1]], rtol=1e-6)
    np.testing.assert_allclose(bias, [3.5, 4.0], rtol=1e-6)
    assert factors.dtype == bias.dtype == np.float32
    one_f, one_b = mapped.predict(np.array([1.0, 1.0]))  # a single (dim,) embedding
    assert one_f.shape == (1, 2) and one_b.shape == (1,)
    with pytest.raises(DataError, match="^expected 2-d embeddings, got 3$"):
        mapped.predict(np.ones((1, 3)))
    # a non-square map: 2-d embeddings to one factor and a bias
    narrow = ContentToCollab(np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]))
    with pytest.raises(DataError, match="^expected 2-d embeddings, got 4$"):
        narrow.predict(np.ones((2, 4)))


def test_exactly_linear_data_is_recovered_with_a_tiny_reg():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(6, 2))
    W = np.array([[1.0, -2.0, 0.5], [0.5, 1.0, -0.25], [0.2, 0.3, 3.0]])  # last row: intercept
    target = np.hstack([emb, np.ones((6, 1))]) @ W
    counts = np.array([1, 5, 10, 20, 40, 80])
    mapped = fit_content_map(emb, target[:, :2], target[:, 2], counts, reg=1e-9)
    # the fit is exact, so predicted norms already match and the spread factor is 1
    np.testing.assert_allclose(mapped.weights, W, rtol=1e-5, atol=1e-6)


# Three rated films on a line x = −1, 0, 1 (and one unrated at x = 7 with absurd targets), with
# counts 10, 10, 30: weights c/(c + 10) = 1/2, 1/2, 3/4. The bias targets (0, 0, 3) fit
# b = a·x + c by weighted least squares, ridge on a only:
#   Σw = 1.75, Σwx = 0.25, Σwx² = 1.25, Σwxy = Σwy = 2.25
#   (1.25 + reg)·a + 0.25·c = 2.25 and 0.25·a + 1.75·c = 2.25
#   tiny reg: a = 27/17, c = 18/17 (uniform weights would give 3/2 and 1)
X = np.array([[-1.0], [0.0], [1.0], [7.0]])
COUNTS = np.array([10, 10, 30, 0])
BIAS = np.array([0.0, 0.0, 3.0, 100.0])
FACTORS = np.array([[2.0, 0.0], [0.0, -1.0], [1.0, 1.0], [50.0, 50.0]])


def test_count_weighting_and_unrated_videos_on_a_hand_case():
    assert CONFIDENCE_HALF == 10
    mapped = fit_content_map(X, FACTORS, BIAS, COUNTS, reg=1e-9)
    np.testing.assert_allclose(mapped.weights[:, 2], [27 / 17, 18 / 17], rtol=1e-5)


def independent_fit(emb, factors, bias, counts, reg):
    """The map written out: augmented least squares (rows scaled by √w, w = c/(c + 10), unrated
    films dropped; one √reg row per slope and √1e-6 for the intercept), then the factor columns
    scaled so the w-weighted mean predicted factor norm equals the w-weighted mean real one; the
    bias column is not scaled. All in float64, whatever the input precision."""
    rated = counts > 0
    c = counts[rated].astype(np.float64)
    w = c / (c + 10)
    x = np.hstack([np.asarray(emb, np.float64)[rated], np.ones((rated.sum(), 1))])
    y = np.hstack(
        [np.asarray(factors, np.float64)[rated], np.asarray(bias, np.float64)[rated, None]]
    )
    k = x.shape[1]
    guard = np.sqrt(np.diag([reg] * (k - 1) + [1e-6]))
    A = np.vstack([np.sqrt(w)[:, None] * x, guard])
    b = np.vstack([np.sqrt(w)[:, None] * y, np.zeros((k, y.shape[1]))])
    ridge = np.linalg.lstsq(A, b, rcond=None)[0]  # (k, d + 1)
    fitted = x @ ridge[:, :-1]
    real_norm = (w * np.sqrt((y[:, :-1] ** 2).sum(1))).sum()
    scale = real_norm / (w * np.sqrt((fitted**2).sum(1))).sum()
    return np.hstack([ridge[:, :-1] * scale, ridge[:, -1:]]), scale


@pytest.mark.parametrize("reg", [1e-9, 1.0, None])
def test_fit_is_the_weighted_ridge_then_one_common_spread_factor(reg):
    """reg None: the default, 10."""
    want, scale = independent_fit(X, FACTORS, BIAS, COUNTS, 10.0 if reg is None else reg)
    assert abs(scale - 1) > 0.1  # the spread matching does change something here
    kwargs = {} if reg is None else {"reg": reg}
    mapped = fit_content_map(X, FACTORS, BIAS, COUNTS, **kwargs)
    np.testing.assert_allclose(mapped.weights, want, rtol=1e-9, atol=1e-12)


# Two embedding dimensions, so the slope penalties and the unshrunk intercept are different
# cells of the penalty matrix; one film has a single rating (it counts, w = 1/11) and one none.
EMB2 = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.5], [0.5, -2.0], [9.0, 9.0]])
FACTORS2 = np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, 0.3], [2.0, -1.0], [0.0, 1.5], [40.0, 40.0]])
BIAS2 = np.array([0.5, -0.5, 1.0, 2.0, -1.0, 50.0])
COUNTS2 = np.array([1, 4, 10, 20, 7, 0])


@pytest.mark.parametrize("reg", [0.5, 3.0])
def test_two_dimensional_embeddings_shrink_the_slopes_but_not_the_intercept(reg):
    want, _ = independent_fit(EMB2, FACTORS2, BIAS2, COUNTS2, reg)
    mapped = fit_content_map(EMB2, FACTORS2, BIAS2, COUNTS2, reg=reg)
    np.testing.assert_allclose(mapped.weights, want, rtol=1e-9, atol=1e-12)


def test_float32_inputs_are_fitted_in_float64():
    """Factors and biases come from the model as float32; norms and solves run in float64."""
    f32 = [a.astype(np.float32) for a in (EMB2, FACTORS2, BIAS2)]
    want, _ = independent_fit(*f32, COUNTS2, 10.0)
    mapped = fit_content_map(*f32, COUNTS2)
    assert mapped.weights.dtype == np.float64
    np.testing.assert_allclose(mapped.weights, want, rtol=1e-12, atol=1e-14)


@pytest.mark.skipif(
    np.finfo(np.longdouble).eps == np.finfo(np.float64).eps, reason="longdouble is double here"
)
def test_extended_precision_embeddings_are_cast_to_float64():
    want, _ = independent_fit(EMB2, FACTORS2, BIAS2, COUNTS2, 10.0)
    mapped = fit_content_map(EMB2.astype(np.longdouble), FACTORS2, BIAS2, COUNTS2)
    np.testing.assert_allclose(mapped.weights, want, rtol=1e-9, atol=1e-12)
    # x₁·2⁶⁰ − x₂·2⁶⁰ with x₁ = 1 + 2⁻⁶⁰, x₂ = 1: 0 in float64 (x₁ rounds to 1), 1 in longdouble
    big = 2.0**60
    mapped = ContentToCollab(np.array([[big, 0.0], [-big, 0.0], [0.0, 0.0]]))
    x = np.array([np.longdouble(1) + np.longdouble(2) ** -60, np.longdouble(1)])
    assert x[0] != 1
    factors, _ = mapped.predict(x)
    assert factors[0, 0] == 0.0


def test_two_rated_videos_are_enough():
    # two films, x = −1 and 0 (weights 1/2 and 3/4), both with bias target 0
    mapped = fit_content_map(X, FACTORS, BIAS, np.array([10, 30, 0, 0]), reg=1e-9)
    factors, bias = mapped.predict(np.array([[-1.0], [0.0]]))
    np.testing.assert_allclose(bias, [0.0, 0.0], atol=1e-6)


def test_match_spread_scales_factor_columns_to_the_real_weighted_norm():
    x = np.array([[1.0, 1.0], [2.0, 1.0]])
    weights = np.array([[3.0, 4.0, 0.5], [0.0, 0.0, -1.0]])
    # predicted factors (3, 4) and (6, 8): norms 5 and 10; with w = (3, 1): (15 + 10)/4 = 6.25
    # real factors (0, 10) and (30, 0): norms 10 and 30: (30 + 30)/4 = 15; factor 15/6.25 = 2.4
    y = np.array([[0.0, 10.0, 7.0], [30.0, 0.0, -7.0]])
    scaled = _match_spread(weights, x, y, np.array([3.0, 1.0]))
    np.testing.assert_allclose(scaled, [[7.2, 9.6, 0.5], [0.0, 0.0, -1.0]], rtol=1e-12)
    assert weights[0, 0] == 3.0  # the input is not changed in place


def test_match_spread_scales_up_predicted_norms_below_one():
    """Ridge on a strong reg predicts tiny factors; they are scaled up all the same (the 1e-9
    floor only guards a zero norm)."""
    x = np.array([[1.0, 1.0], [2.0, 1.0]])
    weights = np.array([[0.03, 0.04, 0.5], [0.0, 0.0, -1.0]])
    # predicted norms 0.05 and 0.1: (0.15 + 0.1)/4 = 0.0625; real 15 as above: factor 240
    y = np.array([[0.0, 10.0, 7.0], [30.0, 0.0, -7.0]])
    scaled = _match_spread(weights, x, y, np.array([3.0, 1.0]))
    np.testing.assert_allclose(scaled, [[7.2, 9.6, 0.5], [0.0, 0.0, -1.0]], rtol=1e-12)
    flat = _match_spread(np.array([[0.0, 0.0, 0.5], [0.0, 0.0, -1.0]]), x, y, np.ones(2))
    np.testing.assert_array_equal(flat, [[0.0, 0.0, 0.5], [0.0, 0.0, -1.0]])  # no 0/0


def test_fewer_than_two_rated_videos_is_an_error():
    with pytest.raises(
        DataError, match="^the content→collaborative map needs at least two rated videos$"
    ):
        fit_content_map(X, FACTORS, BIAS, np.array([0, 0, 5, 0]))


def test_catalog_side_features_by_hand():
    """Genre one-hots, the year's z-score, then buckets: decades, then each of the last 5 years."""
    catalog = pd.DataFrame({"genres": ["Comedy|Drama", "Horror"], "year": [1958, 1998]})
    side = CatalogSide.of(catalog)
    assert side.edges == (1960, 1970, 1980, 1990, 1994, 1995, 1996, 1997, 1998)
    got = side.features(["Sci-Fi|Western", "Nope"], [1996, None])  # unknown year: the median
    assert got.shape == (2, side.width) == (2, len(GENRES) + 1 + 10)
    hot = dict(zip(GENRES, got[0, : len(GENRES)]))
    assert hot["Sci-Fi"] == hot["Western"] == 1 and sum(hot.values()) == 2
    assert not got[1, : len(GENRES)].any()
    assert got[0, len(GENRES)] == pytest.approx((1996 - 1978) / 20)
    assert got[1, len(GENRES)] == pytest.approx(0.0)  # median 1978 = mean
    buckets = got[:, len(GENRES) + 1 :]
    assert buckets[0].argmax() == 7 and buckets[1].argmax() == 2  # [1996, 1997), [1970, 1980)
    assert (buckets.sum(axis=1) == 1).all()


def test_a_map_with_the_catalog_fits_on_embeddings_plus_side_features():
    catalog = pd.DataFrame({"genres": ["Comedy", "Drama", "Comedy|Drama", "Horror", "Drama"],
                            "year": [1990, 1995, 1998, 1980, None]})  # fmt: skip
    emb, factors = RNG.normal(size=(5, 3)), RNG.normal(size=(5, 2))
    bias, counts = RNG.normal(size=5), np.array([3, 50, 10, 0, 7])
    side = CatalogSide.of(catalog)
    inputs = np.hstack([emb, side.features(catalog["genres"], catalog["year"])])
    want, _ = independent_fit(inputs, factors, bias, counts, 10.0)
    mapped = fit_content_map(emb, factors, bias, counts, catalog=catalog)
    np.testing.assert_allclose(mapped.weights, want, rtol=1e-7, atol=1e-9)
    got, _ = mapped.predict(emb[:2], catalog["genres"][:2], catalog["year"][:2])
    np.testing.assert_allclose(got, inputs[:2] @ want[:-1, :-1] + want[-1, :-1], rtol=1e-5)
    with pytest.raises(DataError, match="genres and a year for each of the 2 videos"):
        mapped.predict(emb[:2])
