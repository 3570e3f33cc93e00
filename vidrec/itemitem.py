"""Interest mapping, second view: a closed-form item-to-item model (EASE, Steck 2019).

Low-rank MF smooths tastes into 64 numbers; an item-item model keeps the sharp "people who
watched X also watched Y" pairs that the low rank loses. The weights B solve a ridge regression
of every item's column on all the others (zero diagonal), in closed form:
P = (XᵀX + λI)⁻¹, B = −P / diag(P). A viewer's score is the sum of B's rows over what they
rated, so a new rating updates it instantly, with no solve at all.

B is dense (n_items²), so it is built only for catalogs up to ``ITEM_ITEM_MAX`` videos; larger
catalogs rank by MF alone.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from vidrec.errors import DataError
from vidrec.metrics import K, mean_ndcg

log = logging.getLogger(__name__)
ITEM_ITEM_MAX = 5_000  # B takes n² float32: 100 MB at this size
REGS = (100.0, 200.0, 400.0, 800.0, 1600.0)  # λ candidates, chosen on a validation split


class ItemItem:
    """EASE weights over catalog rows, with λ picked by validation nDCG@10."""

    def __init__(self, weights: np.ndarray, reg: float):
        self.weights = weights  # (n_items, n_items) float32, zero diagonal
        self.reg = reg

    @classmethod
    def fit(cls, users, items, n_items: int, seed: int = 42) -> ItemItem:
        """Choose λ on 5% of the pairs held out, then solve on every pair."""
        users, items = np.asarray(users, np.int64), np.asarray(items, np.int64)
        if n_items > ITEM_ITEM_MAX:
            raise DataError(f"item-item weights need ≤ {ITEM_ITEM_MAX:,} videos, got {n_items:,}")
        rng = np.random.default_rng(seed)
        held = rng.random(len(users)) < 0.05
        gram = _gram(users[~held], items[~held], n_items)
        check = _validation_users(users[held], items[held], rng)
        best = max(
            REGS, key=lambda r: _validate(_solve(gram, r), users[~held], items[~held], *check)
        )
        log.info("item-item λ=%g chosen on a validation split", best)
        return cls(_solve(_gram(users, items, n_items), best), best)

    def scores(self, rated_rows: np.ndarray, n_rows: int | None = None, signs=None) -> np.ndarray:
        """Item-item score of every row for a viewer who rated ``rated_rows``.

        ``signs``: each rating's weight on its row of W (default 1); a negative one makes a
        disliked video push its co-watched videos down. Rows past the trained catalog (videos
        a viewer added) score 0: nobody co-watched them.
        """
        n = self.weights.shape[0]
        out = np.zeros(n if n_rows is None else n_rows, np.float32)
        rated = np.asarray(rated_rows, np.int64)
        signs = np.ones(len(rated), np.float32) if signs is None else np.asarray(signs, np.float32)
        known = rated < n
        if known.any():
            out[:n] = signs[known] @ self.weights[rated[known]]
        return out

    def terms(self, rated_rows: np.ndarray, rows: np.ndarray, signs=None) -> np.ndarray:
        """(n, m) rating j's term s_j·W[j, i] in the score of each row i; scores() sums them."""
        n = self.weights.shape[0]
        rated, rows = np.asarray(rated_rows, np.int64), np.asarray(rows, np.int64)
        known, inside = rated < n, rows < n  # added videos: nobody co-watched them
        out = np.zeros((len(rows), len(rated)))
        out[np.ix_(inside, known)] = self.weights[np.ix_(rated[known], rows[inside])].T
        return out if signs is None else out * np.asarray(signs, np.float64)

    def save(self, path: Path) -> None:
        """Safetensors, no pickle."""
        save_file(
            {"weights": torch.from_numpy(np.ascontiguousarray(self.weights))},
            str(path),
            metadata={"reg": str(self.reg)},
        )

    @classmethod
    def load(cls, path: Path) -> ItemItem:
        """Read weights written by save(); a damaged file raises DataError."""
        try:
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as f:
                reg = float(f.metadata()["reg"])
            weights = load_file(str(path))["weights"].numpy()
        except Exception as exc:  # safetensors raises several types for damaged files
            raise DataError(f"cannot read item-item weights {path}: {exc}") from exc
        if weights.ndim != 2 or weights.shape[0] != weights.shape[1]:
            raise DataError(f"item-item weights in {path} are not square: {weights.shape}")
        return cls(weights, reg)


def _gram(users, items, n_items: int, chunk: int = 4096) -> torch.Tensor:
    """XᵀX of the watched matrix, summed over chunks of users so memory stays bounded."""
    gram = torch.zeros(n_items, n_items, dtype=torch.float64)
    for start in range(0, int(users.max(initial=-1)) + 1, chunk):
        mine = (users >= start) & (users < start + chunk)
        X = torch.zeros(chunk, n_items, dtype=torch.float64)  # (chunk, n_items) watched
        X[users[mine] - start, items[mine]] = 1.0
        gram += X.T @ X
    return gram


def _solve(gram: torch.Tensor, reg: float) -> np.ndarray:
    n = gram.shape[0]
    P = torch.linalg.inv(gram + reg * torch.eye(n, dtype=torch.float64))
    B = -P / torch.diagonal(P)[None, :]
    B.fill_diagonal_(0.0)
    return np.ascontiguousarray(B.float().numpy())


def _validation_users(users, items, rng, most: int = 2_000) -> tuple[np.ndarray, list[set]]:
    """Up to ``most`` held-out users and the items each must find."""
    wanted = np.unique(users)
    if len(wanted) > most:
        wanted = np.sort(rng.choice(wanted, most, replace=False))
    return wanted, [set(items[users == u].tolist()) for u in wanted]


def _validate(B, users, items, wanted: np.ndarray, relevant: list[set]) -> float:
    """Binary nDCG@10 of held-out items, ranking each validation user's unseen items."""
    if len(wanted) == 0:
        return 0.0
    X = np.zeros((len(wanted), B.shape[0]), np.float32)  # (n_wanted, n_items) watched
    at = np.searchsorted(wanted, users)
    mine = (at < len(wanted)) & (wanted[np.minimum(at, len(wanted) - 1)] == users)
    X[at[mine], items[mine]] = 1.0
    scores = X @ B
    scores[X > 0] = -np.inf
    top = np.argsort(-scores, axis=1)[:, :K]
    return mean_ndcg(zip(top, relevant))
