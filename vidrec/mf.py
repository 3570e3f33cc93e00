"""Interest mapping: a biased matrix factorisation with two user heads and closed-form fold-in.

Rating-only MF predicts stars well but ranks badly (it never learns what people *choose* to
watch). So the item factors V are trained on two signals at once, by alternating least squares:

- preference head (ranking): every (user, item) pair, target 1 if rated else 0, weight
  ``observed_weight`` on rated pairs and ``unobserved_weight`` on the rest (implicit ALS);
  score = q_u · v_i.
- rating head (stars): the rated pairs only, r̂ = μ + b_u + b_i + p_u · v_i, weighted by
  ``rating_weight`` when it shapes V.

With V fixed, both user vectors are ridge solutions, so folding a viewer's ratings in is one
small linear solve: exactly the user half-step of training, run online in milliseconds.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from vidrec.als import DTYPE, FAST, RatedRows, gram, item_step, ridge_diagonal, user_step
from vidrec.config import MFParams
from vidrec.errors import DataError
from vidrec.metrics import K, discounts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UserVector:
    """A viewer in the collaborative space: preference (ranking) and taste (stars) heads."""

    preference: np.ndarray  # (d,)
    taste: np.ndarray  # (d,)
    bias: float
    n_ratings: int


class BiasedMF:
    """Item-side model: factors, biases and the global mean, plus the online fold-in."""

    def __init__(self, params: MFParams | None = None):
        self.params = params or MFParams()
        self.item_factors = torch.zeros(0, self.params.factors, dtype=DTYPE)  # (n_items, d)
        self.item_bias = torch.zeros(0, dtype=DTYPE)  # (n_items,)
        self.global_mean = 3.5
        self.user_factors = torch.zeros(0, self.params.factors, dtype=DTYPE)  # trained users
        self.history: list[dict] = []
        self._gram = torch.zeros(self.params.factors, self.params.factors, dtype=DTYPE)
        self._float_cache: tuple[torch.Tensor, int, np.ndarray] | None = None

    @classmethod
    def from_item_side(
        cls, params: MFParams, factors: torch.Tensor, bias: torch.Tensor, global_mean: float
    ) -> BiasedMF:
        """A model from given item factors and biases, for catalogs built without training."""
        model = cls(params)
        model.item_factors = factors.to(DTYPE)  # (n_items, d)
        model.item_bias = bias.to(DTYPE)  # (n_items,)
        model.global_mean = float(global_mean)
        model._refresh_gram()
        return model

    @property
    def n_items(self) -> int:
        return self.item_factors.shape[0]

    # ---- training -------------------------------------------------------------------------
    def fit(
        self,
        users: np.ndarray,
        items: np.ndarray,
        ratings: np.ndarray,
        n_users: int,
        n_items: int,
        validation: float = 0.05,
        progress: Callable[[int, int, dict], None] | None = None,
    ) -> BiasedMF:
        """Train on (user row, item row, stars); early-stop on a held-out slice, then refit all.

        Epochs are chosen by validation nDCG@10 of the preference head (the ranking job); the
        final model is retrained on every rating for that many epochs.
        """
        users, items, ratings = _check_triples(users, items, ratings, n_users, n_items)
        rng = np.random.default_rng(self.params.seed)
        held = rng.random(len(ratings)) < validation
        best_epochs = self._choose_epochs(users, items, ratings, held, n_users, n_items, progress)
        validation_history = self.history
        self._train(users, items, ratings, n_users, n_items, best_epochs, None, None)
        self.history = validation_history  # kept for reports: how the epoch count was chosen
        log.info("BiasedMF trained for %d epochs on %d ratings", best_epochs, len(ratings))
        return self

    def _choose_epochs(self, users, items, ratings, held, n_users, n_items, progress) -> int:
        if held.sum() == 0 or (~held).sum() == 0:
            return min(10, self.params.epochs)
        val = (users[held], items[held], ratings[held])
        self._train(
            users[~held],
            items[~held],
            ratings[~held],
            n_users,
            n_items,
            self.params.epochs,
            val,
            progress,
        )
        return self.chosen_epochs()

    def chosen_epochs(self) -> int:
        """The epoch count the validation history picks (the refit on all ratings runs this)."""
        return 1 + int(np.argmax([self._merit(h) for h in self.history]))

    def _merit(self, h: dict) -> float:
        """Validation merit: ranking quality, or -RMSE for a stars-only model (no picks head)."""
        return h["ndcg@10"] if self.params.observed_weight > 0 else -h["rmse"]

    def _train(self, users, items, ratings, n_users, n_items, epochs, val, progress):
        p = self.params
        gen = torch.Generator().manual_seed(p.seed)
        self.global_mean = float(ratings.mean())
        self.item_factors = 0.1 * torch.randn(n_items, p.factors, generator=gen, dtype=DTYPE)
        self.item_bias = torch.zeros(n_items, dtype=DTYPE)
        by_user = RatedRows(users, items, ratings, n_users, n_items)
        by_item = RatedRows(items, users, ratings, n_items, n_users)
        self.history = []
        zero = torch.zeros(n_users, p.factors, dtype=DTYPE)
        solved = (zero, zero, zero[:, 0])  # refined by conjugate gradient, as every epoch is
        solved = self._solve_users(by_user, FAST, solved)
        for epoch in range(epochs):
            previous = (self.item_factors, self.item_bias)
            self.item_factors, self.item_bias = self._solve_items(by_item, *solved, FAST, previous)
            solved = self._solve_users(by_user, FAST, solved)  # validated below
            if val is None:
                continue
            self.history.append(self._validate(solved, by_user, val, epoch))
            if progress:
                progress(epoch + 1, epochs, self.history[-1])
            best = max(range(len(self.history)), key=lambda e: self._merit(self.history[e]))
            if epoch - best >= p.patience:
                break
        self._refresh_gram()  # training's steps form their own; fold-in reads this one
        if val is None:  # the validation run's users are dropped with it: no exact step there
            self.user_factors = self._solve_users(by_user)[0]  # exact, as fold-in repeats it

    def _refresh_gram(self) -> None:
        self._gram = self.item_factors.T @ self.item_factors  # (d, d), shared by all fold-ins

    def _solve_users(self, by_user: RatedRows, sums=DTYPE, start=None):
        """The user half-step for every user: a batch of the same solves fold_in runs (exact
        unless ``start`` gives the solutions for conjugate-gradient steps to refine)."""
        V, bias = self.item_factors, self.item_bias
        return user_step(by_user, V, bias, self.global_mean, self.params, sums, start)

    def _solve_items(self, by_item: RatedRows, pref, taste, ubias, sums=DTYPE, start=None):
        """The item half-step for every item (exact unless ``start`` is given, as for users)."""
        mean, p = self.global_mean, self.params
        return item_step(by_item, pref, taste, ubias, mean, p, sums, start)

    def _validate(self, solved, by_user: RatedRows, val, epoch: int) -> dict:
        """Validation RMSE of the stars head and nDCG@10 of the preference head, with the users
        solved on the current items; training items are masked out of each user's ranking."""
        pref, taste, ubias = solved
        u, i, r = (torch.as_tensor(a) for a in val)
        pred = (
            self.global_mean
            + ubias[u]
            + self.item_bias[i]
            + (taste[u] * self.item_factors[i]).sum(1)
        )
        rmse = float(torch.sqrt(((pred.clamp(1, 5) - r) ** 2).mean()))
        ndcg = self._ranked_ndcg(pref, by_user, val[0], val[1])
        log.debug("epoch %d: val nDCG@10 %.4f RMSE %.4f", epoch + 1, ndcg, rmse)
        return {"epoch": epoch + 1, "ndcg@10": ndcg, "rmse": rmse}

    def _ranked_ndcg(self, pref, by_user: RatedRows, users, items) -> float:
        """nDCG@10 over the validated users, scored batch_rows users at a time."""
        wanted = np.unique(users)
        total = 0.0
        for start in range(0, len(wanted), self.params.batch_rows):
            batch = wanted[start : start + self.params.batch_rows]
            scores = pref[batch] @ self.item_factors.T  # (b, n_items)
            rows, cols = by_user.entries(batch)
            scores[torch.as_tensor(rows), torch.as_tensor(cols)] = -torch.inf
            mine = np.isin(users, batch)
            local = np.searchsorted(batch, users[mine])
            total += _ndcg_at_10(scores, local, items[mine]) * len(batch)
        return total / max(len(wanted), 1)

    # ---- online use -----------------------------------------------------------------------
    def fold_in(self, item_rows: np.ndarray, stars: np.ndarray, targets=None) -> UserVector:
        """A viewer's vectors from their ratings, with the items fixed: two small ridge solves.

        ``targets``: each rating's target in the preference head (default 1, "watched", as in
        training); a negative target makes a disliked video push similar ones down.
        """
        p = self.params
        rows = np.asarray(item_rows, dtype=np.int64)
        r = np.asarray(stars, dtype=np.float64)
        d = p.factors
        if len(rows) == 0:
            return UserVector(np.zeros(d, np.float32), np.zeros(d, np.float32), 0.0, 0)
        # numpy and one-thread sums, not torch or BLAS threads: each op here is tiny, and a
        # thread pool made each cost a scheduler time slice on a busy machine (30 ms a viewer)
        V = self.item_factors.numpy()[rows]  # (n, d)
        t = _targets(targets, len(rows)).numpy()  # (n,)
        pref = np.linalg.solve(self._preference_matrix(rows), self.confidence * (t @ V))
        X = np.hstack([V, np.ones((len(rows), 1))])  # (n, d+1)
        b = gram(X) + np.diag(ridge_diagonal(d, p.rating_reg, p.bias_reg).numpy())
        taste = np.linalg.solve(b, X.T @ (r - self.global_mean - self.item_bias.numpy()[rows]))
        return UserVector(
            pref.astype(np.float32), taste[:-1].astype(np.float32), float(taste[-1]), len(rows)
        )

    @property
    def confidence(self) -> float:
        """The weight c of a rated pair in the preference head: pref = A⁻¹ · c · Σ_j V_j."""
        return self.params.unobserved_weight + self.params.observed_weight

    def preference_system(self, rated_rows) -> torch.Tensor:
        """(d, d) the ridge matrix A of the preference fold-in for these rated rows.

        A = w₀·VᵀV + w₁·Σ_j V_jV_jᵀ + λI: the shared Gram plus the rated entries only, the same
        per-row normal equation training's user half-step solves.
        """
        return torch.from_numpy(self._preference_matrix(rated_rows))

    def _preference_matrix(self, rated_rows) -> np.ndarray:
        p = self.params
        V = self.item_factors.numpy()[np.asarray(rated_rows, dtype=np.int64)]  # (m, d)
        shared, eye = self._gram.numpy(), np.eye(p.factors)
        return p.unobserved_weight * shared + p.observed_weight * gram(V) + p.reg * eye

    def preference_terms(self, rated_rows, rows, targets=None) -> np.ndarray:
        """(n, m) rating j's exact term c·t_j·V_iᵀA⁻¹V_j in the preference score of each row i.

        Summed over j it is preference_scores(fold_in(rated_rows, ..., targets), rows), up to
        float32 rounding: the fold-in is linear in the targets once A is fixed.
        """
        rated = np.asarray(rated_rows, dtype=np.int64)
        if len(rated) == 0:
            return np.zeros((len(rows), 0))
        V = self.item_factors
        solved = torch.linalg.solve(self.preference_system(rated), V[rated].T)  # (d, m)
        at = torch.as_tensor(np.asarray(rows, dtype=np.int64))
        t = _targets(targets, len(rated))  # (m,)
        return (self.confidence * (V[at] @ solved) * t).numpy()

    def preference_scores(self, user: UserVector, rows: np.ndarray | None = None) -> np.ndarray:
        """How likely the viewer is to pick each item (ranking head), for all or some rows."""
        V = self.float_factors() if rows is None else self.float_factors()[np.asarray(rows)]
        return (V @ user.preference).astype(np.float32)

    def float_factors(self) -> np.ndarray:
        """Item factors as float32 numpy, cached: converting 1M rows per call costs ~0.5 s.

        Keyed on the tensor and its in-place version counter, so a replaced tensor or rows
        written in place (the cold-item evaluation maps factors into cold rows) refresh it.
        """
        factors, cache = self.item_factors, self._float_cache
        if cache is None or cache[0] is not factors or cache[1] != factors._version:
            cache = (factors, factors._version, factors.float().numpy())  # (n_items, d)
            self._float_cache = cache  # one tuple assignment: safe for concurrent readers
        return cache[2]

    def predict(self, user: UserVector, rows: np.ndarray) -> np.ndarray:
        """Predicted stars (rating head), clipped to the 1–5 scale."""
        idx = np.asarray(rows, dtype=np.int64)
        V, bias = self.float_factors()[idx], self.item_bias.numpy()[idx].astype(np.float32)
        raw = self.global_mean + user.bias + bias + V @ user.taste
        return np.clip(raw, 1.0, 5.0).astype(np.float32)

    # ---- persistence ----------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write tensors as safetensors and settings as JSON (no pickle)."""
        tensors = {
            "item_factors": self.item_factors,
            "item_bias": self.item_bias,
            "user_factors": self.user_factors,
        }
        meta = {
            "params": json.dumps(self.params.__dict__),
            "global_mean": str(self.global_mean),
            "history": json.dumps(self.history),
        }
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata=meta)

    @classmethod
    def load(cls, path: Path) -> BiasedMF:
        """Read a model written by save(); a damaged file raises DataError."""
        try:
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata()
            tensors = load_file(str(path))
            model = cls(MFParams(**json.loads(meta["params"])))
            model.global_mean = float(meta["global_mean"])
            model.history = json.loads(meta["history"])
        except Exception as exc:  # safetensors raises several types for damaged files
            raise DataError(f"cannot read MF model {path}: {exc}") from exc
        model.item_factors = tensors["item_factors"].to(DTYPE)
        model.item_bias = tensors["item_bias"].to(DTYPE)
        model.user_factors = tensors["user_factors"].to(DTYPE)
        model._refresh_gram()
        return model


def _targets(targets, n: int) -> torch.Tensor:
    """(n,) float64 preference targets: all ones (a plain watch) unless given."""
    if targets is None:
        return torch.ones(n, dtype=DTYPE)
    return torch.as_tensor(np.asarray(targets, dtype=np.float64))


def _check_triples(users, items, ratings, n_users, n_items):
    users, items = np.asarray(users, np.int64), np.asarray(items, np.int64)
    ratings = np.asarray(ratings, np.float64)
    if not (len(users) == len(items) == len(ratings)) or len(ratings) == 0:
        raise DataError("training needs equally long, non-empty user, item and rating arrays")
    if users.min() < 0 or users.max() >= n_users or items.min() < 0 or items.max() >= n_items:
        raise DataError("user or item row out of range while training MF")
    if not np.isfinite(ratings).all():
        raise DataError("training ratings contain NaN or infinite values")
    return users, items, ratings


def _ndcg_at_10(scores: torch.Tensor, users: np.ndarray, items: np.ndarray) -> float:
    """Binary nDCG@10 of held-out pairs, averaged over users with any held out.

    The same numbers as metrics.mean_ndcg, computed for the whole batch in array operations:
    early stopping runs it every epoch, on up to every user.
    """
    total, judged = ndcg_sums(scores, users, items)
    return total / max(judged, 1)


def ndcg_sums(scores: torch.Tensor, users: np.ndarray, items: np.ndarray) -> tuple[float, int]:
    """Binary nDCG@10 summed over a batch's users with held-out pairs, and their count."""
    top = torch.topk(scores, min(K, scores.shape[1]), dim=1).indices  # (b, ≤K): tiny catalogs
    relevant = torch.zeros(scores.shape, dtype=torch.bool)
    relevant[torch.as_tensor(users), torch.as_tensor(items)] = True
    n_relevant = relevant.sum(1)  # (b,)
    disc = torch.as_tensor(discounts(K))
    dcg = relevant.gather(1, top).to(disc.dtype) @ disc[: top.shape[1]]
    ideal = torch.cumsum(disc, 0)[n_relevant.clamp(1, K) - 1]
    judged = n_relevant > 0
    return float((dcg[judged] / ideal[judged]).sum()), int(judged.sum())


def warm_up() -> float:
    """Load (or, on a fresh install, compile) the MF kernels with a tiny fit; its seconds.

    Timed fits call this first, so they time the fit and not numba's first call.
    """
    rng = np.random.default_rng(0)
    users, items = rng.integers(0, 5, 20), rng.integers(0, 8, 20)
    t = time.perf_counter()
    BiasedMF(MFParams(epochs=2)).fit(users, items, rng.integers(1, 6, 20), 5, 8)
    return time.perf_counter() - t
