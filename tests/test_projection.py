"""Tests for vidrec.projection: the PCA map of content embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from vidrec.errors import DataError
from vidrec.projection import Projection, fit_projection


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


def test_save_load_round_trip(tmp_path):
    x = unit_embeddings()
    projection = fit_projection(x)
    path = tmp_path / "projection.npz"
    projection.save(path)
    assert path.is_file()
    loaded = Projection.load(path)
    np.testing.assert_array_equal(loaded.mean, projection.mean)
    np.testing.assert_array_equal(loaded.components, projection.components)
    np.testing.assert_array_equal(loaded.transform(x), projection.transform(x))


def test_save_keeps_the_given_file_name(tmp_path):
    path = tmp_path / "map.bin"
    fit_projection(unit_embeddings()).save(path)
    assert path.is_file() and not (tmp_path / "map.bin.npz").exists()


def savez(**arrays: np.ndarray):
    def write(path):
        with path.open("wb") as handle:
            np.savez(handle, **arrays)

    return write


def good_bytes(fraction: float):
    def write(path):
        fit_projection(unit_embeddings()).save(path)
        raw = path.read_bytes()
        path.write_bytes(raw[: int(len(raw) * fraction)])

    return write


def save_npy(path):
    with path.open("wb") as handle:  # one bare array where two named ones are expected
        np.save(handle, np.zeros(4))


CORRUPT = {
    "garbage": lambda path: path.write_bytes(b"not a numpy file at all"),
    "empty": good_bytes(0.0),
    "truncated": good_bytes(0.5),
    "bare_npy": save_npy,
    "wrong_keys": savez(mean=np.zeros(4)),
    "wrong_shapes": savez(mean=np.zeros(4), components=np.zeros((3, 4))),
    "not_finite": savez(mean=np.full(4, np.nan), components=np.zeros((2, 4))),
    "text": savez(mean=np.array(["a", "b"]), components=np.array([["a", "b"]] * 2)),
    "pickled": savez(mean=np.array([{}], dtype=object), components=np.zeros((2, 1))),
}


@pytest.mark.parametrize("kind", CORRUPT)
def test_corrupt_files_raise_data_error(tmp_path, kind):
    path = tmp_path / "projection.npz"
    CORRUPT[kind](path)
    with pytest.raises(DataError, match="Rebuild it"):
        Projection.load(path)


def test_missing_file_raises_data_error(tmp_path):
    with pytest.raises(DataError, match="Could not read the projection"):
        Projection.load(tmp_path / "absent.npz")
