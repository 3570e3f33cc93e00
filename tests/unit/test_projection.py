"""Tests for vidrec.present.projection: the PCA map of content embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from vidrec.errors import DataError
from vidrec.present.projection import fit_projection


def unit_embeddings(n: int = 60, d: int = 16, seed: int = 0) -> np.ndarray:
    """Random unit vectors with a dominant direction, like sentence embeddings."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * np.linspace(3.0, 0.2, d)  # (n, d), decaying variance
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_shapes():
    x = unit_embeddings()
    projection = fit_projection(x)
    assert projection.mean.shape == (16,)
    assert projection.components.shape == (2, 16)
    assert projection.transform(x).shape == (60, 2)
    assert projection.transform(x[0]).shape == (2,)
    np.testing.assert_allclose(projection.transform(x[0]), projection.transform(x)[0])


def test_components_are_orthonormal():
    components = fit_projection(unit_embeddings()).components
    np.testing.assert_allclose(components @ components.T, np.eye(2), atol=1e-10)


def test_fit_is_deterministic_and_sign_fixed():
    x = unit_embeddings()
    first, second = fit_projection(x), fit_projection(x.copy())
    np.testing.assert_array_equal(first.components, second.components)
    np.testing.assert_array_equal(first.mean, second.mean)
    for row in first.components:
        assert row[np.argmax(np.abs(row))] > 0


def test_sign_does_not_depend_on_row_order():
    x = unit_embeddings()
    shuffled = x[np.random.default_rng(1).permutation(len(x))]
    np.testing.assert_allclose(
        fit_projection(x).components, fit_projection(shuffled).components, atol=1e-5
    )


def test_training_data_projects_to_zero_mean():
    x = unit_embeddings()
    coords = fit_projection(x).transform(x)  # (n, 2)
    np.testing.assert_allclose(coords.mean(axis=0), 0.0, atol=1e-10)


def test_first_component_explains_at_least_the_second():
    coords = fit_projection(unit_embeddings()).transform(unit_embeddings())
    variance = coords.var(axis=0)
    assert variance[0] >= variance[1] > 0


def test_matches_the_leading_directions_of_the_covariance():
    x = unit_embeddings().astype(np.float64)
    centred = x - x.mean(axis=0)
    eigenvalues = np.linalg.eigvalsh(centred.T @ centred)[::-1]  # descending
    coords = fit_projection(x).transform(x)
    np.testing.assert_allclose((coords**2).sum(axis=0), eigenvalues[:2], rtol=1e-8)


def test_a_weighted_mean_lands_between_its_videos():
    # Linearity is why PCA was chosen: the projection of a mean is the mean of projections.
    x = unit_embeddings()
    projection = fit_projection(x)
    weights = np.array([0.5, 0.3, 0.2])
    taste = weights @ x[:3]  # (d,)
    np.testing.assert_allclose(
        projection.transform(taste), weights @ projection.transform(x[:3]), atol=1e-10
    )


def test_tiny_inputs_still_give_two_components():
    single = fit_projection(np.ones((1, 4)))
    assert single.components.shape == (2, 4)
    np.testing.assert_allclose(single.transform(np.ones(4)), [0.0, 0.0])
    assert fit_projection(np.eye(3)[:2]).components.shape == (2, 3)


@pytest.mark.parametrize(
    "bad", [np.zeros((0, 4)), np.zeros(4), np.zeros((2, 2, 2)), np.array([[1.0, np.nan]])]
)
def test_bad_embeddings_raise_data_error(bad):
    with pytest.raises(DataError):
        fit_projection(bad)


def test_transform_rejects_the_wrong_dimension():
    projection = fit_projection(unit_embeddings())
    with pytest.raises(DataError, match=r"\(n, 16\)"):
        projection.transform(np.zeros((3, 8)))
