"""A 2-D map of the catalog's content embeddings (or MF item factors), for the interest maps.

The map is plain PCA (a numpy SVD of the centred embeddings), not t-SNE or UMAP. PCA is linear,
so anything built from the embeddings by averaging lands where it should: the viewer's taste
vector (a weighted mean of unit embeddings, renormalised) projects into the same map as the
videos it came from, and it glides smoothly as ratings are added instead of jumping between
runs of a stochastic layout. A fitted projection is two small arrays, it transforms new points
without refitting, and it adds no dependency. It is refitted at start-up (milliseconds).
"""

from __future__ import annotations

from dataclasses import dataclass

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
