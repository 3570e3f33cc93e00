"""A 2-D map of the catalog's content embeddings, for the interest-map chart.

The map is plain PCA (a numpy SVD of the centred embeddings), not t-SNE or UMAP. PCA is linear,
so anything built from the embeddings by averaging lands where it should: the viewer's taste
vector (a weighted mean of unit embeddings, renormalised) projects into the same map as the
videos it came from, and it glides smoothly as ratings are added instead of jumping between
runs of a stochastic layout. A fitted projection is two small arrays, it transforms new points
without refitting, and it adds no dependency.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidrec.errors import DataError

N_COMPONENTS = 2


@dataclass(frozen=True)
class Projection:
    """A fitted linear map from embedding space to the plane: (x - mean) @ components.T."""

    mean: np.ndarray  # (d,)
    components: np.ndarray  # (2, d), orthonormal rows

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Project embeddings onto the map: (n, d) -> (n, 2), or one (d,) vector -> (2,)."""
        x = np.asarray(x, dtype=np.float64)
        dim = self.mean.shape[0]
        if x.ndim not in (1, 2) or x.shape[-1] != dim:
            raise DataError(f"Expected embeddings of shape (n, {dim}) or ({dim},), got {x.shape}")
        return (x - self.mean) @ self.components.T  # (n, 2) or (2,)

    def save(self, path: Path) -> None:
        """Write both arrays to an .npz file (no pickle), so the map survives restarts."""
        with Path(path).open("wb") as handle:  # a handle stops numpy appending ".npz"
            np.savez(handle, mean=self.mean, components=self.components)

    @classmethod
    def load(cls, path: Path) -> Projection:
        """Read a projection written by save; a damaged or foreign file raises DataError."""
        mean, components = _read_arrays(Path(path))
        _check_arrays(mean, components, path)
        return cls(mean=mean.astype(np.float64), components=components.astype(np.float64))


def _read_arrays(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        # Our own handle: numpy leaks the one it opens when the archive turns out to be broken.
        with path.open("rb") as handle:
            data = np.load(handle, allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):  # a bare .npy holds only one array
                raise ValueError("not an .npz archive")
            with data:
                return data["mean"], data["components"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(f"Could not read the projection {path}: {err}. Rebuild it.") from None


def _check_arrays(mean: np.ndarray, components: np.ndarray, path: Path) -> None:
    dim = mean.shape[0] if mean.ndim == 1 else -1
    if dim < 1 or components.shape != (N_COMPONENTS, dim):
        raise DataError(
            f"The projection {path} holds arrays of shapes {mean.shape} and {components.shape}, "
            f"expected (d,) and ({N_COMPONENTS}, d). Rebuild it."
        )
    numeric = all(np.issubdtype(a.dtype, np.floating) for a in (mean, components))
    if not numeric or not (np.isfinite(mean).all() and np.isfinite(components).all()):
        raise DataError(f"The projection {path} holds non-finite or non-float values. Rebuild it.")


def fit_projection(embeddings: np.ndarray) -> Projection:
    """Fit a 2-D PCA to the catalog embeddings; signs are fixed so reruns draw the same map."""
    x = _checked_embeddings(embeddings)  # (n, d)
    mean = x.mean(axis=0)  # (d,)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)  # vt: (min(n, d), d)
    components = vt[:N_COMPONENTS]  # (k, d), k <= 2 when n or d is tiny
    if components.shape[0] < N_COMPONENTS:  # pad with zero rows: the map collapses to a line
        padding = np.zeros((N_COMPONENTS - components.shape[0], x.shape[1]))
        components = np.vstack([components, padding])
    return Projection(mean=mean, components=_fix_signs(components))


def _checked_embeddings(embeddings: np.ndarray) -> np.ndarray:
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise DataError(f"Expected a non-empty (n, d) embedding matrix, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise DataError("The embeddings contain NaN or infinite values")
    return x


def _fix_signs(components: np.ndarray) -> np.ndarray:
    # SVD may return either sign for each component; flipping so that the loading with the
    # largest magnitude is positive makes the map identical across runs and machines.
    largest = np.argmax(np.abs(components), axis=1)  # (2,)
    signs = np.sign(components[np.arange(len(components)), largest])  # (2,)
    signs[signs == 0] = 1.0  # an all-zero padding row keeps its (irrelevant) sign
    return components * signs[:, None]  # (2, d)
