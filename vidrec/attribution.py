"""Attribution: split every recommendation score exactly into one term per rating.

Each part of the score is additive in the viewer's ratings once the candidates are fixed.
Content is target attention times signed weights, a sum over ratings. The MF preference is
V_i·pref with pref = A⁻¹·c·Σ_j V_j, so rating j adds c·V_iᵀA⁻¹V_j (A, fold-in's ridge matrix,
depends on the whole set, which is fine: the split is exact for this set). Item-item is a sum
of weight rows. z-scoring subtracts a mean over the candidates and divides by one std, both
linear per rating, so rating j's share of z(x)_i is (x_ij − mean_c x_cj) / std(x). Popularity
is the one term no rating moves. The split adds up to recommend()'s score to float rounding.

It reads only the public seam: the Ranking (pool, raw signals, spreads, weights) that ranked the
list, and each model's own per-rating terms (``HybridRecommender.rating_terms``), so the split
uses the very candidates and statistics the ranking used and cannot drift from them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from vidrec.errors import DataError
from vidrec.recommender import LIKED_STARS, HybridRecommender, Ranking, zscore

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
        """The liked rating that lifts video i most, and its share of all that lifts video i.

        share = that rating's total ÷ the sum of every positive term of the score (positive
        per-rating totals plus positive base terms), so it lies in (0, 1] and the shares of
        all lifting terms add to 1. Only a rating of LIKED_STARS or more is cited: a dislike
        that lifts a pick (by pushing its rivals down) is not why the viewer would want it.
        None when no liked rating lifts the video.
        """
        totals, lift = self._lift(i)
        totals = np.where(self.stars >= LIKED_STARS, totals, 0.0)
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


def explain(rec: HybridRecommender, ranking: Ranking, video_ids=None) -> Attribution:
    """Split the scores of candidate videos exactly into per-rating and base terms.

    The split reads the ranking's own pool, signals, spreads and weights, so it explains the
    very scores that ranked the list. ``video_ids`` defaults to the listed videos; each must be
    one the ranking scored (known, unrated, allowed, retrieved), else a typed error says why.
    """
    prof = ranking.profile
    rows = ranking.rows if video_ids is None else _unrated_rows(rec, ranking, video_ids)
    at = _located(rec, ranking, rows)  # (n,) into the pool
    terms = rec.rating_terms(prof, ranking.pool)  # (n_c, m, 3) raw, unweighted
    weights = ranking.weights
    per_rating = np.stack(
        [
            weights[s] * _z_terms(terms[:, :, s], ranking.spreads[s], at)
            for s in range(terms.shape[2])
        ],
        axis=2,
    )  # (n, m, 3)
    popularity = float(weights[3]) * zscore(ranking.signals[3], ranking.spreads[3])  # (n_c,)
    base = popularity[at].astype(np.float64)[:, None]  # (n, 1)
    return Attribution(
        video_ids=rec.video_ids[ranking.pool[at]],
        rated_ids=rec.video_ids[prof.rows],
        stars=prof.stars.copy(),
        score=per_rating.sum(axis=(1, 2)) + base.sum(axis=1),
        per_rating=per_rating,
        base=base,
    )


def recommend_with_reasons(rec: HybridRecommender, ranking: Ranking) -> pd.DataFrame:
    """The ranking's list (as recommend() gives it) plus each pick's reason, read off the exact
    split of its score.

    The reason names the rating that lifts the pick most, with its share, so what the card
    says is what ranked it; a pick mostly lifted by popularity, or by many ratings at once,
    says so instead of naming one.
    """
    top = rec.table(ranking)
    rated_titles = rec.catalog["title"].to_numpy()[ranking.profile.rows]
    return pd.concat([top, reasons(explain(rec, ranking), rated_titles)], axis=1)


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
    rec: HybridRecommender, ranking: Ranking, video_id, depth: int = 200
) -> Counterfactual:
    """Leave one rating out at a time, re-fold and re-rank: how far the video moves.

    Ranks are positions in the ranking's query with k = ``depth`` and no diversity (a viewer
    left with no rating gets the new-viewer mix, as recommend() gives); past ``depth`` (at most
    1000) a rank is None. Costs one fold-in and one ranking per rating.
    """
    query = replace(ranking.query, k=depth, diversity=0.0)  # bad depth raises here
    prof = ranking.profile
    row = _unrated_rows(rec, ranking, [video_id])[0]
    ranks = []
    for vid in prof.ratings:
        rest = {v: s for v, s in prof.ratings.items() if v != vid}
        ranks.append(_rank_of(rec.rank(rest, query), row))
    return Counterfactual(
        video_id=int(rec.video_ids[row]),
        depth=query.k,
        rank=_rank_of(rec.rank(prof, query), row),
        rated_ids=rec.video_ids[prof.rows],
        ranks_without=tuple(ranks),
    )


def _rank_of(ranking: Ranking, row: int) -> int | None:
    """1-based position of a catalog row in a ranking's list, else None."""
    hit = np.flatnonzero(ranking.rows == row)
    return int(hit[0]) + 1 if len(hit) else None


def _unrated_rows(rec: HybridRecommender, ranking: Ranking, video_ids) -> np.ndarray:
    """Catalog rows of videos that can have a score: known, not rated, inside the filter."""
    rows = rec.videos.rows_of(video_ids)  # unknown ids raise UnknownVideoError
    prof, allowed = ranking.profile, ranking.query.allowed
    for row in rows:
        vid = int(rec.video_ids[row])
        if row in prof.rows:
            stars = prof.ratings[vid]
            raise DataError(f"video {vid} is rated ({stars:g}★); only unrated videos get a score")
        if allowed is not None and not allowed[row]:
            raise DataError(f"video {vid} is outside the filter; widen it to explain this video")
    return rows


def _located(rec: HybridRecommender, ranking: Ranking, rows: np.ndarray) -> np.ndarray:
    """(n,) positions of rows in the ranking's pool; a row retrieval left out has no score."""
    at = ranking.positions(rows)
    if (at < 0).any():
        missing = int(rec.video_ids[rows[at < 0][0]])
        raise DataError(
            f"video {missing} is not among the {len(ranking.pool)} candidates "
            "retrieved for this viewer, so it has no score to explain"
        )
    return at


def _z_terms(terms: np.ndarray, std: float, at: np.ndarray) -> np.ndarray:
    """(n, m) rating j's share of zscore(x)[at], where x = terms.sum(1) over the pool.

    ``std`` is the ranking's spread of its own float32 x, so the zero-spread cut is the same.
    """
    if not std:
        return np.zeros((len(at), terms.shape[1]))
    return (terms[at] - terms.mean(axis=0)) / std
