"""Offline evaluation on the public MovieLens-100K top-K protocol (microsoft/recommenders).

Random 75/25 split stratified by item (each film's ratings split 75/25), seed 42; every held-out
rating counts as relevant; top-10 after removing each user's training videos; binary nDCG.
Every test user goes through the same fold-in + recommend path the app uses.

The same lists are also judged by what viewers liked: the "liked" protocol counts only held-out
ratings of 4–5★ as relevant, and "disliked@10" is the share of top-10 picks the viewer went on
to rate 1–2★ (a list that recommends what people dislike should not score as a good one).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from vidrec.artifacts import (
    fit_reader,
    load_artifacts,
    rating_counts,
    train_item_item,
    train_mf,
)
from vidrec.config import Config
from vidrec.data import Dataset
from vidrec.evaluation.baselines import implicit_top_k
from vidrec.metrics import K, ranking_metrics
from vidrec.recommender import HybridRecommender

log = logging.getLogger(__name__)
PROTOCOL = "A: 75/25 by item, seed 42"
TAIL = 20  # a film with at most this many training ratings is in the long tail
LIKED_MIN, DISLIKED_MAX = 4.0, 2.0  # held-out stars the liked protocol and disliked@10 count


VALIDATION_SEED = 7  # carves a validation split out of a split's training ratings (same rule)


def stratified_split(ratings: pd.DataFrame, ratio: float = 0.75, seed: int = 42):
    """Split each video's ratings ratio/(1-ratio) at random: (train, test) DataFrames."""
    rng = np.random.default_rng(seed)
    in_train = np.zeros(len(ratings), dtype=bool)
    for idx in ratings.groupby("video_id", sort=True).indices.values():
        shuffled = rng.permutation(idx)
        in_train[shuffled[: int(round(ratio * len(idx)))]] = True
    return ratings[in_train].reset_index(drop=True), ratings[~in_train].reset_index(drop=True)


def beyond_accuracy(top: dict[int, list[int]], rec: HybridRecommender) -> dict:
    """Catalog coverage (share of videos in any list) and intra-list diversity (1 − mean cosine)."""
    lists = [rec.videos.rows_of(ids) for ids in top.values() if len(ids)]
    shown = np.unique(np.concatenate(lists)) if lists else np.array([])
    ild = []
    for rows in (rows for rows in lists if len(rows) > 1):  # diversity needs a pair
        emb = rec.embeddings[rows]  # (k, dim) unit rows
        sims = emb @ emb.T
        n = len(rows)
        ild.append(1.0 - (sims.sum() - np.trace(sims)) / (n * (n - 1)))
    return {
        "coverage": len(shown) / len(rec.video_ids),
        "diversity": float(np.mean(ild)) if ild else float("nan"),
    }


def tail_relevant(fitted) -> dict[int, set[int]]:
    """Each test user's held-out films with at most TAIL training ratings (the long tail)."""
    counts = fitted.train["video_id"].value_counts()
    tail = set(counts[counts <= TAIL].index) | (set(fitted.test["video_id"]) - set(counts.index))
    held = {u: rel & tail for u, rel in fitted.relevant.items()}
    return {u: rel for u, rel in held.items() if rel}


def tail_metrics(top: dict[int, list[int]], tail: dict[int, set[int]]) -> dict:
    """Recall@10 and nDCG@10 on the long tail's held-out ratings only."""
    m = ranking_metrics({u: top.get(u, []) for u in tail}, tail)
    return {"tail_recall@10": m["recall@10"], "tail_ndcg@10": m["ndcg@10"]}


def held_out_by_stars(test: pd.DataFrame, keep) -> dict[int, set[int]]:
    """Each user's held-out videos whose stars pass ``keep`` (a boolean Series over test)."""
    return {u: set(g) for u, g in test[keep].groupby("user_id")["video_id"]}


def liked_metrics(top, relevant, liked, disliked) -> dict:
    """The liked protocol (relevant = held-out 4–5★) and disliked@10 of the same lists.

    disliked@10 averages, over every judged user, the share of their top 10 they rated 1–2★.
    """
    m = ranking_metrics({u: top.get(u, []) for u in liked}, liked)
    shares = [len(set(top.get(u, [])[:K]) & disliked.get(u, set())) / K for u in relevant]
    return {
        "liked_ndcg@10": m["ndcg@10"],
        "liked_recall@10": m["recall@10"],
        "disliked@10": float(np.mean(shares)) if shares else float("nan"),
    }


@dataclass
class SplitModels:
    """Protocol A's split and the models fitted on its training part, shared by every method."""

    train: pd.DataFrame
    test: pd.DataFrame
    split: Dataset  # the catalog with only the training ratings
    recs: dict[float, HybridRecommender]  # keyed by item-item weight: 0, 1 and the configured one
    fit_seconds: float  # MF, item-item and the reader
    mf_seconds: float = 0.0  # MF alone: what the "mf" row compares with implicit's ALS

    @cached_property
    def relevant(self) -> dict[int, set[int]]:
        """Each test user's held-out videos: what a perfect top-k would hold."""
        return {u: set(g) for u, g in self.test.groupby("user_id")["video_id"]}

    @cached_property
    def liked(self) -> dict[int, set[int]]:
        """Each test user's held-out videos rated 4–5★: the liked protocol's relevant set."""
        return held_out_by_stars(self.test, self.test["rating"] >= LIKED_MIN)

    @cached_property
    def disliked(self) -> dict[int, set[int]]:
        """Each test user's held-out videos rated 1–2★: what disliked@10 counts."""
        return held_out_by_stars(self.test, self.test["rating"] <= DISLIKED_MAX)

    @cached_property
    def history(self) -> dict[int, dict[int, float]]:
        """Each user's training ratings, folded in as the app folds in a viewer."""
        return {u: dict(zip(g["video_id"], g["rating"])) for u, g in self.train.groupby("user_id")}

    @cached_property
    def tail(self) -> dict[int, set[int]]:
        """Held-out films with at most TAIL training ratings, per user (see tail_relevant)."""
        return tail_relevant(self)


def fit_split(arts, config: Config, say=None, seed: int | None = None, weights=None):
    """Split the ratings 75/25 by item (protocol A's seed unless given); fit on the 75%."""
    seed = config.seed if seed is None else seed
    train, test = stratified_split(arts.dataset.ratings, seed=seed)
    return fit_on(arts, train, test, config, say, weights)


def fit_on(arts, train, test, config: Config, say=None, weights=None) -> SplitModels:
    """MF, item-item and the taste-trained reader fitted on ``train``; one recommender per
    item-item share in weights (default: 0, 1 and the configured one)."""
    say = say or (lambda s, d, n: None)
    split = Dataset(arts.dataset.name, arts.dataset.catalog, train, arts.dataset.users)
    t = time.perf_counter()
    mf = train_mf(split, config, lambda e, n, h: say("Training on the 75% split", e, n))
    mf_seconds = time.perf_counter() - t
    item_item = train_item_item(split, config)
    say("Teaching the reader on the split", 0, 1)
    recs = engines(arts, split, mf, item_item, config, weights)
    fit_seconds = time.perf_counter() - t
    return SplitModels(train, test, split, recs, fit_seconds, mf_seconds)


def engines(arts, split: Dataset, mf, item_item, config: Config, weights=None) -> dict:
    """One recommender per item-item share in weights (default: 0, 1 and the configured one),
    sharing ``mf``, ``item_item`` and a reader taught by ``mf`` on the split's ratings only."""
    reader = fit_reader(split, arts.tokens, mf, config)  # the split's ratings only: no leak
    reading = reader.reading(mf, arts.tokens, arts.dataset.catalog)
    counts = rating_counts(arts.dataset.catalog, split.ratings)
    weights = {0.0, 1.0, config.item_item_weight} if weights is None else set(weights)
    return {
        w: HybridRecommender(
            arts.dataset.catalog, arts.embeddings, arts.index, mf, rating_counts=counts,
            config=config.replace(item_item_weight=w), item_item=item_item, reading=reading,
        )
        for w in weights
    }  # fmt: skip


def evaluate(
    config: Config,
    alphas: Iterable[float] = (),
    baselines: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
    fitted: SplitModels | None = None,
) -> list[dict]:
    """Protocol A rows: popularity, content, MF, the hybrid, an α sweep and implicit's models.

    ``fitted``: the split and models to use (default: protocol A's, fitted here); every row
    also carries its long-tail metrics (see slices).
    """
    say = progress or (lambda s, d, n: None)
    if fitted is None:
        fitted = fit_split(load_artifacts(config, progress=say), config, say)
    rec, relevant = fitted.recs[config.item_item_weight], fitted.relevant
    w = config.item_item_weight
    methods = [("content", 1.0, w), ("mf", 0.0, 0.0), ("item-item", 0.0, 1.0)]
    methods += [("mf + item-item", 0.0, w), ("hybrid", config.alpha, w)]
    methods += [(f"hybrid α={a:g}", float(a), w) for a in alphas]
    popular = popularity_top(rec, fitted.history, relevant)
    rows = [method_row("popularity", popular, fitted, 0.0, rec)]
    rows.append(_explicit_mf_row(fitted, config, rec))
    rows += ranking_rows(fitted, methods, say)
    if baselines:
        say("Fitting implicit's BPR and ALS", 0, 1)
        peers = implicit_top_k(fitted.train, relevant, rec.video_ids, K)
        for name, (top, seconds) in peers.items():
            rows.append(method_row(name, top, fitted, seconds, rec))
    return rows


def ranking_rows(fitted: SplitModels, methods, say=None) -> list[dict]:
    """One protocol A row per (name, α, item-item share), each user folded in once for all."""
    relevant, history = fitted.relevant, fitted.history
    t = time.perf_counter()
    any_rec = next(iter(fitted.recs.values()))
    profiles = {user: any_rec.profile(history.get(user, {})) for user in relevant}
    fold_seconds = time.perf_counter() - t
    rows = []
    for name, alpha, weight in methods:
        rec = as_named(fitted.recs[weight], name)
        top, seconds = recommend_all(rec, history, relevant, alpha, say, name, profiles)
        seconds += fold_seconds
        fit_seconds = {"content": 0.0, "mf": fitted.mf_seconds}.get(name, fitted.fit_seconds)
        row = method_row(name, top, fitted, fit_seconds, rec)
        row.update(alpha=alpha, seconds_per_user=seconds / max(len(relevant), 1))
        if name in ("mf", "hybrid"):
            row.update(rating_errors(rec, history, fitted.test))
        rows.append(row)
    return rows


def as_named(rec: HybridRecommender, method: str) -> HybridRecommender:
    """The engine a row ranks with: the hybrid rows rank as the app does (α raised for a new
    viewer); every other row at exactly its α, so "collaborative" stays collaborative only."""
    return rec if method.split(" (")[0] == "hybrid" else rec.with_settings(alpha_new=0.0)


def method_row(method: str, top, fitted: SplitModels, fit_seconds: float, rec: HybridRecommender):
    """A method's protocol A row: ranking, liked, beyond-accuracy and long-tail metrics."""
    relevant = fitted.relevant
    row = {"method": method, "protocol": PROTOCOL, "users": len(relevant)}
    row.update(ranking_metrics(top, relevant))
    row.update(liked_metrics(top, relevant, fitted.liked, fitted.disliked))
    row.update(beyond_accuracy(top, rec))
    row.update(tail_metrics(top, fitted.tail))
    row["fit_seconds"] = round(fit_seconds, 2)
    return row


def popularity_top(rec: HybridRecommender, seen, relevant) -> dict[int, list[int]]:
    """The most popular films each user has not seen (``seen``: user -> their films)."""
    order = rec.video_ids[np.argsort(-rec.popularity, kind="stable")]
    top = {}
    for user in relevant:
        skip = seen.get(user, {})
        top[user] = [int(v) for v in order[: K + len(skip)] if v not in skip][:K]
    return top


def _explicit_mf_row(fitted: SplitModels, config: Config, rec) -> dict:
    """Baseline: classic stars-only biased MF (MSE), ranking by predicted stars."""
    history, relevant = fitted.history, fitted.relevant
    stars_only = config.replace(
        mf_observed_weight=0.0, mf_unobserved_weight=0.0, mf_rating_weight=1.0
    )
    t = time.perf_counter()
    mf = train_mf(fitted.split, stars_only)
    fit_seconds = time.perf_counter() - t
    top = {}
    for user in relevant:
        seen = history.get(user, {})
        rows = rec.videos.rows_of(list(seen)) if seen else np.array([], dtype=np.int64)
        pred = mf.predict(
            mf.fold_in(rows, np.array(list(seen.values()))), np.arange(len(rec.video_ids))
        )
        pred[rows] = -np.inf
        top[user] = rec.video_ids[np.argsort(-pred, kind="stable")[:K]].tolist()
    row = method_row("explicit MF (stars only)", top, fitted, fit_seconds, rec)
    explicit = HybridRecommender(
        rec.catalog,
        rec.embeddings,
        rec.index,
        mf,
        rating_counts=np.zeros(len(rec.video_ids)),
        config=config,
    )
    row.update(rating_errors(explicit, history, fitted.test))
    return row


def recommend_all(rec, history, relevant, alpha, say=None, name="", profiles=None):
    """Every user's top-K through the app's own fold-in + ranking path, and the seconds taken.

    profiles: users' folded-in profiles to reuse (they do not depend on α or the item-item
    weight); the lists are the ones recommend() shows, without building its table.
    """
    say = say or (lambda s, d, n: None)
    top, t = {}, time.perf_counter()
    for i, user in enumerate(relevant):
        viewer = profiles[user] if profiles else history.get(user, {})
        top[user] = rec.top_ids(viewer, k=K, alpha=alpha).tolist()
        if i % 100 == 0:
            say(f"Evaluating {name}", i, len(relevant))
    return top, time.perf_counter() - t


def rating_errors(rec: HybridRecommender, history, test: pd.DataFrame) -> dict:
    """RMSE and MAE of predicted stars on the held-out ratings."""
    errors = []
    for user, group in test.groupby("user_id"):
        pred = rec.predict(history.get(user, {}), group["video_id"].to_numpy())
        errors.append(pred - group["rating"].to_numpy())
    err = np.concatenate(errors)
    return {"rmse": float(np.sqrt((err**2).mean())), "mae": float(np.abs(err).mean())}
