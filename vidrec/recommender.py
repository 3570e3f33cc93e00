"""Recommendation: blend content similarity and collaborative preference into one ranked list.

A viewer is only a dict ``video_id -> stars``; everything else (their content interest vector,
their collaborative vectors) is recomputed from it in milliseconds, so the shared objects held
here are never mutated by a viewer.
"""

from __future__ import annotations

import difflib
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from vidrec.config import Config
from vidrec.data.schema import MAX_STARS, MIN_STARS
from vidrec.errors import DataError, UnknownVideoError, shown, video_id_of
from vidrec.index import MaxInnerProductIndex, VideoIndex
from vidrec.itemitem import ItemItem
from vidrec.mf import BiasedMF, UserVector

if TYPE_CHECKING:  # only a type here: importing content would load torch for nothing
    from vidrec.content import ContentEncoder

log = logging.getLogger(__name__)
NEUTRAL_STARS = 2.5  # centre for content weights: 3★ pulls a little, 2★ and below push away
NEW_VIEWER_DIVERSITY = 0.3  # a viewer with no ratings gets popular *and* varied films
EXACT_SCORING_MAX = 50_000  # up to this many unrated videos, score them all (no retrieval loss)
MAX_QUERY = 1_000  # characters of a title query; longer cannot match any title


@dataclass(frozen=True)
class Profile:
    """What the engine knows about one viewer, derived from their ratings alone."""

    ratings: dict[int, float]  # video_id -> stars, validated
    rows: np.ndarray  # catalog rows of the rated videos
    stars: np.ndarray  # (n,) float32, aligned with rows
    content: np.ndarray  # (dim,) unit interest vector, zeros when it cancels out or is empty
    collab: UserVector

    @property
    def n(self) -> int:
        return len(self.rows)

    @property
    def weights(self) -> np.ndarray:
        """Signed pull of each rated video on the content interest: loved > 0, hated < 0."""
        return self.stars - NEUTRAL_STARS


class HybridRecommender:
    """Content understanding (encoder + FAISS) and interest mapping (MF) behind one API."""

    def __init__(
        self,
        catalog: pd.DataFrame,
        embeddings: np.ndarray,
        index: VideoIndex,
        mf: BiasedMF,
        *,
        rating_counts: np.ndarray,
        config: Config,
        encoder: ContentEncoder | None = None,  # None: no free-text search or adding videos
        collab_index: MaxInnerProductIndex | None = None,
        item_item: ItemItem | None = None,
    ):
        self.catalog = catalog.reset_index(drop=True)
        self.embeddings = embeddings  # (n_items, dim) unit rows, aligned with catalog rows
        self.index = index
        self.mf = mf
        self.encoder = encoder
        self.config = config
        self.video_ids = self.catalog["video_id"].to_numpy(np.int64)
        self._row = {int(v): r for r, v in enumerate(self.video_ids)}
        self._id_order = np.argsort(self.video_ids, kind="stable")  # for vectorised id -> row
        self.rating_counts = np.asarray(rating_counts)  # (n_items,)
        self.popularity = np.log1p(self.rating_counts).astype(np.float32)  # (n_items,)
        self._popular_rows = np.argsort(-self.popularity, kind="stable")
        if collab_index is not None and len(collab_index) != mf.n_items:
            raise DataError(f"collab index has {len(collab_index)} rows, MF has {mf.n_items}")
        self.collab_index = collab_index  # optional: replaces the MF scan on huge catalogs
        if item_item is not None and item_item.weights.shape[0] > mf.n_items:
            raise DataError(f"item-item weights cover {item_item.weights.shape[0]} videos")
        self.item_item = item_item  # optional: sharpens the collaborative score (small catalogs)

    # ---- viewers ---------------------------------------------------------------------------
    def check_ratings(self, ratings: Mapping) -> dict[int, float]:
        """Validate a ratings dict: known video ids, finite stars within 0.5–5."""
        clean: dict[int, float] = {}
        unknown = []
        for vid, stars in dict(ratings).items():
            vid_int = video_id_of(vid)
            if vid_int not in self._row:
                unknown.append(vid_int)
                continue
            value = _number(stars)
            if value is None or not MIN_STARS <= value <= MAX_STARS:
                raise DataError(
                    f"rating for video {vid_int} is {shown(stars)}; stars go from 0.5 to 5"
                )
            clean[vid_int] = value
        if unknown:
            raise UnknownVideoError(f"unknown video id(s): {', '.join(map(str, unknown[:10]))}")
        return clean

    def profile(self, ratings: Mapping) -> Profile:
        """Fold a viewer's ratings into both spaces: one weighted mean and two ridge solves."""
        clean = self.check_ratings(ratings)
        rows = np.array([self._row[v] for v in clean], dtype=np.int64)
        stars = np.array(list(clean.values()), dtype=np.float32)
        content = np.zeros(self.embeddings.shape[1], np.float32)
        if len(rows):
            pull = (stars - NEUTRAL_STARS) @ self.embeddings[rows]  # (dim,)
            norm = float(np.linalg.norm(pull))
            content = pull / norm if norm > 1e-6 else content
        return Profile(clean, rows, stars, content, self.mf.fold_in(rows, stars))

    def _as_profile(self, viewer: Mapping | Profile) -> Profile:
        return viewer if isinstance(viewer, Profile) else self.profile(viewer)

    # ---- recommendation --------------------------------------------------------------------
    def recommend(
        self,
        viewer: Mapping | Profile,
        k: int = 10,
        alpha: float | None = None,
        diversity: float = 0.0,
        allowed: np.ndarray | None = None,
    ) -> pd.DataFrame:
        """Top-k unrated videos for a viewer, with the score split (vidrec.attribution adds why).

        score = α·content + (1-α)·collaborative + β·popularity, each z-scored over the
        candidates so they are comparable; β fades to 0 by the viewer's fifth rating.
        ``allowed`` is an optional boolean mask over catalog rows (genre/year filters).
        """
        prof = self._as_profile(viewer)
        return self._frame(prof, *self._ranked(prof, k, alpha, diversity, allowed))

    def top_ids(self, viewer: Mapping | Profile, k: int = 10, alpha: float | None = None):
        """The video ids recommend() lists, in order, without its table: for offline evaluation."""
        rows, _, _ = self._ranked(self._as_profile(viewer), k, alpha, 0.0, None)
        return self.video_ids[rows]

    def _ranked(self, prof: Profile, k, alpha, diversity, allowed):
        """(rows, scores, score parts) of the top k, best first."""
        alpha = _share("alpha", self.config.alpha if alpha is None else alpha)
        diversity = _share("diversity", diversity)
        k = _check_k(k)
        allowed = self.check_mask(allowed)
        rows = self._pool(prof, k, allowed)
        parts = self._score_parts(prof, rows, alpha)
        total = parts.sum(axis=1)
        if prof.n == 0:
            diversity = max(diversity, NEW_VIEWER_DIVERSITY)
        order = self._rerank(rows, total, k, diversity)
        return rows[order], total[order], parts[order]

    def check_mask(self, allowed) -> np.ndarray | None:
        """A filter mask as recommend() takes it: None, or one boolean per catalog row."""
        if allowed is None:
            return None
        allowed = np.asarray(allowed)
        if allowed.dtype != bool or allowed.shape != (len(self.video_ids),):
            raise DataError(
                f"the filter mask must be {len(self.video_ids)} booleans, one per video; "
                f"got {allowed.dtype} of shape {allowed.shape}"
            )
        return allowed

    def _pool(self, prof: Profile, k: int, allowed: np.ndarray | None) -> np.ndarray:
        """The candidates a top-k list is ranked from; the z-scores are taken over them."""
        return self._candidates(prof, max(200, 20 * k), allowed)

    def popularity_weight(self, n_ratings: int) -> float:
        """The prior's weight: full for a new viewer, zero from the fifth rating on."""
        w = self.config.popularity_weight
        return w * max(0.0, 1.0 - n_ratings / self.config.popularity_fade)

    def _candidates(self, prof: Profile, n: int, allowed: np.ndarray | None) -> np.ndarray:
        """Unrated rows to score: all of them in a small catalog, else a union of retrievers.

        A large catalog unions FAISS neighbours of the interest vector and of each loved video,
        the top collaborative rows and the most popular rows.
        """
        allowed = np.ones(len(self.video_ids), dtype=bool) if allowed is None else allowed.copy()
        allowed[prof.rows] = False
        if allowed.sum() <= EXACT_SCORING_MAX:
            return np.flatnonzero(allowed)
        found = [self._popular_rows[: n + prof.n]]
        if prof.collab.n_ratings:
            found.append(self._collab_rows(prof.collab, n))
        loved = prof.rows[prof.weights > 0][-20:]  # the most recent loved videos
        queries = self.embeddings[loved]  # (n_loved, dim)
        if np.any(prof.content):
            queries = np.vstack([prof.content, queries])
        if len(queries):  # one batched search: faiss shares the work across the queries
            ids, _ = self.index.search_many(queries, n // 4 + 1)  # (q, n//4 + 1), -1 padded
            found.append(self._rows_of_found(ids[ids >= 0]))
        rows = np.unique(np.concatenate(found))
        return rows[allowed[rows]]

    def _rows_of_found(self, ids: np.ndarray) -> np.ndarray:
        """Rows of ids an index returned (all in the catalog): one searchsorted, no dict walk."""
        return self._id_order[np.searchsorted(self.video_ids, ids, sorter=self._id_order)]

    def _collab_rows(self, user: UserVector, n: int) -> np.ndarray:
        """The n rows the viewer likeliest picks: from the factor index if given, else a scan."""
        if self.collab_index is not None:
            return self.collab_index.search(user.preference, n)
        collab = self.mf.preference_scores(user)
        return np.argpartition(-collab, min(n, len(collab) - 1))[:n]

    def _score_parts(self, prof: Profile, rows: np.ndarray, alpha: float) -> np.ndarray:
        """(n, 3) contributions of content, collaborative and popularity; rows sum to score.

        The content part is target attention: each candidate attends over the rated videos
        by embedding similarity and sums their signed weights (loved +, hated −). Unlike the
        cosine to one mean vector it serves viewers with several distinct tastes.
        """
        content = self.content_scores(prof, rows)
        beta = self.popularity_weight(prof.n)
        return np.stack(
            [
                alpha * _zscore(content),
                (1 - alpha) * self.collab_scores(prof, rows),
                beta * _zscore(self.popularity[rows]),
            ],
            axis=1,
        ).astype(np.float32)

    def collab_scores(self, prof: Profile, rows: np.ndarray) -> np.ndarray:
        """Collaborative score: MF preference, blended with item-item co-watching when built.

        Each is z-scored over the candidates, then mixed by ``item_item_weight``.
        """
        mf = _zscore(self.mf.preference_scores(prof.collab, rows))
        mf_share, item_share = self.collab_shares()
        if item_share == 0:
            return mf
        pairs = self.item_item.scores(prof.rows, len(self.video_ids))[rows]
        return mf_share * mf + item_share * _zscore(pairs)

    def collab_shares(self) -> tuple[float, float]:
        """(MF, item-item) weights inside the collaborative score: (1, 0) without item-item."""
        w = self.config.item_item_weight
        if self.item_item is None or self.item_item.weights.size == 0 or w == 0:
            return 1.0, 0.0
        return 1.0 - w, w

    def _rerank(self, rows: np.ndarray, score: np.ndarray, k: int, diversity: float) -> np.ndarray:
        """Maximal marginal relevance: trade score for dissimilarity to what is already picked."""
        order = np.argsort(-score, kind="stable")
        if diversity <= 0 or len(rows) <= 1:
            return order[:k]
        pool = order[: max(10 * k, 100)]
        rel = _minmax(score[pool])
        emb = self.embeddings[rows[pool]]  # (p, dim)
        picked = [0]
        max_sim = emb @ emb[0]
        for _ in range(1, min(k, len(pool))):
            gain = (1 - diversity) * rel - diversity * max_sim
            gain[picked] = -np.inf
            nxt = int(np.argmax(gain))
            picked.append(nxt)
            max_sim = np.maximum(max_sim, emb @ emb[nxt])
        return pool[picked]

    def _frame(self, prof: Profile, rows, total, parts) -> pd.DataFrame:
        cat = self.catalog.iloc[rows]
        return pd.DataFrame(
            {
                "video_id": cat["video_id"].to_numpy(),
                "title": cat["title"].to_numpy(),
                "year": cat["year"].to_numpy(),
                "genres": cat["genres"].to_numpy(),
                "score": total,
                "content_score": parts[:, 0],
                "collab_score": parts[:, 1],
                "popularity_score": parts[:, 2],
                "predicted_rating": self.mf.predict(prof.collab, rows),
            }
        )

    # ---- content score ------------------------------------------------------------------------
    def content_scores(self, prof: Profile, rows: np.ndarray) -> np.ndarray:
        """Content score of catalog rows: target attention times signed rating weights."""
        if prof.n == 0:
            return np.zeros(len(rows), np.float32)
        return self._attention_rows(prof, rows) @ prof.weights

    def attention(self, viewer: Mapping | Profile, video_ids) -> np.ndarray:
        """(n_videos, n_rated) target attention: softmax over rated videos of similarity / τ.

        Row i says which of the viewer's rated videos video i "looks at"; multiplied by the
        signed rating weights it gives how much each past rating supports the recommendation.
        """
        return self._attention_rows(self._as_profile(viewer), self.rows_of(video_ids))

    def _attention_rows(self, prof: Profile, rows: np.ndarray) -> np.ndarray:
        if prof.n == 0:
            return np.zeros((len(rows), 0), np.float32)
        logits = self.embeddings[rows] @ self.embeddings[prof.rows].T / self.config.temperature
        logits -= logits.max(axis=1, keepdims=True)
        att = np.exp(logits)
        return (att / att.sum(axis=1, keepdims=True)).astype(np.float32)

    # ---- look-ups ---------------------------------------------------------------------------
    def rows_of(self, video_ids) -> np.ndarray:
        """Catalog rows of video ids; unknown ids raise UnknownVideoError naming them."""
        given = np.asarray(video_ids, dtype=object)
        if given.ndim > 1:
            raise DataError(f"video ids must be a flat list, got shape {given.shape}")
        ids = [video_id_of(v) for v in np.atleast_1d(given).tolist()]
        missing = [v for v in ids if v not in self._row]
        if missing:
            raise UnknownVideoError(f"unknown video id(s): {', '.join(map(str, missing[:10]))}")
        return np.array([self._row[v] for v in ids], dtype=np.int64)

    def popular(self, n: int = 20) -> pd.DataFrame:
        """The most-rated videos: what a catalog browser shows before any search."""
        rows = self._popular_rows[: _check_k(n)]
        return self.catalog.iloc[rows][["video_id", "title", "year", "genres"]].reset_index(
            drop=True
        )

    def predict(self, viewer: Mapping | Profile, video_ids) -> np.ndarray:
        """Predicted stars (1–5) for given videos."""
        prof = self._as_profile(viewer)
        return self.mf.predict(prof.collab, self.rows_of(video_ids))

    def similar(self, video_id: int, k: int = 10) -> pd.DataFrame:
        """Videos whose content embedding is nearest to this one's (FAISS)."""
        row = self.rows_of([video_id])[0]
        ids, scores = self.index.search(self.embeddings[row], _check_k(k), exclude=[video_id])
        return self._hits(ids, scores)

    def search(self, text: str, k: int = 10) -> pd.DataFrame:
        """Plain-language search: the Transformer embeds the text, FAISS finds the videos."""
        if self.encoder is None:
            raise DataError("search needs the content encoder, which was not loaded")
        ids, scores = self.index.search(self.encoder.encode_query(text), _check_k(k))
        return self._hits(ids, scores)

    def _hits(self, ids: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
        cat = self.catalog.iloc[self.rows_of(ids)] if len(ids) else self.catalog.iloc[[]]
        out = cat[["video_id", "title", "year", "genres"]].reset_index(drop=True)
        return out.assign(similarity=np.asarray(scores, np.float32))

    def find_title(self, text: str) -> int:
        """A video id from a title: exact, then case-insensitive, then a unique substring."""
        titles = self.catalog["title"]
        # lone surrogates cannot be encoded for pandas' string arrays, and no title has one
        query = str(text).strip().encode("utf-8", "replace").decode("utf-8")
        if len(query) > MAX_QUERY:
            raise UnknownVideoError(f"no video titled {shown(query)} (titles are shorter)")
        for mask in (titles == query, titles.str.lower() == query.lower()):
            if mask.sum() == 1:
                return int(self.catalog.loc[mask, "video_id"].iat[0])
        sub = (
            titles.str.lower().str.contains(query.lower(), regex=False)
            if query
            else titles != titles
        )
        if sub.sum() == 1:
            return int(self.catalog.loc[sub, "video_id"].iat[0])
        if sub.sum() > 1:
            found = self.catalog.loc[sub].head(8)
            options = "; ".join(f"{t} [id {v}]" for t, v in zip(found["title"], found["video_id"]))
            raise UnknownVideoError(f"{shown(query)} matches {sub.sum()} titles, e.g. {options}")
        close = difflib.get_close_matches(query, titles.tolist(), n=5, cutoff=0.5)
        hint = f" Did you mean: {'; '.join(close)}?" if close else ""
        raise UnknownVideoError(f"no video titled {shown(query)}.{hint}")


def _check_k(k) -> int:
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 1 <= k <= 1000:
        raise DataError(f"k must be a whole number from 1 to 1000, got {k!r}")
    return int(k)


def _number(value: object) -> float | None:
    """A finite real number as float, else None (bools, text, NaN, inf, 10**400 included)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _share(name: str, value: object) -> float:
    """A knob that must be a number from 0 to 1 (alpha, diversity)."""
    number = _number(value)
    if number is None or not 0.0 <= number <= 1.0:
        raise DataError(f"{name} must be a number from 0 to 1, got {shown(value)}")
    return number


def _zscore(x: np.ndarray) -> np.ndarray:
    """Centre and scale over the candidates so scores of different kinds can be added."""
    if x.size == 0:
        return x
    std = _spread(x)
    return (x - x.mean()) / std if std else np.zeros_like(x)


def _spread(x: np.ndarray) -> float:
    """x's std, or 0 when it is float32 rounding noise (a part every candidate shares).

    Regression: a viewer whose ratings all weigh alike gets the same content score for every
    candidate, up to rounding; dividing that noise by its own std made it count.
    """
    std = float(x.std())
    return std if std > 1e-6 * max(1.0, float(np.abs(x).max())) else 0.0


def _minmax(x: np.ndarray) -> np.ndarray:
    span = float(x.max() - x.min())
    return (x - x.min()) / span if span > 1e-9 else np.ones_like(x)
