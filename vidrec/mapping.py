"""Content → collaborative map: MF factors and bias for a video nobody has rated yet.

A weighted ridge regression from a video's Transformer embedding to its item factors and rating
bias, fitted on the catalog's rated films. Films with many ratings have well-estimated factors,
so they weigh more. Linear and closed form: fits in milliseconds at load time, no artifact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vidrec.errors import DataError

CONFIDENCE_HALF = 10  # a film with this many ratings counts half as much as a very popular one


@dataclass(frozen=True)
class ContentToCollab:
    """W maps [embedding, 1] to [factors, bias]."""

    weights: np.ndarray  # (dim + 1, d + 1)

    def predict(self, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, dim) or (dim,) embeddings -> factors (n, d) and biases (n,)."""
        x = np.atleast_2d(np.asarray(embeddings, dtype=np.float64))
        if x.shape[1] + 1 != self.weights.shape[0]:
            raise DataError(f"expected {self.weights.shape[0] - 1}-d embeddings, got {x.shape[1]}")
        out = np.hstack([x, np.ones((len(x), 1))]) @ self.weights  # (n, d + 1)
        return out[:, :-1].astype(np.float32), out[:, -1].astype(np.float32)


def fit_content_map(
    embeddings: np.ndarray,
    factors: np.ndarray,
    bias: np.ndarray,
    counts: np.ndarray,
    reg: float = 3.0,  # best of 0.3 / 1 / 3 on the cold-item protocol (README)
) -> ContentToCollab:
    """Ridge from embeddings (n, dim) to [factors (n, d), bias (n,)], weighting by rating count.

    Films with no ratings carry no collaborative signal and are left out.
    """
    rated = np.asarray(counts) > 0
    if rated.sum() < 2:
        raise DataError("the content→collaborative map needs at least two rated videos")
    x = np.hstack([embeddings[rated], np.ones((rated.sum(), 1))]).astype(np.float64)
    y = np.hstack([factors[rated], bias[rated, None]]).astype(np.float64)  # (n, d + 1)
    w = counts[rated] / (counts[rated] + CONFIDENCE_HALF)  # (n,)
    penalty = reg * np.eye(x.shape[1])
    penalty[-1, -1] = 1e-6  # the intercept is not shrunk
    weights = np.linalg.solve(x.T @ (w[:, None] * x) + penalty, x.T @ (w[:, None] * y))
    return ContentToCollab(_match_spread(weights, x, y, w))


def _match_spread(weights: np.ndarray, x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Undo ridge shrinkage of the factors: scale them so predicted norms match real ones.

    Ridge pulls predictions toward the average film, so a new video could never compete with
    rated ones. One common factor keeps the order among new videos and leaves the bias alone.
    """
    pred = x @ weights  # (n, d + 1)
    real = np.average(np.linalg.norm(y[:, :-1], axis=1), weights=w)
    fitted = np.average(np.linalg.norm(pred[:, :-1], axis=1), weights=w)
    scaled = weights.copy()
    scaled[:, :-1] *= real / max(fitted, 1e-9)
    return scaled
