"""Content → collaborative map: MF factors and bias for a video nobody has rated yet.

A weighted ridge regression from a video's Transformer embedding, its genres and its release
year to its item factors and rating bias, fitted on the catalog's rated films. Films with many
ratings have well-estimated factors, so they weigh more. Linear and closed form: fits in
milliseconds at load time, no artifact. Genres and year were added because they lifted the
cold-film ranking on validation splits of the training films (docs/evaluation.md, protocol C).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vidrec.data.schema import GENRES
from vidrec.errors import DataError

CONFIDENCE_HALF = 10  # a film with this many ratings counts half as much as a very popular one
REG = 10.0  # best of 1 / 3 / 10 / 30 on three validation cold splits of the training films


@dataclass(frozen=True)
class CatalogSide:
    """What a video's record says besides its text: genres and release year, as features.

    Years go in as a z-score and as buckets: decades up to five years before the catalog's
    newest film, then one bucket per year, since recent films are watched very differently.
    """

    year_mean: float
    year_std: float
    year_fill: float  # the median, for videos without a year
    edges: tuple[int, ...]

    @classmethod
    def of(cls, catalog: pd.DataFrame) -> CatalogSide:
        years = pd.to_numeric(catalog["year"], errors="coerce").dropna().to_numpy(np.float64)
        if not len(years):
            return cls(0.0, 1.0, 0.0, ())
        newest = int(years.max())
        decades = range((newest - 40) // 10 * 10 + 10, newest - 4, 10)
        edges = tuple(decades) + tuple(range(newest - 4, newest + 1))
        return cls(float(years.mean()), float(years.std()) or 1.0, float(np.median(years)), edges)

    def as_json(self) -> dict:
        return {"mean": self.year_mean, "std": self.year_std, "fill": self.year_fill,
                "edges": list(self.edges)}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict) -> CatalogSide:
        return cls(data["mean"], data["std"], data["fill"], tuple(int(e) for e in data["edges"]))

    @property
    def width(self) -> int:
        return len(GENRES) + 1 + len(self.edges) + 1

    def features(self, genres: Sequence[str], years: Sequence) -> np.ndarray:
        """(n, genres + 1 + buckets) features for "A|B" genre strings and years (None: unknown)."""
        hot = np.array([[g in str(s).split("|") for g in GENRES] for s in genres], np.float64)
        year = pd.to_numeric(pd.Series(list(years), dtype=object), errors="coerce")
        year = year.fillna(self.year_fill).to_numpy(np.float64)  # (n,)
        buckets = np.eye(len(self.edges) + 1)[np.searchsorted(self.edges, year, side="right")]
        z = ((year - self.year_mean) / self.year_std)[:, None]
        return np.hstack([hot.reshape(len(year), len(GENRES)), z, buckets])


@dataclass(frozen=True)
class ContentToCollab:
    """W maps [embedding, side features, 1] to [factors, bias]."""

    weights: np.ndarray  # (dim + n_side + 1, d + 1)
    side: CatalogSide | None = None  # None: the embedding alone

    def predict(self, embeddings: np.ndarray, genres=(), years=()) -> tuple[np.ndarray, np.ndarray]:
        """(n, dim) or (dim,) embeddings, with each video's genres and year when the map uses
        them -> factors (n, d) and biases (n,)."""
        x = np.atleast_2d(np.asarray(embeddings, dtype=np.float64))
        dim = self.weights.shape[0] - 1 - (self.side.width if self.side is not None else 0)
        if x.shape[1] != dim:
            raise DataError(f"expected {dim}-d embeddings, got {x.shape[1]}")
        if self.side is not None:
            if len(genres) != len(x) or len(years) != len(x):
                raise DataError(f"the map needs genres and a year for each of the {len(x)} videos")
            x = np.hstack([x, self.side.features(genres, years)])
        out = np.hstack([x, np.ones((len(x), 1))]) @ self.weights  # (n, d + 1)
        return out[:, :-1].astype(np.float32), out[:, -1].astype(np.float32)


def fit_content_map(
    embeddings: np.ndarray,
    factors: np.ndarray,
    bias: np.ndarray,
    counts: np.ndarray,
    reg: float = REG,
    catalog: pd.DataFrame | None = None,
) -> ContentToCollab:
    """Ridge from embeddings (n, dim) to [factors (n, d), bias (n,)], weighting by rating count.

    With the ``catalog`` (rows aligned with the embeddings) its genres and years join the
    inputs. Films with no ratings carry no collaborative signal and are left out.
    """
    rated = np.asarray(counts) > 0
    if rated.sum() < 2:
        raise DataError("the content→collaborative map needs at least two rated videos")
    side = None
    inputs = np.asarray(embeddings, np.float64)
    if catalog is not None:
        side = CatalogSide.of(catalog)
        inputs = np.hstack([inputs, side.features(catalog["genres"], catalog["year"])])
    x = np.hstack([inputs[rated], np.ones((rated.sum(), 1))])
    y = np.hstack([factors[rated], bias[rated, None]]).astype(np.float64)  # (n, d + 1)
    w = counts[rated] / (counts[rated] + CONFIDENCE_HALF)  # (n,)
    penalty = reg * np.eye(x.shape[1])
    penalty[-1, -1] = 1e-6  # the intercept is not shrunk
    weights = np.linalg.solve(x.T @ (w[:, None] * x) + penalty, x.T @ (w[:, None] * y))
    return ContentToCollab(_match_spread(weights, x, y, w), side)


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
