"""Recommendation: blend content similarity and collaborative preference into one ranked list.

A viewer is only a dict ``video_id -> stars``; everything else (their content interest vector,
their collaborative vectors) is recomputed from it in milliseconds, so the shared objects held
here are never mutated by a viewer.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from vidrec.catalog import Catalog, check_k
from vidrec.config import Config
from vidrec.data.schema import parse_stars
from vidrec.errors import DataError, UnknownVideoError, shown, video_id_of
from vidrec.index import Index, MaxInnerProductIndex
from vidrec.itemitem import ItemItem
from vidrec.mf import BiasedMF, UserVector
from vidrec.reader import Reading

if TYPE_CHECKING:  # only a type here: importing content would load torch for nothing
    from vidrec.content import ContentEncoder

log = logging.getLogger(__name__)
SIGNALS = ("content", "mf_preference", "item_item", "popularity")  # Ranking.signals' rows
LIKED_STARS = 3.0  # from here a rating says "more like this"; below it pushes similar videos away
NEUTRAL_STARS = 2.5  # centre for content weights: 3★ pulls a little, 2★ and below push away
NEW_VIEWER_DIVERSITY = 0.3  # a viewer with no ratings gets popular *and* varied films
EXACT_SCORING_MAX = 50_000  # up to this many unrated videos, score them all (no retrieval loss)


@dataclass(frozen=True)
class Profile:
    """What the engine knows about one viewer, derived from their ratings alone."""

    ratings: dict[int, float]  # video_id -> stars, validated
    rows: np.ndarray  # catalog rows of the rated videos
    stars: np.ndarray  # (n,) float32, aligned with rows
    content: np.ndarray  # (dim,) unit interest vector, zeros when it cancels out or is empty
    collab: UserVector
    targets: np.ndarray  # (n,) float32 preference/item-item target: +1 liked, −ν disliked
    taste: UserVector | None = None  # folded into the trained reading, when the engine has one

    @property
    def n(self) -> int:
        return len(self.rows)

    @property
    def weights(self) -> np.ndarray:
        """Signed pull of each rated video on the content interest: loved > 0, hated < 0."""
        return self.stars - NEUTRAL_STARS


@dataclass(frozen=True, eq=False)
class Query:
    """What a list is asked for, validated once; the candidate pool depends on k alone.

    Made by ``HybridRecommender.query`` (which fills α from the config and checks the mask
    against the catalog), then passed unchanged to ranking, explaining and what-ifs.
    """

    k: int = 10
    alpha: float = 0.5  # 1 = content only, 0 = collaborative only
    diversity: float = 0.0  # MMR trade-off
    allowed: np.ndarray | None = None  # boolean mask over catalog rows (filters), or None

    def __post_init__(self) -> None:
        object.__setattr__(self, "alpha", _share("alpha", self.alpha))
        object.__setattr__(self, "diversity", _share("diversity", self.diversity))
        object.__setattr__(self, "k", check_k(self.k))

    @property
    def pool_size(self) -> int:
        """How many candidates a large catalog retrieves for a top-k list."""
        return max(200, 20 * self.k)


@dataclass(frozen=True, eq=False)
class Ranking:
    """One ranked list and everything that scored it: the seam between ranking and explaining.

    Every candidate in ``pool`` is scored; a signal's z-score is (x − mean) / spread over the
    pool (0 when its spread is rounding noise), and the score is the weighted sum of z-scores.
    Attribution splits the same signals with the same spreads, so it cannot drift from the list.
    """

    profile: Profile
    query: Query
    pool: np.ndarray  # (n_c,) candidate catalog rows
    signals: np.ndarray  # (4, n_c) float32 raw signals, rows as SIGNALS
    spreads: np.ndarray  # (4,) each signal's spread over the pool
    blend: tuple[float, float, float]  # (MF share, item-item share, popularity weight β)
    alpha: float  # the content weight used: query.alpha, raised for a new viewer (alpha_for)
    order: np.ndarray  # (≤ k,) positions in pool of the list, best first

    @property
    def rows(self) -> np.ndarray:
        """Catalog rows of the list, best first."""
        return self.pool[self.order]

    @property
    def weights(self) -> np.ndarray:
        """(4,) each z-scored signal's weight in the score, as SIGNALS."""
        alpha, (mf_share, item_share, beta) = self.alpha, self.blend
        return np.array([alpha, (1 - alpha) * mf_share, (1 - alpha) * item_share, beta])

    @cached_property  # the list, its table and its split all read it: computed once
    def z(self) -> np.ndarray:
        """(4, n_c) the signals z-scored over the pool."""
        return np.stack([zscore(x, s) for x, s in zip(self.signals, self.spreads)])

    @cached_property
    def parts(self) -> np.ndarray:
        """(n_c, 3) content, collaborative and popularity parts; a row sums to the score."""
        z, (mf_share, item_share, beta) = self.z, self.blend
        collab = z[1] if item_share == 0 else mf_share * z[1] + item_share * z[2]
        alpha = self.alpha
        parts = [alpha * z[0], (1 - alpha) * collab, beta * z[3]]
        return np.stack(parts, axis=1).astype(np.float32)

    @cached_property
    def scores(self) -> np.ndarray:
        """(n_c,) every candidate's score."""
        return self.parts.sum(axis=1)

    def positions(self, rows: np.ndarray) -> np.ndarray:
        """(n,) positions of catalog rows in the pool, −1 where retrieval left a row out."""
        order = np.argsort(self.pool, kind="stable")
        found = np.searchsorted(self.pool, rows, sorter=order)
        at = order[np.minimum(found, len(self.pool) - 1)] if len(self.pool) else found
        hit = (self.pool[at] == rows) if len(self.pool) else np.zeros(len(rows), bool)
        return np.where(hit, at, -1)


class HybridRecommender:
    """Content understanding (encoder + FAISS) and interest mapping (MF) behind one API."""

    def __init__(
        self,
        catalog: pd.DataFrame,
        embeddings: np.ndarray,
        index: Index,
        mf: BiasedMF,
        *,
        rating_counts: np.ndarray,
        config: Config,
        encoder: ContentEncoder | None = None,  # None: no free-text search or adding videos
        collab_index: MaxInnerProductIndex | None = None,
        item_item: ItemItem | None = None,
        reading: Reading | None = None,
        unseen: np.ndarray | None = None,  # (n_items,) bool: uploads whose audience is unknown
    ):
        self.videos = Catalog(catalog, rating_counts, embeddings, index, encoder, unseen)
        self.catalog = self.videos.frame  # the catalog frame, rows aligned with embeddings
        self.video_ids = self.videos.video_ids
        self.rating_counts = self.videos.rating_counts
        self.popularity = self.videos.popularity  # (n_items,) log(1 + ratings), see catalog
        self.embeddings = embeddings  # (n_items, dim) unit rows, aligned with catalog rows
        self.index = index
        self.mf = mf
        self.encoder = encoder
        self.config = config
        if collab_index is not None and len(collab_index) != mf.n_items:
            raise DataError(f"collab index has {len(collab_index)} rows, MF has {mf.n_items}")
        self.collab_index = collab_index  # optional: replaces the MF scan on huge catalogs
        if item_item is not None and item_item.weights.shape[0] > mf.n_items:
            raise DataError(f"item-item weights cover {item_item.weights.shape[0]} videos")
        self.item_item = item_item  # optional: sharpens the collaborative score (small catalogs)
        if reading is not None and reading.items.n_items != len(self.video_ids):
            raise DataError(f"the trained reading covers {reading.items.n_items} videos")
        # the taste-trained reader's view (vidrec.reader): every video placed among viewers'
        # tastes from its text alone; the content score folds a viewer in there
        self.reading = reading

    def with_settings(self, **changes) -> HybridRecommender:
        """The same engine with query-time settings changed: nothing is refitted or copied."""
        other = copy.copy(self)
        other.config = self.config.replace(**changes)
        return other

    # ---- viewers ---------------------------------------------------------------------------
    def check_ratings(self, ratings: Mapping) -> dict[int, float]:
        """Validate a ratings dict: known video ids, finite stars within 0.5–5."""
        clean: dict[int, float] = {}
        unknown = []
        for vid, stars in dict(ratings).items():
            vid_int = video_id_of(vid)
            if vid_int not in self.videos:
                unknown.append(vid_int)
                continue
            value = parse_stars(stars)
            if value is None:
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
        rows = self.videos.rows_of(list(clean)) if clean else np.zeros(0, np.int64)
        stars = np.array(list(clean.values()), dtype=np.float32)
        content = np.zeros(self.embeddings.shape[1], np.float32)
        if len(rows):
            pull = (stars - NEUTRAL_STARS) @ self.embeddings[rows]  # (dim,)
            norm = float(np.linalg.norm(pull))
            content = pull / norm if norm > 1e-6 else content
        targets = np.where(stars >= LIKED_STARS, 1.0, -self.config.dislike_weight)
        targets = targets.astype(np.float32)
        collab = self.mf.fold_in(rows, stars, targets)
        read = self.reading
        taste = read.items.fold_in(rows, stars, targets) if read is not None else None
        return Profile(clean, rows, stars, content, collab, targets, taste)

    def as_profile(self, viewer: Mapping | Profile) -> Profile:
        """A Profile as is; a ratings dict folded in (validated) first."""
        return viewer if isinstance(viewer, Profile) else self.profile(viewer)

    # ---- recommendation --------------------------------------------------------------------
    def query(
        self,
        k: int = 10,
        alpha: float | None = None,
        diversity: float = 0.0,
        allowed: np.ndarray | None = None,
    ) -> Query:
        """A validated Query: α defaults to the config's, the mask must fit the catalog."""
        alpha = self.config.alpha if alpha is None else alpha
        query = Query(k=k, alpha=alpha, diversity=diversity)  # the knobs before the mask
        return replace(query, allowed=self.check_mask(allowed))

    def rank(self, viewer: Mapping | Profile, query: Query | None = None) -> Ranking:
        """Score every candidate and pick the list: the one result lists and explanations read.

        score = α·content + (1-α)·collaborative + β·popularity, each signal z-scored over the
        candidates so they are comparable; β fades to 0 by the viewer's `popularity_fade`-th
        rating, and α is raised for a new viewer in the same way (alpha_for).
        """
        query = self.query() if query is None else query
        prof = self.as_profile(viewer)
        pool = self.candidates(prof, query.pool_size, query.allowed)
        signals = self._signals(prof, pool)  # (4, n_c) raw, as SIGNALS
        spreads = np.array([spread(x) if x.size else 0.0 for x in signals])
        blend = (*self.collab_shares(), self.popularity_weight(prof.n))
        alpha = self.alpha_for(prof.n, query.alpha)
        ranking = Ranking(prof, query, pool, signals, spreads, blend, alpha, np.zeros(0, np.int64))
        return replace(ranking, order=self._rerank(ranking, ranking.scores))

    def rows_without_content(self, ranking: Ranking) -> np.ndarray:
        """The list the same candidates give with the content part taken out and every other
        part as it is: what content understanding changed is the difference to ranking.rows."""
        parts = ranking.parts
        return ranking.pool[self._rerank(ranking, parts[:, 1] + parts[:, 2])]

    def recommend(
        self,
        viewer: Mapping | Profile,
        k: int = 10,
        alpha: float | None = None,
        diversity: float = 0.0,
        allowed: np.ndarray | None = None,
    ) -> pd.DataFrame:
        """Top-k unrated videos for a viewer, with the score split (vidrec.attribution adds why).

        ``allowed`` is an optional boolean mask over catalog rows (genre/year filters).
        """
        prof = self.as_profile(viewer)  # the ratings are checked before the knobs
        return self.table(self.rank(prof, self.query(k, alpha, diversity, allowed)))

    def top_ids(self, viewer: Mapping | Profile, k: int = 10, alpha: float | None = None):
        """The video ids recommend() lists, in order, without its table: for offline evaluation."""
        prof = self.as_profile(viewer)
        return self.video_ids[self.rank(prof, self.query(k, alpha)).rows]

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

    def alpha_for(self, n_ratings: int, alpha: float) -> float:
        """The content weight for a viewer with n ratings: at least alpha_new for a new viewer,
        fading by `popularity_fade` ratings, since one or two ratings barely place a viewer
        among others' tastes but do say what the text of their videos is like."""
        lean = self.config.alpha_new * max(0.0, 1.0 - n_ratings / self.config.popularity_fade)
        return max(alpha, lean)

    def popularity_weight(self, n_ratings: int) -> float:
        """The prior's weight: full for a new viewer, linearly 0 by `popularity_fade` ratings."""
        w = self.config.popularity_weight
        return w * max(0.0, 1.0 - n_ratings / self.config.popularity_fade)

    def candidates(self, prof: Profile, n: int, allowed: np.ndarray | None = None) -> np.ndarray:
        """Unrated rows to score: all of them in a small catalog, else a union of retrievers.

        A large catalog unions FAISS neighbours of the interest vector and of each loved video,
        the top collaborative rows and the most popular rows.
        """
        allowed = np.ones(len(self.video_ids), dtype=bool) if allowed is None else allowed.copy()
        allowed[prof.rows] = False
        if allowed.sum() <= EXACT_SCORING_MAX:
            return np.flatnonzero(allowed)
        found = [self.videos.popular_rows[: n + prof.n]]
        if prof.collab.n_ratings:
            found.append(self._collab_rows(prof.collab, n))
        loved = prof.rows[prof.weights > 0][-20:]  # the most recent loved videos
        queries = self.embeddings[loved]  # (n_loved, dim)
        if np.any(prof.content):
            queries = np.vstack([prof.content, queries])
        if len(queries):  # one batched search: faiss shares the work across the queries
            ids, _ = self.index.search_many(queries, n // 4 + 1)  # (q, n//4 + 1), -1 padded
            found.append(self.videos.rows_of_found(ids[ids >= 0]))
        rows = np.unique(np.concatenate(found))
        return rows[allowed[rows]]

    def _collab_rows(self, user: UserVector, n: int) -> np.ndarray:
        """The n rows the viewer likeliest picks: from the factor index if given, else a scan."""
        if self.collab_index is not None:
            return self.collab_index.search(user.preference, n)
        collab = self.mf.preference_scores(user)
        return np.argpartition(-collab, min(n, len(collab) - 1))[:n]

    def _signals(self, prof: Profile, rows: np.ndarray) -> np.ndarray:
        """(4, n) raw signals of catalog rows, as SIGNALS: what rank() z-scores and blends.

        The content signal is target attention: each candidate attends over the rated videos
        by embedding similarity and sums their signed weights (loved +, hated −). Unlike the
        cosine to one mean vector it serves viewers with several distinct tastes. Item-item is
        computed only when the blend uses it (zeros otherwise).
        """
        pairs = np.zeros(len(rows), np.float32)
        if (item_item := self._blended_item_item()) is not None:
            pairs = item_item.scores(prof.rows, len(self.video_ids), prof.targets)[rows]
        mf = self.mf.preference_scores(prof.collab, rows)
        return np.stack([self.content_scores(prof, rows), mf, pairs, self.popularity[rows]])

    def rating_terms(self, prof: Profile, rows: np.ndarray) -> np.ndarray:
        """(n, m, 3) each rating's exact term in the content, MF and item-item signals of rows.

        Summed over the ratings they give _signals' first three rows (the terms the exact
        attribution z-scores and weighs); each model provides its own split.
        """
        if (reading := self._trained_reading()) is not None:
            content = reading.preference_terms(prof.rows, rows, prof.targets)  # (n, m)
        else:
            content = self.attention_rows(prof, rows).astype(np.float64) * prof.weights
        mf = self.mf.preference_terms(prof.rows, rows, prof.targets)  # (n, m)
        pairs = np.zeros((len(rows), prof.n))
        if (item_item := self._blended_item_item()) is not None:
            pairs = item_item.terms(prof.rows, rows, prof.targets)
        return np.stack([content, mf, pairs], axis=2)

    def _blended_item_item(self) -> ItemItem | None:
        """The item-item model when the blend gives it weight, else None."""
        return self.item_item if self.collab_shares()[1] else None

    def collab_shares(self) -> tuple[float, float]:
        """(MF, item-item) weights inside the collaborative score: (1, 0) without item-item."""
        w = self.config.item_item_weight
        if self.item_item is None or self.item_item.weights.size == 0 or w == 0:
            return 1.0, 0.0
        return 1.0 - w, w

    def _rerank(self, ranking: Ranking, score: np.ndarray) -> np.ndarray:
        """Maximal marginal relevance: trade score for dissimilarity to what is already picked.

        Positions in the ranking's pool of its top k; a new viewer gets at least
        NEW_VIEWER_DIVERSITY, so the popular start is also a varied one.
        """
        rows, k, diversity = ranking.pool, ranking.query.k, ranking.query.diversity
        if ranking.profile.n == 0:
            diversity = max(diversity, NEW_VIEWER_DIVERSITY)
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

    def table(self, ranking: Ranking) -> pd.DataFrame:
        """A ranking's list as recommend() returns it: one row per pick, best first."""
        rows, parts = ranking.rows, ranking.parts[ranking.order]
        cat = self.catalog.iloc[rows]
        return pd.DataFrame(
            {
                "video_id": cat["video_id"].to_numpy(),
                "title": cat["title"].to_numpy(),
                "year": cat["year"].to_numpy(),
                "genres": cat["genres"].to_numpy(),
                "score": ranking.scores[ranking.order],
                "content_score": parts[:, 0],
                "collab_score": parts[:, 1],
                "popularity_score": parts[:, 2],
                "predicted_rating": self.mf.predict(ranking.profile.collab, rows),
            }
        )

    # ---- content score ------------------------------------------------------------------------
    def content_scores(self, prof: Profile, rows: np.ndarray) -> np.ndarray:
        """Content score of catalog rows.

        Trained reading: the viewer folded into the reader's item side, scored as MF scores
        (text taught by the ratings; no MF vector of the viewer is used). Raw reading: target
        attention over the rated videos' embeddings times signed rating weights.
        """
        if prof.n == 0:
            return np.zeros(len(rows), np.float32)
        if (reading := self._trained_reading()) is not None and prof.taste is not None:
            return reading.preference_scores(prof.taste, rows).astype(np.float32)
        return self.attention_rows(prof, rows) @ prof.weights

    def _trained_reading(self) -> BiasedMF | None:
        """The trained reading when the engine has one and the config reads with it."""
        if self.reading is None or not self.config.trained_reading:
            return None
        return self.reading.items

    def attention(self, viewer: Mapping | Profile, video_ids) -> np.ndarray:
        """(n_videos, n_rated) target attention: softmax over rated videos of similarity / τ.

        Row i says which of the viewer's rated videos video i "looks at"; multiplied by the
        signed rating weights it gives how much each past rating supports the recommendation.
        """
        return self.attention_rows(self.as_profile(viewer), self.videos.rows_of(video_ids))

    def attention_rows(self, prof: Profile, rows: np.ndarray) -> np.ndarray:
        """(n, m) target attention of catalog rows over the viewer's rated videos.

        The softmax has a null key (similarity ``null_similarity``, value 0) beside the rated
        videos: a candidate unlike everything rated attends mostly to it, so its content score
        falls towards 0 even when the viewer has one rating or rates everything alike.
        """
        if prof.n == 0:
            return np.zeros((len(rows), 0), np.float32)
        sims = self.embeddings[rows] @ self.embeddings[prof.rows].T  # (n, m)
        null = np.full((len(rows), 1), self.config.null_similarity, sims.dtype)
        logits = np.hstack([sims, null]) / self.config.temperature
        logits -= logits.max(axis=1, keepdims=True)
        att = np.exp(logits)
        return (att / att.sum(axis=1, keepdims=True))[:, :-1].astype(np.float32)

    def predict(self, viewer: Mapping | Profile, video_ids) -> np.ndarray:
        """Predicted stars (1–5) for given videos."""
        prof = self.as_profile(viewer)
        return self.mf.predict(prof.collab, self.videos.rows_of(video_ids))


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


def zscore(x: np.ndarray, std: float | None = None) -> np.ndarray:
    """Centre and scale over the candidates so scores of different kinds can be added.

    ``std`` is x's spread when the caller has it already (as Ranking keeps it).
    """
    if x.size == 0:
        return x
    std = spread(x) if std is None else float(std)  # a Python float keeps x's dtype
    return (x - x.mean()) / std if std else np.zeros_like(x)


def spread(x: np.ndarray) -> float:
    """x's std, or 0 when it is float32 rounding noise (a part every candidate shares).

    Regression: a viewer whose ratings all weigh alike gets the same content score for every
    candidate, up to rounding; dividing that noise by its own std made it count.
    """
    std = float(x.std())
    return std if std > 1e-6 * max(1.0, float(np.abs(x).max())) else 0.0


def _minmax(x: np.ndarray) -> np.ndarray:
    span = float(x.max() - x.min())
    return (x - x.min()) / span if span > 1e-9 else np.ones_like(x)
