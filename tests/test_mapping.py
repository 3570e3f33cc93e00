"""Content → collaborative map: hand-worked weighted ridge, count weighting and spread matching."""

import numpy as np
import pytest

from vidrec.errors import DataError
from vidrec.mapping import CONFIDENCE_HALF, ContentToCollab, _match_spread, fit_content_map


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
    with pytest.raises(DataError, match="expected 2-d embeddings, got 3"):
        mapped.predict(np.ones((1, 3)))


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


@pytest.mark.parametrize("reg", [1e-9, 1.0])
def test_fit_is_the_weighted_ridge_then_one_common_spread_factor(reg):
    """Independent working: augmented least squares (rows scaled by √w, a √reg row shrinking
    the slope only), then the factor columns scaled so the w-weighted mean predicted factor norm
    equals the w-weighted mean real one; the bias column is not scaled."""
    w = np.array([0.5, 0.5, 0.75])  # unrated film dropped
    x = np.array([[-1.0, 1.0], [0.0, 1.0], [1.0, 1.0]])
    y = np.hstack([FACTORS[:3], BIAS[:3, None]])
    A = np.vstack([np.sqrt(w)[:, None] * x, [[np.sqrt(reg), 0.0]]])
    b = np.vstack([np.sqrt(w)[:, None] * y, np.zeros((1, 3))])
    ridge = np.linalg.lstsq(A, b, rcond=None)[0]  # (2, 3)
    fitted = x @ ridge[:, :2]
    scale = (w * np.linalg.norm(y[:, :2], axis=1)).sum() / (
        w * np.linalg.norm(fitted, axis=1)
    ).sum()
    assert abs(scale - 1) > 0.1  # the spread matching does change something here
    want = np.hstack([ridge[:, :2] * scale, ridge[:, 2:]])
    mapped = fit_content_map(X, FACTORS, BIAS, COUNTS, reg=reg)
    np.testing.assert_allclose(mapped.weights, want, rtol=1e-5, atol=1e-6)


def test_match_spread_scales_factor_columns_to_the_real_weighted_norm():
    x = np.array([[1.0, 1.0], [2.0, 1.0]])
    weights = np.array([[3.0, 4.0, 0.5], [0.0, 0.0, -1.0]])
    # predicted factors (3, 4) and (6, 8): norms 5 and 10; with w = (3, 1): (15 + 10)/4 = 6.25
    # real factors (0, 10) and (30, 0): norms 10 and 30: (30 + 30)/4 = 15; factor 15/6.25 = 2.4
    y = np.array([[0.0, 10.0, 7.0], [30.0, 0.0, -7.0]])
    scaled = _match_spread(weights, x, y, np.array([3.0, 1.0]))
    np.testing.assert_allclose(scaled, [[7.2, 9.6, 0.5], [0.0, 0.0, -1.0]], rtol=1e-12)
    assert weights[0, 0] == 3.0  # the input is not changed in place


def test_fewer_than_two_rated_videos_is_an_error():
    with pytest.raises(DataError, match="at least two rated videos"):
        fit_content_map(X, FACTORS, BIAS, np.array([0, 0, 5, 0]))
