"""The half-steps of alternating least squares, at a cost that follows the ratings, not the matrix.

With one side's factors fixed, every row (a user, or an item) solves a small weighted ridge
problem A x = b. The unrated pairs of the preference head weigh every column alike, so their part
of A is one shared k×k Gram matrix (Hu, Koren and Volinsky: YᵀCᵤY = YᵀY + Yᵀ(Cᵤ − I)Y) and only
the rated entries are summed per row: O(nnz·k² + n·k³) per half-step instead of the
O(n_rows·n_cols·k²) of dense masks. Rows are grouped by how many ratings they have, padded up to
a common length, so the per-row sums run as batched matrix products.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

DTYPE = torch.float64  # solves are small; double precision keeps fold-in equal to training
FAST = torch.float32  # sums and solves during training epochs: half the time, same metrics
GROWTH = 1.25  # padded row lengths grow by this factor: at most 25% padding per group
MAX_ENTRIES = 1 << 18  # padded entries per group: bounds the gathered features' memory


@dataclass(frozen=True)
class Group:
    """Rows with about the same number of ratings, padded to one length L."""

    rows: torch.Tensor  # (b,) row ids
    cols: torch.Tensor  # (b, L) column ids; padding points at an all-zero column n_cols
    stars: torch.Tensor  # (b, L) stars; 0 in padding


class RatedRows:
    """A sparse star matrix held by rows (CSR), grouped for batched per-row sums."""

    def __init__(self, rows, cols, stars, n_rows: int, n_cols: int, batch_rows: int = 1024):
        rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
        order = np.lexsort((cols, rows))
        self.shape = (n_rows, n_cols)
        self.cols = cols[order]  # (nnz,) column of each rating, row by row
        self.stars = np.asarray(stars, np.float64)[order]  # (nnz,)
        counts = np.bincount(rows, minlength=n_rows)  # (n_rows,)
        self.indptr = np.concatenate([[0], np.cumsum(counts)])  # (n_rows + 1,)
        self.groups = self._group(counts, batch_rows)

    def _group(self, counts: np.ndarray, batch_rows: int) -> list[Group]:
        """Rows bucketed by padded length, in chunks of at most batch_rows rows."""
        padded = _padded_lengths(counts)  # (n_rows,)
        cols = np.append(self.cols, self.shape[1])  # the sentinel entry padding points at
        stars = np.append(self.stars, 0.0)
        groups = []
        for length in np.unique(padded[counts > 0]):
            members = np.flatnonzero((padded == length) & (counts > 0))
            per = max(1, min(batch_rows, MAX_ENTRIES // length))
            for start in range(0, len(members), per):
                chunk = members[start : start + per]
                at = self.indptr[chunk][:, None] + np.arange(length)  # (b, L)
                at = np.where(np.arange(length) < counts[chunk][:, None], at, len(self.cols))
                groups.append(
                    Group(
                        torch.as_tensor(chunk),
                        torch.as_tensor(cols[at]),
                        torch.as_tensor(stars[at]),
                    )
                )
        return groups

    def entries(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position in rows, column) of every rating of the given rows."""
        starts, counts = self.indptr[rows], np.diff(self.indptr)[rows]
        local = np.repeat(np.arange(len(rows)), counts)
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        return local, self.cols[np.repeat(starts, counts) + offsets]


def _padded_lengths(counts: np.ndarray) -> np.ndarray:
    """Each count rounded up to the next of 1, 2, 3, 4, 5, 7, 9, 12, … (growing by GROWTH)."""
    steps = [1]
    while steps[-1] < counts.max():
        steps.append(max(steps[-1] + 1, math.ceil(steps[-1] * GROWTH)))
    return np.asarray(steps)[np.searchsorted(steps, counts)]


def _padded(feats: torch.Tensor) -> torch.Tensor:
    """Features with one all-zero row appended, for the padding to gather."""
    return torch.cat([feats, feats.new_zeros(1, *feats.shape[1:])])


def user_step(by_user: RatedRows, V, item_bias, mean: float, p, sums=DTYPE):
    """Every user's two heads with the items fixed: the batch form of fold-in.

    preference: (reg·I + w₀·VᵀV + w₁·Σ v vᵀ) q = (w₀ + w₁)·Σ v over the rated items;
    stars: (diag(rating_reg, bias_reg) + Σ x xᵀ) [p, b] = Σ (r − μ − b_i)·x with x = [v, 1].
    Per-row sums and solves run in ``sums`` precision (FAST in training epochs).
    """
    n, d = by_user.shape[0], V.shape[1]
    feats = _padded(torch.cat([V, torch.ones(len(V), 1, dtype=V.dtype)], 1)).to(sums)
    offset = _padded(mean + item_bias).to(sums)  # (n_items+1,)
    pref_base = (p.unobserved_weight * V.T @ V + p.reg * torch.eye(d, dtype=V.dtype)).to(sums)
    taste_base = torch.diag(ridge_diagonal(d, p.rating_reg, p.bias_reg)).to(sums)
    pref, taste = V.new_zeros(n, d), V.new_zeros(n, d + 1)  # users with no ratings stay at 0
    for g in by_user.groups:
        X = feats[g.cols]  # (b, L, d+1)
        gram = X.mT @ X  # (b, d+1, d+1): Σ x xᵀ over each user's rated items
        if p.observed_weight or p.unobserved_weight:  # else a stars-only model: q stays 0
            A = pref_base + p.observed_weight * gram[:, :d, :d]
            picked = X[:, :, :d].sum(1)  # (b, d)
            pref[g.rows] = _solve(A, (p.unobserved_weight + p.observed_weight) * picked)
        resid = g.stars.to(sums) - offset[g.cols]  # (b, L); 0 in padding
        taste[g.rows] = _solve(taste_base + gram, _weighted_sum(X, resid))
    return pref, taste[:, :-1], taste[:, -1]


def item_step(by_item: RatedRows, pref, taste, user_bias, mean: float, p, sums=DTYPE):
    """Every item's factors and bias with the users fixed, from both heads at once.

    (diag(reg, bias_reg) + w₀·YᵀY + w₁·Σ y yᵀ + λ·Σ z zᵀ) [v, b]
        = (w₀ + w₁)·Σ y + λ·Σ (r − μ − b_u)·z
    over the users who rated the item, with y = [q_u, 0] (the bias does not rank), z = [p_u, 1]
    and λ the stars head's weight on the item factors. Sums and solves in ``sums`` precision.
    """
    n, d = by_item.shape[0], pref.shape[1]
    zero, one = pref.new_zeros(len(pref), 1), pref.new_ones(len(pref), 1)
    implicit = torch.cat([pref, zero], 1)  # (n_users, d+1)
    rating = _padded(torch.cat([taste, one], 1)).to(sums)
    offset = _padded(mean + user_bias).to(sums)
    base = p.unobserved_weight * implicit.T @ implicit + torch.diag(
        ridge_diagonal(d, p.reg, p.bias_reg)
    )
    base, implicit = base.to(sums), _padded(implicit).to(sums)
    out = pref.new_zeros(n, d + 1)  # items nobody rated stay at 0
    for g in by_item.groups:
        Y, Z = implicit[g.cols], rating[g.cols]  # (b, L, d+1) each
        A = base + p.rating_weight * (Z.mT @ Z)  # scale the k×k sum, not the (b, L, k) rows
        if p.observed_weight:  # a stars-only model skips the picks head's sums
            A += p.observed_weight * (Y.mT @ Y)
        resid = g.stars.to(sums) - offset[g.cols]  # (b, L)
        rhs = (p.unobserved_weight + p.observed_weight) * Y.sum(1)
        rhs = rhs + p.rating_weight * _weighted_sum(Z, resid)
        out[g.rows] = _solve(A, rhs)
    return out[:, :-1], out[:, -1]


def _solve(A: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Batched solve in A's precision (float32 in training epochs), returned in float64.

    Sums, systems and solves stay in one precision: converting between the two cost a sixth
    of an epoch. (Batched Cholesky was tried: slower than LU at these sizes in torch.)
    """
    return torch.linalg.solve(A, b).to(DTYPE)


def _weighted_sum(X: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Σ_l w[b, l] · X[b, l] for every row b: (b, k), in X's precision."""
    return (X.mT @ w[..., None])[..., 0]


def ridge_diagonal(d: int, reg: float, bias_reg: float) -> torch.Tensor:
    """The ridge penalties of d factors and one bias."""
    out = torch.full((d + 1,), reg, dtype=DTYPE)
    out[-1] = bias_reg
    return out
