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
    """Stars for each test rating from its user's folded-in training ratings (the app's path)."""
    ids = catalog["video_id"].to_numpy()
    out = np.empty(len(test))
    history = train.groupby("user_id")
    known = set(history.groups)
    for user, idx in test.groupby("user_id").indices.items():
        mine = history.get_group(user) if user in known else train.iloc[:0]
        vector = mf.fold_in(np.searchsorted(ids, mine["video_id"]), mine["rating"].to_numpy())
        out[idx] = mf.predict(vector, np.searchsorted(ids, test["video_id"].iloc[idx]))
    return out
