"""Protocol C: cold items. Hold out 10% of films with all their ratings, train on the rest, and
rank only the held-out films for each user who rated any of them.

The team wrote synopses for the films with at least 50 ratings, so a cold film's synopsis (or
its absence) gives its popularity away: the full-text rows are flattered. Two leak-free
variants: cold films drawn only among films *with* a synopsis (every candidate has one, so
having one tells nothing), and every film read from its title, year and genres alone.

Placing a cold film among tastes: the trained reader (vidrec.reader, refitted on the warm
ratings only) against the linear attribute-to-factor map of Gantner et al. (ICDM 2010), the
published cold-start baseline vidrec.mapping implements (ridge from text embedding, genres
and year to MF factors).

C-all ranks cold films among *all* films, as an added video must compete in the app: recall@20
of the cold films a viewer rated 4–5★ (held out by protocol A's split), beside the same films'
recall when they are warm (protocol A's model, trained with their other ratings), and every
viewer's nDCG@10 on all held-out ratings, since a list can always show more cold films by
pushing out the rest. The scale curve (validation only) shows that trade.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd
import torch

from vidrec.artifacts import Artifacts, fit_reader, make_encoder, rating_counts, train_mf
from vidrec.config import Config
from vidrec.content import TokenStates
from vidrec.data import Dataset, load_dataset
from vidrec.evaluation.topk import SplitModels, fit_on
from vidrec.mapping import fit_content_map
from vidrec.metrics import K, ranking_metrics
from vidrec.mf import BiasedMF
from vidrec.recommender import HybridRecommender

COLD_SHARE = 0.10
PROTOCOL = "C: 10% of films cold, seed 42"
SYNOPSIS_PROTOCOL = "C-synopsis: 10% of the films with a synopsis cold, seed 42"
AMONG_ALL = "C-all: cold films ranked among all films, recall@20 of 4–5★"
TITLES_ONLY = ", titles only"  # method suffix of the leak-free rows
RIDGE = "attribute map (Gantner et al. 2010)"
READER = "trained reader"
AMONG_K = 20
SCALED = "C-all on validation, read factors × s: R@20 of cold films, nDCG@10 of every list"
SCALES = (1.0, 1.25, 1.5, 2.0)


def cold_split(dataset: Dataset, seed: int = 42, among=None) -> tuple[pd.DataFrame, np.ndarray]:
    """Warm ratings and the held-out (cold) video ids: a seeded 10% of the rated films
    (of ``among`` ids when given)."""
    rated = np.unique(dataset.ratings["video_id"])
    if among is not None:
        rated = np.intersect1d(rated, among)
    rng = np.random.default_rng(seed)
    cold = np.sort(
        rng.choice(rated, size=max(1, int(round(COLD_SHARE * len(rated)))), replace=False)
    )
    warm = dataset.ratings[~dataset.ratings["video_id"].isin(cold)].reset_index(drop=True)
    return warm, cold


def evaluate_cold(
    arts: Artifacts, config: Config, tokens: TokenStates | None = None, synopsis_only=False
) -> list[dict]:
    """nDCG@10 / Recall@10 over the cold films: random, raw content, ridge map, trained reader.

    ``tokens``: the token states to read (default: the built ones, full text).
    """
    dataset, tokens = arts.dataset, tokens if tokens is not None else arts.tokens
    catalog = dataset.catalog
    among = catalog["video_id"][catalog["description"].str.len() > 0] if synopsis_only else None
    warm, cold = cold_split(dataset, config.seed, among)
    t = time.perf_counter()
    warm_set = Dataset(dataset.name, catalog, warm, dataset.users)
    mf = train_mf(warm_set, config)
    cold_rows = np.searchsorted(catalog["video_id"], cold)
    placed = {RIDGE: _ridge_placed(arts.embeddings, mf, warm, catalog, cold_rows)}
    reader = fit_reader(warm_set, tokens, mf, config)
    side = catalog.iloc[cold_rows]
    placed[READER] = reader.read(_subset(tokens, cold_rows), side["genres"], side["year"])
    fit_seconds = time.perf_counter() - t
    rec = HybridRecommender(
        catalog, arts.embeddings, arts.index, mf, rating_counts=rating_counts(catalog, warm),
        config=config,
    )  # fmt: skip
    relevant, profiles = _users(rec, warm, dataset.ratings, cold)
    rng = np.random.default_rng(config.seed)
    scores = {
        "random": {u: rng.random(len(cold)) for u in relevant},
        "content": {u: rec.content_scores(p, cold_rows) for u, p in profiles.items()},
    }
    for name, (factors, _) in placed.items():
        mapped = {u: factors @ p.collab.preference for u, p in profiles.items()}
        scores[f"mapped MF, {name}"] = mapped
    protocol = SYNOPSIS_PROTOCOL if synopsis_only else PROTOCOL
    rows = []
    for name, per_user in scores.items():
        top = {u: cold[np.argsort(-s, kind="stable")[:K]].tolist() for u, s in per_user.items()}
        row = {"method": name, "protocol": protocol, "users": len(relevant),
               "cold_videos": len(cold), **ranking_metrics(top, relevant),
               "fit_seconds": round(fit_seconds, 2)}  # fmt: skip
        rows.append(row)
    return rows


def evaluate_cold_titles_only(arts: Artifacts, config: Config) -> list[dict]:
    """Protocol C with every film read from its title, year and genres (no synopsis)."""
    plain = load_dataset(config.replace(synopses=False)).catalog["text"].tolist()
    embeddings, tokens = make_encoder(config).read(plain)  # the same film order
    rows = evaluate_cold(dataclasses.replace(arts, embeddings=embeddings), config, tokens)
    return [{**r, "method": r["method"] + TITLES_ONLY} for r in rows if r["method"] != "random"]


def among_all(arts: Artifacts, fitted: SplitModels, config: Config) -> list[dict]:
    """C-all: cold films (10% of films with a synopsis) placed by the reader, ranked by the
    app's hybrid among all films; recall@20 of their held-out 4–5★ beside the warm model's, and
    nDCG@10 of every viewer's list on all held-out ratings (what placing them costs the rest)."""
    cold = cold_world(arts, fitted, config)
    warm = fitted.recs[config.item_item_weight]
    return [
        _among_row(AMONG_ALL, "warm (trained with their ratings)", warm, fitted.history, cold),
        _among_row(AMONG_ALL, "cold (placed by the trained reader)", cold.placed(1.0),
                   cold.fit.history, cold),
    ]  # fmt: skip


def scale_curve(arts: Artifacts, inner: SplitModels, config: Config) -> list[dict]:
    """C-all on a validation split, the read factors scaled by each of SCALES. Regression
    shrinks a reading towards the mean taste, so a larger scale lifts the cold films' recall,
    but every viewer's nDCG@10 falls as they crowd out what viewers watch: s stays 1."""
    cold = cold_world(arts, inner, config)
    return [_among_row(SCALED, f"cold, read factors × {s:g}", cold.placed(s), cold.fit.history,
                       cold) for s in SCALES]  # fmt: skip


@dataclasses.dataclass
class ColdWorld:
    """A split with 10% of the films with a synopsis made cold, and the reader's reading."""

    split: SplitModels  # the split the cold films come from (its test ratings are judged)
    fit: SplitModels  # refitted without the cold films' ratings
    rows: np.ndarray  # (n_cold,) catalog rows of the cold films
    factors: np.ndarray  # (n_cold, k) as the reader reads them
    bias: np.ndarray  # (n_cold,)
    relevant: dict  # user -> the cold films they rated 4–5★ in the split's test ratings

    def placed(self, scale: float) -> HybridRecommender:
        rec = self.fit.recs[next(iter(self.fit.recs))]
        return _placed(rec, self.rows, self.factors * scale, self.bias)


def cold_world(arts: Artifacts, fitted: SplitModels, config: Config) -> ColdWorld:
    catalog = arts.dataset.catalog
    among = catalog["video_id"][catalog["description"].str.len() > 0]
    _, cold = cold_split(fitted.split, config.seed, among)
    train = fitted.train[~fitted.train["video_id"].isin(cold)]
    cold_fit = fit_on(arts, train, fitted.test, config, weights=(config.item_item_weight,))
    reading = cold_fit.recs[config.item_item_weight].reading
    assert reading is not None  # fit_on always trains the reader
    rows = np.searchsorted(catalog["video_id"], cold)
    side = catalog.iloc[rows]
    factors, bias = reading.reader.read(_subset(arts.tokens, rows), side["genres"], side["year"])
    liked = fitted.test[(fitted.test["rating"] >= 4) & fitted.test["video_id"].isin(cold)]
    relevant = {u: set(g) for u, g in liked.groupby("user_id")["video_id"]}
    return ColdWorld(fitted, cold_fit, rows, factors, bias, relevant)


def _among_row(protocol: str, name: str, engine, history: dict, cold: ColdWorld) -> dict:
    """Recall@20 of the cold films, and nDCG@10 of every viewer on all held-out ratings."""
    top = {u: engine.top_ids(history.get(u, {}), k=AMONG_K).tolist() for u in cold.relevant}
    everyone = cold.split.relevant
    lists = {u: engine.top_ids(history.get(u, {}), k=K).tolist() for u in everyone}
    return {"method": name, "protocol": protocol, "users": len(cold.relevant),
            "cold_videos": len(cold.rows),
            "recall@20": ranking_metrics(top, cold.relevant, k=AMONG_K)[f"recall@{AMONG_K}"],
            "ndcg@10": ranking_metrics(lists, everyone)["ndcg@10"]}  # fmt: skip


def _placed(rec: HybridRecommender, rows, factors, bias) -> HybridRecommender:
    """The engine with some films' MF rows replaced by read ones (the others unchanged), those
    films new uploads to the popularity prior."""
    mf = rec.mf
    f, b = mf.item_factors.clone(), mf.item_bias.clone()
    f[torch.as_tensor(rows)] = torch.as_tensor(factors, dtype=f.dtype)
    b[torch.as_tensor(rows)] = torch.as_tensor(bias, dtype=b.dtype)
    placed = BiasedMF.from_item_side(mf.params, f, b, mf.global_mean)
    unseen = np.isin(np.arange(len(rec.catalog)), rows)  # as the app treats an added video
    return HybridRecommender(
        rec.catalog, rec.embeddings, rec.index, placed, rating_counts=rec.rating_counts,
        config=rec.config, item_item=rec.item_item, reading=rec.reading, unseen=unseen,
    )  # fmt: skip


def _ridge_placed(embeddings, mf: BiasedMF, warm, catalog, cold_rows):
    """Cold films' factors and biases from the ridge attribute map fitted on the warm films."""
    counts = rating_counts(catalog, warm)
    ridge = fit_content_map(
        embeddings, mf.item_factors.numpy(), mf.item_bias.numpy(), counts, catalog=catalog
    )
    side = catalog.iloc[cold_rows]
    return ridge.predict(embeddings[cold_rows], side["genres"], side["year"])


def _subset(tokens: TokenStates, rows) -> TokenStates:
    pairs = [tokens.of_text(int(r)) for r in rows]
    return TokenStates.of([s for s, _ in pairs], [i for _, i in pairs])


def _users(rec, warm, ratings, cold):
    """Relevant cold films per user who rated any, and each user's warm profile."""
    cold_ratings = ratings[ratings["video_id"].isin(cold)]
    history = {u: dict(zip(g["video_id"], g["rating"])) for u, g in warm.groupby("user_id")}
    relevant = {u: set(g) for u, g in cold_ratings.groupby("user_id")["video_id"]}
    return relevant, {u: rec.profile(history.get(u, {})) for u in relevant}
