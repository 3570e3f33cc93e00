"""Synthetic catalogs and rating sets of any size shaped like the real ones, for benchmarks.

Uniformly random vectors are the worst case for graph indexes and unlike any catalog, so each
synthetic video is a real film moved by noise drawn from the real catalog's own covariance. Its
embedding and its MF factors keep a fixed cosine to the film's, set to how close real films are
to their nearest other film.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from vidrec.artifacts import Artifacts, rating_counts
from vidrec.config import MFParams
from vidrec.mf import BiasedMF

CHUNK = 50_000  # rows generated at a time: bounds the temporaries at 1M × 384
NN_SAMPLE = 2_000  # real rows used to measure how close real films are to each other
ZIPF = 0.9  # item popularity ∝ 1 / rank^ZIPF, about the slope of MovieLens' rating counts


@dataclass(frozen=True)
class NoiseModel:
    """A real catalog to draw around, and the shape and size of the noise added to it."""

    arts: Artifacts
    counts: np.ndarray  # (n_real,) ratings per real film
    emb_mix: np.ndarray  # (dim, dim): N(0, I) rows @ emb_mix spread like the real embeddings
    factor_mix: np.ndarray  # (d, d): the same for the MF item factors
    cos: float  # a synthetic video's cosine to its film: the real median nearest-neighbour cosine

    @property
    def noise_ratio(self) -> float:
        """|noise| / |film vector| that puts a synthetic video at `cos` to its film."""
        return float(np.sqrt(1.0 - self.cos**2) / self.cos)


@dataclass(frozen=True)
class SyntheticCatalog:
    """Everything a HybridRecommender needs, for n synthetic videos."""

    catalog: pd.DataFrame  # video_id, title, year, genres
    embeddings: np.ndarray  # (n, dim) unit rows
    mf: BiasedMF
    counts: np.ndarray  # (n,) rating counts, Poisson around the film's own


def noise_model(arts: Artifacts) -> NoiseModel:
    """Fit the noise to a real catalog: covariance shapes and how close real neighbours are."""
    emb = np.asarray(arts.embeddings, dtype=np.float32)
    return NoiseModel(
        arts,
        rating_counts(arts.dataset.catalog, arts.dataset.ratings),
        _covariance_root(emb),
        _covariance_root(arts.mf.float_factors()),
        _neighbour_cos(emb),
    )


def _covariance_root(x: np.ndarray) -> np.ndarray:
    """M with N(0, I) @ M distributed like the rows of x around their mean."""
    values, vectors = np.linalg.eigh(np.cov(x, rowvar=False))
    return (vectors * np.sqrt(np.clip(values, 0.0, None))).T.astype(np.float32)


def _neighbour_cos(emb: np.ndarray) -> float:
    """Median cosine of a real film to its nearest other film (over the first NN_SAMPLE)."""
    rows = np.arange(min(len(emb), NN_SAMPLE))
    sims = emb[rows] @ emb.T  # (s, n)
    sims[rows, rows] = -np.inf
    return float(np.median(sims.max(axis=1)))


def synthesize(model: NoiseModel, n: int, seed: int = 0) -> SyntheticCatalog:
    """n videos, each a random real film's embedding, factors, bias and count plus noise."""
    rng = np.random.default_rng(seed)
    films = rng.integers(0, len(model.counts), n)  # the real film each video is drawn around
    real_factors = model.arts.mf.float_factors()
    emb = np.empty((n, len(model.emb_mix)), np.float32)
    factors = np.empty((n, len(model.factor_mix)), np.float32)
    for start in range(0, n, CHUNK):
        part = films[start : start + CHUNK]
        end = start + len(part)
        emb[start:end] = _unit(_jitter(model.arts.embeddings[part], model.emb_mix, model.cos, rng))
        factors[start:end] = _jitter(real_factors[part], model.factor_mix, model.cos, rng)
    real_bias = model.arts.mf.item_bias.numpy()
    noise = model.noise_ratio * real_bias.std() * rng.standard_normal(n)
    bias = model.cos * (real_bias[films] + noise)  # keeps the spread of real biases
    mf = BiasedMF.from_item_side(
        _negatives_per_viewer(model.arts.mf.params, len(model.counts), n),
        torch.from_numpy(factors),
        torch.from_numpy(bias),
        model.arts.mf.global_mean,
    )
    counts = rng.poisson(model.counts[films])
    return SyntheticCatalog(_catalog(model.arts.dataset.catalog, films), emb, mf, counts)


def _negatives_per_viewer(params: MFParams, n_real: int, n: int) -> MFParams:
    """Params whose unrated-item weight in total per viewer equals the trained model's.

    Copied factors make the item Gram matrix grow with the catalog; unscaled, it would swamp
    a viewer's own ratings in fold-in, unlike any model trained at that size.
    """
    return dataclasses.replace(params, unobserved_weight=params.unobserved_weight * n_real / n)


def held_out_queries(model: NoiseModel, m: int, seed: int) -> np.ndarray:
    """(m, dim) embeddings from the same distribution as a synthetic catalog, but not in it."""
    rng = np.random.default_rng(seed)
    films = rng.integers(0, len(model.counts), m)
    return _unit(_jitter(model.arts.embeddings[films], model.emb_mix, model.cos, rng))


def _jitter(base: np.ndarray, mix: np.ndarray, cos: float, rng) -> np.ndarray:
    """Rows about as long as base and at about `cos` to it, moved along the real spread."""
    noise = rng.standard_normal((len(base), len(mix)), dtype=np.float32) @ mix  # (n, dim)
    scale = np.linalg.norm(base, axis=1) / np.maximum(np.linalg.norm(noise, axis=1), 1e-12)
    tan = np.sqrt(1.0 - cos**2) / cos
    return (cos * (base + (tan * scale)[:, None] * noise)).astype(np.float32)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _catalog(real: pd.DataFrame, films: np.ndarray) -> pd.DataFrame:
    """Catalog rows copied from each video's film, with new ids and numbered titles."""
    out = real.iloc[films][["title", "year", "genres"]].reset_index(drop=True)
    ids = pd.Series(np.arange(1, len(films) + 1, dtype=np.int64))
    out["title"] = out["title"] + " #" + ids.astype(str)
    out.insert(0, "video_id", ids)
    return out


@dataclass(frozen=True)
class SyntheticRatings:
    """(user row, item row, stars) triples shaped like MovieLens, for training benchmarks."""

    users: np.ndarray  # (nnz,) int64
    items: np.ndarray  # (nnz,) int64
    stars: np.ndarray  # (nnz,) float64, whole stars 1–5
    n_users: int
    n_items: int


def synthetic_ratings(
    n_ratings: int, n_users: int, n_items: int, seed: int = 0, rank: int = 8
) -> SyntheticRatings:
    """Distinct pairs drawn by power-law item popularity × log-normal user activity; stars are
    a low-rank taste plus user and item biases plus noise, rounded to the 1–5 scale."""
    if n_ratings > 0.5 * n_users * n_items:
        raise ValueError(f"{n_ratings:,} ratings would fill over half of {n_users}×{n_items}")
    rng = np.random.default_rng(seed)
    popularity = rng.permutation(1.0 / np.arange(1, n_items + 1) ** ZIPF)
    activity = rng.lognormal(0.0, 1.0, n_users)
    keys = np.empty(0, np.int64)
    while len(keys) < n_ratings:  # repeated pairs are dropped, so draw until enough are distinct
        m = int(1.2 * (n_ratings - len(keys))) + 1_000
        drawn = rng.choice(n_users, m, p=activity / activity.sum()) * n_items
        keys = np.concatenate(
            [keys, drawn + rng.choice(n_items, m, p=popularity / popularity.sum())]
        )
        _, first = np.unique(keys, return_index=True)
        keys = keys[np.sort(first)]
    users, items = np.divmod(keys[:n_ratings], n_items)
    taste = (
        rng.normal(0.0, 0.5, (n_users, rank))[users] * rng.normal(0.0, 0.5, (n_items, rank))[items]
    )
    raw = 3.5 + rng.normal(0.0, 0.3, n_users)[users] + rng.normal(0.0, 0.4, n_items)[items]
    raw += taste.sum(1) + rng.normal(0.0, 0.8, n_ratings)
    return SyntheticRatings(users, items, np.clip(np.rint(raw), 1.0, 5.0), n_users, n_items)
