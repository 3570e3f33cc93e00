"""Where content should earn its place, measured: few-ratings viewers, the long tail, other seeds.

Every slice reuses protocol A's split (75/25 by film). The blend settings (α, the item-item
share) are chosen on a validation split carved from the *training* ratings only, by the same
split rule with another seed; the test ratings are never seen when choosing.

- Few-ratings viewers: each test user's training history is cut to N ratings drawn at random
  (fixed seed); the held-out ratings stay the relevant set, and the user's other training films
  are left out of the ranking, as protocol A leaves out training films.
- Long tail: every protocol A row also carries recall and nDCG on the held-out ratings of films
  with at most topk.TAIL training ratings (users with none of those are not averaged).
- Other seeds: protocol A again on two more split seeds, for the spread.
"""

from __future__ import annotations

import itertools

import numpy as np

from vidrec.coldstart import content_map
from vidrec.config import Config
from vidrec.evaluation.topk import (
    SplitModels,
    fit_on,
    fit_split,
    method_row,
    popularity_top,
    ranking_rows,
    stratified_split,
    tail_relevant,
)
from vidrec.metrics import K, ranking_metrics

FEW = (1, 3, 5, 10)  # training ratings left to each test user
SEEDS = (43, 44)  # protocol A's further split seeds
VALIDATION_SEED = 7  # carves the validation split out of the training ratings
ALPHAS = (0.0, 0.05, 0.1, 0.2, 0.3)  # the blend grid searched on validation
WEIGHTS = (0.0, 0.2, 0.4)  # the item-item share grid searched on validation (0.6 never won)
CUT_SEED = 11  # which training ratings a few-ratings viewer keeps
MAPPED = "content → taste map"  # the ranker mapped_content measures


def choose_on_validation(arts, fitted: SplitModels, config: Config, say=None) -> tuple[dict, list]:
    """The (α, item-item share) with the best validation nDCG@10, and every grid point's row.

    Validation: protocol A's training ratings split 75/25 by film again (VALIDATION_SEED); the
    models are refit on the 75% and each validation user is ranked as the app would.
    """
    train, validation = stratified_split(fitted.train, seed=VALIDATION_SEED)
    inner = fit_on(arts, train, validation, config, say, WEIGHTS)
    recs = inner.recs
    profiles = {u: recs[0.0].profile(inner.history.get(u, {})) for u in inner.relevant}
    rows = []
    for i, (alpha, weight) in enumerate(itertools.product(ALPHAS, WEIGHTS)):
        if say:
            say("Choosing α and the item-item share on validation", i, len(ALPHAS) * len(WEIGHTS))
        top = {u: recs[weight].top_ids(p, k=K, alpha=alpha).tolist() for u, p in profiles.items()}
        score = ranking_metrics(top, inner.relevant)["ndcg@10"]
        rows.append({"protocol": "V: validation split of the training ratings",
                     "method": f"validation α={alpha:g}, item-item {weight:g}", "alpha": alpha,
                     "item_item_weight": weight, "ndcg@10": score})  # fmt: skip
    best = max(rows, key=lambda r: r["ndcg@10"])
    return {"alpha": best["alpha"], "item_item_weight": best["item_item_weight"]}, rows


def mapped_content(rec, profiles: dict, hidden: dict | None = None) -> dict[int, list[int]]:
    """Top K by the Transformer's reading mapped into the taste space, for each profile.

    Every film's text embedding goes through the content→collaborative map (the one cold films
    get their factors from) and is scored against the viewer's preference vector: content that
    has been taught what co-watching means, measured beside the raw-similarity content score.
    """
    catalog = rec.catalog
    factors, _ = content_map(rec).predict(rec.embeddings, catalog["genres"], catalog["year"])
    top = {}
    for user, profile in profiles.items():
        scores = factors @ profile.collab.preference
        hide = list((hidden or {}).get(user, ()))
        scores[
            np.concatenate([profile.rows, rec.videos.rows_of(hide)]) if hide else profile.rows
        ] = -np.inf
        order = np.argsort(-scores, kind="stable")[:K]
        top[user] = rec.video_ids[order[np.isfinite(scores[order])]].tolist()  # tiny catalogs
    return top


def few_ratings(fitted: SplitModels, config: Config, chosen: dict) -> list[dict]:
    """nDCG@10 and recall@10 per N for popularity, collaborative, content and the hybrid."""
    rec = fitted.recs[chosen["item_item_weight"]]
    methods = {"collaborative": 0.0, "content": 1.0, "hybrid": chosen["alpha"]}
    rng = np.random.default_rng(CUT_SEED)
    rows = []
    for n in FEW:
        kept, hidden = _cut(fitted.history, fitted.relevant, n, rng)
        relevant = {u: fitted.relevant[u] for u in kept}
        profiles = {u: rec.profile(kept[u]) for u in kept}
        seen = {u: hidden[u] | set(kept[u]) for u in kept}
        tops = {"popularity": popularity_top(rec, seen, relevant)}
        for name, alpha in methods.items():
            tops[name] = {u: _shown(rec, p, alpha, hidden[u]) for u, p in profiles.items()}
        tops[MAPPED] = mapped_content(rec, profiles, hidden)
        for name, top in tops.items():
            m = ranking_metrics(top, relevant)
            rows.append({"protocol": "F: few ratings per test viewer", "method": name,
                         "n_ratings": n, "users": len(relevant), "ndcg@10": m["ndcg@10"],
                         "recall@10": m["recall@10"]})  # fmt: skip
    return rows


def app_defaults_row(fitted: SplitModels, config: Config) -> dict:
    """The hybrid at the app's default blend, which was tuned on this test split: labelled so."""
    name = "hybrid, app defaults (tuned on this test split)"
    methods = [(name, config.alpha, config.item_item_weight)]
    (row,) = ranking_rows(fitted, methods, tail_relevant(fitted))
    return row


def mapped_row(fitted: SplitModels, config: Config) -> dict:
    """Protocol A's row for the content → taste map ranker, with its long-tail metrics."""
    rec = fitted.recs[config.item_item_weight]
    profiles = {u: rec.profile(fitted.history.get(u, {})) for u in fitted.relevant}
    top = mapped_content(rec, profiles)
    tail = tail_relevant(fitted)
    return method_row(MAPPED, top, fitted.relevant, fitted.fit_seconds, rec, tail)


def other_seeds(arts, config: Config, chosen: dict, say=None) -> list[dict]:
    """Protocol A's main methods on each further split seed, the settings chosen as for seed 42."""
    rows = []
    for seed in SEEDS:
        fitted = fit_split(arts, config, say, seed=seed, weights=(0.0, chosen["item_item_weight"]))
        methods = [("collaborative", 0.0, chosen["item_item_weight"]), ("content", 1.0, 0.0),
                   ("hybrid", chosen["alpha"], chosen["item_item_weight"])]  # fmt: skip
        for row in ranking_rows(fitted, methods, tail_relevant(fitted), say):
            rows.append({**row, "protocol": f"S: protocol A on split seed {seed}", "seed": seed})
    return rows


def _cut(history, relevant, n: int, rng) -> tuple[dict, dict]:
    """(kept, hidden): n random training ratings per test user with at least n, and the rest."""
    kept, hidden = {}, {}
    for user in relevant:
        mine = history.get(user, {})
        if len(mine) < n:
            continue
        ids = list(mine)
        pick = set(rng.choice(len(ids), n, replace=False).tolist())
        kept[user] = {ids[i]: mine[ids[i]] for i in pick}
        hidden[user] = {ids[i] for i in range(len(ids)) if i not in pick}
    return kept, hidden


def _shown(rec, profile, alpha: float, hidden: set[int]) -> list[int]:
    """The top K the app would show, past the user's hidden training films."""
    ids = rec.top_ids(profile, k=K + len(hidden), alpha=alpha)
    return [int(v) for v in ids if int(v) not in hidden][:K]
