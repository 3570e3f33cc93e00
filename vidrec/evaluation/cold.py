"""Protocol C: cold items. Hold out 10% of films with all their ratings, train on the rest, and
rank only the held-out films for each user who rated any of them.

The team wrote synopses for the films with at least 50 ratings, so a cold film's synopsis (or
its absence) gives its popularity away: the full-text rows are flattered. The same protocol is
also run with every film read from its title, year and genres alone, which leaks nothing.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd
import torch

from vidrec.artifacts import Artifacts, make_encoder, rating_counts, train_mf
from vidrec.config import Config
from vidrec.data import Dataset, load_dataset
from vidrec.mapping import fit_content_map
from vidrec.metrics import K, ranking_metrics
from vidrec.recommender import HybridRecommender, zscore

COLD_SHARE = 0.10
PROTOCOL = "C: 10% of films cold, seed 42"
TITLES_ONLY = ", titles only"  # method suffix of the leak-free rows


def cold_split(dataset: Dataset, seed: int = 42) -> tuple[pd.DataFrame, np.ndarray]:
    """Warm ratings and the held-out (cold) video ids: a seeded 10% of the rated films."""
    rated = np.unique(dataset.ratings["video_id"])
    rng = np.random.default_rng(seed)
    cold = np.sort(
        rng.choice(rated, size=max(1, int(round(COLD_SHARE * len(rated)))), replace=False)
    )
    warm = dataset.ratings[~dataset.ratings["video_id"].isin(cold)].reset_index(drop=True)
    return warm, cold


def evaluate_cold(arts: Artifacts, config: Config, alphas=(0.3, 0.5)) -> list[dict]:
    """nDCG@10 / Recall@10 over the cold films: random, content, mapped MF and their blends."""
    dataset = arts.dataset
    warm, cold = cold_split(dataset, config.seed)
    t = time.perf_counter()
    mf = train_mf(Dataset(dataset.name, dataset.catalog, warm, dataset.users), config)
    catalog = dataset.catalog
    counts = rating_counts(catalog, warm)
    cold_rows = np.searchsorted(catalog["video_id"], cold)
    content_map = fit_content_map(
        arts.embeddings, mf.item_factors.numpy(), mf.item_bias.numpy(), counts, catalog=catalog
    )
    side = catalog.iloc[cold_rows]
    factors, bias = content_map.predict(arts.embeddings[cold_rows], side["genres"], side["year"])
    mf.item_factors[torch.as_tensor(cold_rows)] = torch.as_tensor(
        factors, dtype=mf.item_factors.dtype
    )
    mf.item_bias[torch.as_tensor(cold_rows)] = torch.as_tensor(bias, dtype=mf.item_bias.dtype)
    fit_seconds = time.perf_counter() - t
    rec = HybridRecommender(
        catalog, arts.embeddings, arts.index, mf, rating_counts=counts, config=config
    )
    relevant, scores = _score_users(rec, warm, dataset.ratings, cold, cold_rows, config.seed)
    for alpha in alphas:
        scores[f"blend α={alpha:g}"] = {
            u: alpha * zscore(scores["content"][u]) + (1 - alpha) * zscore(scores["mapped MF"][u])
            for u in relevant
        }
    rows = []
    for name, per_user in scores.items():
        top = {u: cold[np.argsort(-s, kind="stable")[:K]].tolist() for u, s in per_user.items()}
        row = {
            "method": name,
            "protocol": PROTOCOL,
            "users": len(relevant),
            "cold_videos": len(cold),
        }
        row.update(ranking_metrics(top, relevant))
        row["fit_seconds"] = round(fit_seconds, 2)
        rows.append(row)
    return rows


def evaluate_cold_titles_only(arts: Artifacts, config: Config) -> list[dict]:
    """Protocol C with every film embedded from its title, year and genres (no synopsis)."""
    plain = load_dataset(config.replace(synopses=False)).catalog["text"].tolist()
    embeddings = make_encoder(config).encode(plain)  # (n_items, dim), the same film order
    rows = evaluate_cold(dataclasses.replace(arts, embeddings=embeddings), config)
    return [{**r, "method": r["method"] + TITLES_ONLY} for r in rows if r["method"] != "random"]


def _score_users(rec, warm, ratings, cold, cold_rows, seed):
    """Relevant cold films per user, and each method's scores of every cold film per user."""
    rng = np.random.default_rng(seed)
    cold_ratings = ratings[ratings["video_id"].isin(cold)]
    history = {u: dict(zip(g["video_id"], g["rating"])) for u, g in warm.groupby("user_id")}
    relevant: dict[int, set] = {}
    scores: dict[str, dict] = {"random": {}, "content": {}, "mapped MF": {}}
    for user, group in cold_ratings.groupby("user_id"):
        prof = rec.profile(history.get(user, {}))
        relevant[user] = set(group["video_id"])
        scores["random"][user] = rng.random(len(cold))
        scores["content"][user] = rec.content_scores(prof, cold_rows)
        scores["mapped MF"][user] = rec.mf.preference_scores(prof.collab, cold_rows)
    return relevant, scores
