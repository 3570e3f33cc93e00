"""Protocol B: star-rating error by 5-fold cross-validation (Surprise's benchmark protocol).

The ratings are shuffled once (seed 42) and cut into five equal folds; every method trains on
four and predicts the fifth, on the same folds. Our rows predict exactly as the app does: the
viewer's training ratings are folded in, then the stars head predicts.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from vidrec.artifacts import train_mf
from vidrec.config import Config
from vidrec.data import Dataset
from vidrec.mf import BiasedMF

PROTOCOL = "B: 5-fold CV, seed 42"
Predictor = Callable[[pd.DataFrame, pd.DataFrame], np.ndarray]  # (train, test) -> stars


def kfold(ratings: pd.DataFrame, folds: int = 5, seed: int = 42):
    """(train, test) pairs: each rating is in exactly one test fold."""
    order = np.random.default_rng(seed).permutation(len(ratings))
    for part in np.array_split(order, folds):
        test = np.zeros(len(ratings), dtype=bool)
        test[part] = True
        yield ratings[~test].reset_index(drop=True), ratings[test].reset_index(drop=True)


def cross_validate(name: str, predict: Predictor, ratings: pd.DataFrame, folds: int = 5) -> dict:
    """RMSE and MAE over all folds' predictions, with the mean fit + predict time per fold."""
    errors, seconds = [], 0.0
    for train, test in kfold(ratings, folds):
        t = time.perf_counter()
        errors.append(predict(train, test) - test["rating"].to_numpy())
        seconds += time.perf_counter() - t
    err = np.concatenate(errors)
    return {
        "method": name,
        "protocol": PROTOCOL,
        "rmse": float(np.sqrt((err**2).mean())),
        "mae": float(np.abs(err).mean()),
        "fit_seconds": round(seconds / folds, 2),
    }


def vidrec_predictor(dataset: Dataset, config: Config) -> Predictor:
    """Train our MF on a fold, then fold in each test user's training ratings and predict."""

    def predict(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
        fold = Dataset(dataset.name, dataset.catalog, train, dataset.users)
        return fold_in_predict(train_mf(fold, config), dataset.catalog, train, test)

    return predict


def fold_in_predict(mf: BiasedMF, catalog: pd.DataFrame, train, test) -> np.ndarray:
    """Stars for each test rating from its user's folded-in training ratings (the app's path).

    Rows and stars are pulled out as arrays once: a pandas look-up per user cost more than
    the fold-in itself.
    """
    ids = catalog["video_id"].to_numpy()
    train_rows = np.searchsorted(ids, train["video_id"].to_numpy())
    stars = train["rating"].to_numpy()
    test_rows = np.searchsorted(ids, test["video_id"].to_numpy())
    history = train.groupby("user_id").indices  # user -> positions in train
    out = np.empty(len(test))
    none = np.zeros(0, np.int64)
    for user, idx in test.groupby("user_id").indices.items():
        mine = history.get(user, none)
        out[idx] = mf.predict(mf.fold_in(train_rows[mine], stars[mine]), test_rows[idx])
    return out
