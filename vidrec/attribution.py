"""Attribution: split every recommendation score exactly into one term per rating.

Each part of the score is additive in the viewer's ratings once the candidates are fixed.
Content is target attention times signed weights, a sum over ratings. The MF preference is
V_i·pref with pref = A⁻¹·c·Σ_j V_j, so rating j adds c·V_iᵀA⁻¹V_j (A, fold-in's ridge matrix,
depends on the whole set, which is fine: the split is exact for this set). Item-item is a sum
of weight rows. z-scoring subtracts a mean over the candidates and divides by one std, both
linear per rating, so rating j's share of z(x)_i is (x_ij − mean_c x_cj) / std(x). Popularity
is the one term no rating moves. The split adds up to recommend()'s score to float rounding.

The module reads HybridRecommender's private helpers (``_candidates``, ``_attention_rows``,
``_ranked``, ...) and BiasedMF's Gram matrix on purpose: the split must use the very
candidates and statistics the ranking used, not a re-derivation that could drift from them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vidrec.errors import DataError
from vidrec.recommender import HybridRecommender, Profile, _check_k, _share, _spread, _zscore

log = logging.getLogger(__name__)
PARTS = ("content", "mf_preference", "item_item")  # per_rating's last axis
BASE = ("popularity",)  # base's columns: terms no rating moves
ONE_RATING_SHARE = 0.2  # below this share no single rating explains a pick on its own
REASON_COLUMNS = ("because_id", "because_title", "because_stars", "because_share", "reason")


@dataclass(frozen=True)
class Attribution:
    """Scores of some videos split exactly: one term per (rating, part), plus base terms.

    Every term is in score units (blend weight and z-score std applied) and is measured
    against the average candidate, since each part is centred over the candidates: a term
    says how far that rating lifts (> 0) or sinks (< 0) the video relative to the rest.
    """

    video_ids: np.ndarray  # (n,) the explained videos
    rated_ids: np.ndarray  # (m,) the viewer's rated videos, in profile order
    stars: np.ndarray  # (m,) their stars
    score: np.ndarray  # (n,) float64, = per_rating.sum((1, 2)) + base.sum(1)
    per_rating: np.ndarray  # (n, m, 3) float64, last axis as PARTS
    base: np.ndarray  # (n, 1) float64, columns as BASE

    def total_by_rating(self) -> np.ndarray:
        """(n, m) each rating's whole effect on each score: its three parts added."""
        return self.per_rating.sum(axis=2)

    def cited(self, i: int) -> tuple[int, float] | None:
        """The rating that lifts video i most, and its share of all that lifts video i.

        share = that rating's total ÷ the sum of every positive term of the score (positive
        per-rating totals plus positive base terms), so it lies in (0, 1] and the shares of
        all lifting terms add to 1. None when no rating lifts the video.
        """
        totals, lift = self._lift(i)
        if totals.size == 0 or totals.max() <= 0:
            return None
        j = int(totals.argmax())
        return j, float(totals[j] / lift)

    def popularity_share(self, i: int) -> float:
        """The popularity prior's share of all that lifts video i (0 when it does not lift)."""
        _, lift = self._lift(i)
        return float(max(self.base[i].sum(), 0.0) / lift) if lift > 0 else 0.0

    def _lift(self, i: int) -> tuple[np.ndarray, float]:
        """Video i's per-rating totals (m,) and the sum of every positive term of its score."""
        totals, base = self.per_rating[i].sum(axis=1), self.base[i]
        return totals, float(totals[totals > 0].sum() + base[base > 0].sum())


@dataclass(frozen=True)
class Counterfactual:
    """Where one video ranks with every rating, and with each single rating taken away."""

    video_id: int
    depth: int  # ranks below this are unknown and shown as None
    rank: int | None  # 1-based, with every rating
    rated_ids: np.ndarray  # (m,) the viewer's rated videos, in profile order
    ranks_without: tuple[int | None, ...]  # (m,) rank after removing rating j and re-folding


def explain(
    rec: HybridRecommender,
    viewer: Mapping | Profile,
    video_ids,
    alpha: float | None = None,
    allowed: np.ndarray | None = None,
    k: int = 10,
) -> Attribution:
    """Split the scores of candidate videos exactly into per-rating and base terms.

    ``alpha``, ``allowed`` and ``k`` mean what they mean in ``rec.recommend``: with the same
    values the candidates, statistics and so the scores are the same. Every video must be one
    recommend() could list (known, unrated, allowed); anything else raises a typed error.
    """
    prof = rec._as_profile(viewer)
    alpha = _share("alpha", rec.config.alpha if alpha is None else alpha)
    allowed = rec.check_mask(allowed)
    cand = rec._pool(prof, _check_k(k), allowed)  # the candidates _ranked scores
    at = _locate(rec, cand, _unrated_rows(rec, prof, video_ids, allowed))  # (n,) into cand
    mf_share, item_share = rec.collab_shares()
    per_rating = np.stack(
        [
            alpha * _content_terms(rec, prof, cand, at),
            (1 - alpha) * mf_share * _mf_terms(rec, prof, cand, at),
            (1 - alpha) * item_share * _item_item_terms(rec, prof, cand, at),
        ],
        axis=2,
    )  # (n, m, 3)
    popularity = rec.popularity_weight(prof.n) * _zscore(rec.popularity[cand])  # (n_c,)
    base = popularity[at].astype(np.float64)[:, None]  # (n, 1)
    return Attribution(
        video_ids=rec.video_ids[cand[at]],
        rated_ids=rec.video_ids[prof.rows],
        stars=prof.stars.copy(),
        score=per_rating.sum(axis=(1, 2)) + base.sum(axis=1),
        per_rating=per_rating,
        base=base,
    )


def recommend_with_reasons(
    rec: HybridRecommender,
    viewer: Mapping | Profile,
    k: int = 10,
    alpha: float | None = None,
    diversity: float = 0.0,
    allowed: np.ndarray | None = None,
) -> pd.DataFrame:
    """rec.recommend()'s list plus each pick's reason, read off the exact split of its score.

    The reason names the rating that lifts the pick most, with its share, so what the card
    says is what ranked it; a pick mostly lifted by popularity, or by many ratings at once,
    says so instead of naming one.
    """
    prof = rec._as_profile(viewer)
    top = rec.recommend(prof, k=k, alpha=alpha, diversity=diversity, allowed=allowed)
    att = explain(rec, prof, top["video_id"], alpha=alpha, allowed=allowed, k=k)
    return pd.concat([top, reasons(att, rec.catalog["title"].to_numpy()[prof.rows])], axis=1)


def reasons(att: Attribution, rated_titles) -> pd.DataFrame:
    """One row per explained video: the cited rating (id, title, stars, share) and a sentence."""
    n = len(att.video_ids)
    ids, titles = np.full(n, -1, np.int64), [""] * n
    stars, shares = np.full(n, np.nan, np.float32), np.zeros(n, np.float32)
    text = []
    for i in range(n):
        cited, popular = att.cited(i), att.popularity_share(i)
        if cited is None or popular >= cited[1]:
            text.append("Popular with viewers" if popular > 0 else "Fits your overall taste")
            continue
        j, shares[i] = cited
        ids[i], titles[i], stars[i] = att.rated_ids[j], str(rated_titles[j]), att.stars[j]
        if shares[i] < ONE_RATING_SHARE:
            text.append(f"Fits your overall taste: no single rating gives over {shares[i]:.0%}")
        else:
            text.append(f"Because you rated {titles[i]} {stars[i]:g}★ — {shares[i]:.0%} of why")
    return pd.DataFrame(dict(zip(REASON_COLUMNS, (ids, titles, stars, shares, text))))


def counterfactual(
    rec: HybridRecommender,
    viewer: Mapping | Profile,
    video_id,
    alpha: float | None = None,
    allowed: np.ndarray | None = None,
    depth: int = 200,
) -> Counterfactual:
    """Leave one rating out at a time, re-fold and re-rank: how far the video moves.

    Ranks are positions in ``recommend(k=depth)`` with no diversity (a viewer left with no
    rating gets the new-viewer mix, as recommend() gives); past ``depth`` (at most 1000) a
    rank is None. Costs one fold-in and one ranking per rating.
    """
    prof = rec._as_profile(viewer)
    row = _unrated_rows(rec, prof, [video_id], rec.check_mask(allowed))[0]
    rank = _rank(rec, prof, row, alpha, allowed, depth)  # first: bad alpha or depth raise here
    ranks = []
    for vid in prof.ratings:
        rest = {v: s for v, s in prof.ratings.items() if v != vid}
        ranks.append(_rank(rec, rec.profile(rest), row, alpha, allowed, depth))
    return Counterfactual(
        video_id=int(rec.video_ids[row]),
        depth=depth,
        rank=rank,
        rated_ids=rec.video_ids[prof.rows],
        ranks_without=tuple(ranks),
    )


def _rank(rec: HybridRecommender, prof: Profile, row: int, alpha, allowed, depth) -> int | None:
    """1-based position of a catalog row in the viewer's top ``depth``, else None."""
    rows, _, _ = rec._ranked(prof, depth, alpha, 0.0, allowed)
    hit = np.flatnonzero(rows == row)
    return int(hit[0]) + 1 if len(hit) else None


def _unrated_rows(rec: HybridRecommender, prof: Profile, video_ids, allowed) -> np.ndarray:
    """Catalog rows of videos that can have a score: known, not rated, inside the filter."""
    rows = rec.rows_of(video_ids)  # unknown ids raise UnknownVideoError
    for row in rows:
        vid = int(rec.video_ids[row])
        if row in prof.rows:
            stars = prof.ratings[vid]
            raise DataError(f"video {vid} is rated ({stars:g}★); only unrated videos get a score")
        if allowed is not None and not allowed[row]:
            raise DataError(f"video {vid} is outside the filter; widen it to explain this video")
    return rows


def _locate(rec: HybridRecommender, cand: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(n,) positions of rows in the candidates; a row retrieval left out has no score."""
    order = np.argsort(cand, kind="stable")
    at = order[np.minimum(np.searchsorted(cand, rows, sorter=order), len(cand) - 1)]
    missing = rows[cand[at] != rows] if len(cand) else rows
    if len(missing):
        raise DataError(
            f"video {int(rec.video_ids[missing[0]])} is not among the {len(cand)} candidates "
            "retrieved for this viewer, so it has no score to explain"
        )
    return at


def _z_terms(terms: np.ndarray, x: np.ndarray, at: np.ndarray) -> np.ndarray:
    """(n, m) rating j's share of _zscore(x)[at], where x = terms.sum(1) over the candidates.

    The std is taken from the engine's own float32 x, so the zero-std cut matches _zscore.
    """
    std = _spread(x) if x.size else 0.0
    if not std:
        return np.zeros((len(at), terms.shape[1]))
    return (terms[at] - terms.mean(axis=0)) / std


def _content_terms(rec: HybridRecommender, prof: Profile, cand, at) -> np.ndarray:
    """(n, m) z-scored content terms: attention of video i on rated j times j's signed weight."""
    att = rec._attention_rows(prof, cand)  # (n_c, m) float32
    x = att @ prof.weights  # content_scores(prof, cand), bit for bit, without a second softmax
    return _z_terms(att.astype(np.float64) * prof.weights, x, at)


def _mf_terms(rec: HybridRecommender, prof: Profile, cand, at) -> np.ndarray:
    """(n, m) z-scored MF preference terms c·V_iᵀA⁻¹V_j, A the ridge matrix fold_in solves."""
    if prof.n == 0:
        return np.zeros((len(at), 0))
    p = rec.mf.params
    V = rec.mf.item_factors.numpy()  # (n_items, d) float64
    rated = V[prof.rows]  # (m, d)
    a = (
        p.unobserved_weight * rec.mf._gram.numpy()
        + p.observed_weight * rated.T @ rated
        + p.reg * np.eye(V.shape[1])
    )  # (d, d), as in BiasedMF.fold_in
    solved = np.linalg.solve(a, rated.T)  # (d, m) A⁻¹V_j
    terms = (p.unobserved_weight + p.observed_weight) * (V[cand] @ solved)  # (n_c, m)
    return _z_terms(terms, rec.mf.preference_scores(prof.collab, cand), at)


def _item_item_terms(rec: HybridRecommender, prof: Profile, cand, at) -> np.ndarray:
    """(n, m) z-scored item-item terms W[j, i]; zeros when the blend does not use item-item."""
    if rec.collab_shares()[1] == 0:
        return np.zeros((len(at), prof.n))
    W = rec.item_item.weights  # (n_w, n_w): rows past n_w (added videos) score 0
    n_w = W.shape[0]
    known, inside = prof.rows < n_w, cand < n_w
    terms = np.zeros((len(cand), prof.n))  # (n_c, m)
    terms[np.ix_(inside, known)] = W[np.ix_(prof.rows[known], cand[inside])].T
    x = rec.item_item.scores(prof.rows, len(rec.video_ids))[cand]
    return _z_terms(terms, x, at)
