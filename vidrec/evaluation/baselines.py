"""External baselines, run from their own packages on our exact splits (requirements-bench.txt).

- ``implicit`` (benfred/implicit): BPR and ALS for top-K on protocol A.
- ``scikit-surprise``: SVD and SVD++ for star error on protocol B.

implicit's models run twice: at the library's defaults, and at the best point of a small grid
chosen on a validation split of the training ratings (never the test). Surprise runs at its
defaults, so its rows are comparable with Surprise's own published table. Seeds are fixed.
"""

from __future__ import annotations

import importlib.util
import logging
import time

import numpy as np
import pandas as pd

from vidrec.errors import ConfigError
from vidrec.metrics import ranking_metrics

log = logging.getLogger(__name__)
PACKAGES = {"implicit": "implicit", "surprise": "scikit-surprise"}


def missing_packages() -> list[str]:
    """Benchmark packages not installed (install them with requirements-bench.txt)."""
    return [pip for mod, pip in PACKAGES.items() if importlib.util.find_spec(mod) is None]


def require() -> None:
    """Fail with the install command when a baseline package is missing."""
    missing = missing_packages()
    if missing:
        raise ConfigError(
            f"baselines need {', '.join(missing)}: python -m pip install -r requirements-bench.txt"
            " (or run eval with --no-baselines)"
        )


GRIDS = {  # searched on a validation split of the training ratings, never on the test
    "implicit BPR": [
        dict(factors=64, learning_rate=lr, regularization=reg, iterations=it)
        for lr in (0.01, 0.05)
        for reg in (0.001, 0.01)
        for it in (100, 300)
    ],
    "implicit ALS": [
        dict(factors=64, regularization=reg, alpha=a, iterations=15)
        for reg in (0.1, 1.0, 10.0)
        for a in (1.0, 5.0, 20.0)
    ],
}


def implicit_top_k(train: pd.DataFrame, users, video_ids: np.ndarray, k: int = 10):
    """implicit's BPR and ALS, at defaults and tuned: {name: ({user: [ids]}, fit seconds)}."""
    from threadpoolctl import threadpool_limits

    user_ids = np.unique(train["user_id"])
    matrix = _watched(train, user_ids, video_ids)
    wanted = np.array([u for u in users if u in set(user_ids)], dtype=np.int64)
    at = np.searchsorted(user_ids, wanted)
    out = {}
    with threadpool_limits(1, "blas"):  # implicit runs its own threads; BLAS ones fight them
        for name in GRIDS:
            for label, params in (("defaults", {}), ("tuned", _tuned(name, train, video_ids, k))):
                model, seconds = _fit(name, params, matrix)
                ids, _ = model.recommend(at, matrix[at], N=k, filter_already_liked_items=True)
                top = {int(u): video_ids[r].tolist() for u, r in zip(wanted, ids)}
                out[f"{name} ({label})"] = (top, seconds)
    return out


def _watched(train: pd.DataFrame, user_ids: np.ndarray, video_ids: np.ndarray):
    from scipy.sparse import csr_matrix

    rows = np.searchsorted(user_ids, train["user_id"])
    cols = np.searchsorted(video_ids, train["video_id"])
    shape = (len(user_ids), len(video_ids))
    return csr_matrix((np.ones(len(train), np.float32), (rows, cols)), shape=shape)


def _fit(name: str, params: dict, matrix):
    from implicit.als import AlternatingLeastSquares
    from implicit.bpr import BayesianPersonalizedRanking

    kind = BayesianPersonalizedRanking if name == "implicit BPR" else AlternatingLeastSquares
    model = kind(random_state=42, **params)
    t = time.perf_counter()
    model.fit(matrix, show_progress=False)
    return model, time.perf_counter() - t


def _tuned(name: str, train: pd.DataFrame, video_ids: np.ndarray, k: int) -> dict:
    """The grid point with the best nDCG@k on 10% of the training ratings held out."""
    held = np.random.default_rng(7).random(len(train)) < 0.1
    fit_part, val = train[~held], train[held]
    user_ids = np.unique(fit_part["user_id"])
    matrix = _watched(fit_part, user_ids, video_ids)
    relevant = {u: set(g) for u, g in val.groupby("user_id")["video_id"] if u in set(user_ids)}
    at = np.searchsorted(user_ids, list(relevant))

    def merit(params: dict) -> float:
        model, _ = _fit(name, params, matrix)
        ids, _ = model.recommend(at, matrix[at], N=k, filter_already_liked_items=True)
        top = {u: video_ids[r].tolist() for u, r in zip(relevant, ids)}
        return ranking_metrics(top, relevant, k)[f"ndcg@{k}"]

    best = max(GRIDS[name], key=merit)
    log.info("%s tuned on validation: %s", name, best)
    return best


def surprise_predictors() -> dict:
    """Protocol-B predictors for Surprise's SVD and SVD++ (train, test) -> stars."""
    from surprise import SVD, SVDpp

    return {
        "surprise SVD": lambda tr, te: _surprise(SVD(random_state=42), tr, te),
        "surprise SVD++": lambda tr, te: _surprise(SVDpp(random_state=42), tr, te),
    }


def _surprise(algo, train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    from surprise import Dataset, Reader

    data = Dataset.load_from_df(
        train[["user_id", "video_id", "rating"]], Reader(rating_scale=(1, 5))
    )
    algo.fit(data.build_full_trainset())
    triples = zip(test["user_id"], test["video_id"], test["rating"])
    return np.array([p.est for p in algo.test(list(triples))])
