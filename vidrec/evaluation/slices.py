"""Where content should earn its place, measured: few-ratings viewers, the long tail, other seeds.

Every slice reuses protocol A's split (75/25 by film). The blend settings (α, the item-item
share, how hard a dislike pushes) are chosen on a validation split carved from the *training*
ratings only, by the same split rule with another seed; the test ratings are never seen when
choosing. The rule: the best liked-protocol nDCG@10 among the settings whose all-ratings
nDCG@10 is within TOLERANCE of the best one (a list should bring what viewers like without
giving up what they watch). Then a new viewer's popularity prior and α on validation viewers
cut to a few ratings (choose_prior).

- Few-ratings viewers: each test user's training history is cut to N ratings drawn at random
  (fixed seed); the held-out ratings stay the relevant set, and the user's other training films
  are left out of the ranking, as protocol A leaves out training films.
- Long tail: every protocol A row also carries recall and nDCG on the held-out ratings of films
  with at most topk.TAIL training ratings (users with none of those are not averaged).
- Other seeds: protocol A again on two more split seeds, for the spread.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from vidrec.coldstart import content_map
from vidrec.config import Config
from vidrec.evaluation.topk import (
    VALIDATION_SEED,
    SplitModels,
    as_named,
    fit_on,
    fit_split,
    liked_metrics,
    method_row,
    popularity_top,
    ranking_rows,
    stratified_split,
)
from vidrec.metrics import K, ranking_metrics
from vidrec.recommender import HybridRecommender

FEW = (1, 3, 5, 10)  # training ratings left to each test user
SEEDS = (43, 44)  # protocol A's further split seeds
ALPHAS = (0.0, 0.05, 0.1, 0.2)  # the blend grid searched on validation (0.3 never won)
WEIGHTS = (0.0, 0.2, 0.4)  # the item-item share grid searched on validation (0.6 never won)
DISLIKES = (0.0, 0.1, 0.25)  # dislike_weight grid (1.0 cost 0.03 validation nDCG@10)
TOLERANCE = 0.005  # all-ratings nDCG@10 a choice may give up for the liked protocol
CUT_SEED = 11  # which training ratings a few-ratings viewer keeps
MAPPED = "content → taste map"  # the ranker mapped_content measures
RAW_CONTENT, RAW_HYBRID = "content (raw reading)", "hybrid (raw reading)"


def choose_on_validation(arts, fitted: SplitModels, config: Config, say=None) -> tuple[dict, list]:
    """The blend settings validation chooses (see the module's rule), and every grid row.

    Validation: protocol A's training ratings split 75/25 by film again (VALIDATION_SEED); the
    models are refit on the 75% and each validation user is ranked as the app would.
    """
    inner = validation_fit(arts, fitted, config, say, WEIGHTS)
    null = config.null_similarity  # the trained reading has no attention, so no null key
    grid = [(a, w, d, null) for d, a, w in itertools.product(DISLIKES, ALPHAS, WEIGHTS)]
    rows: list[dict] = []
    for dislike in DISLIKES:
        # a new viewer's α is chosen after, with the prior: the grid ranks at exactly its α
        recs = {w: r.with_settings(dislike_weight=dislike, alpha_new=0.0)
                for w, r in inner.recs.items()}  # fmt: skip
        profiles = {u: recs[0.0].profile(inner.history.get(u, {})) for u in inner.relevant}
        for alpha, weight, _, null in (g for g in grid if g[2] == dislike):
            if say:
                say("Choosing the blend on validation", len(rows), len(grid))
            rec = recs[weight]
            top = {u: rec.top_ids(p, k=K, alpha=alpha).tolist() for u, p in profiles.items()}
            rows.append(_grid_row(top, inner, alpha, weight, dislike, null))
    best = max(r["ndcg@10"] for r in rows)
    chosen = max((r for r in rows if r["ndcg@10"] >= best - TOLERANCE),
                 key=lambda r: r["liked_ndcg@10"])  # fmt: skip
    chosen["chosen"] = True
    engine = inner.recs[chosen["item_item_weight"]].with_settings(
        dislike_weight=chosen["dislike_weight"]
    )
    prior, prior_rows = choose_prior(inner, engine, chosen["alpha"])
    return {**{k: chosen[k] for k in BLEND}, **prior}, rows + prior_rows


def validation_fit(arts, fitted: SplitModels, config: Config, say=None, weights=None):
    """The models refit on a validation split of the split's training ratings (the same rule,
    VALIDATION_SEED): where settings are chosen, never on the test ratings."""
    train, validation = stratified_split(fitted.train, seed=VALIDATION_SEED)
    return fit_on(arts, train, validation, config, say, weights)


def choose_prior(inner: SplitModels, rec: HybridRecommender, alpha: float) -> tuple[dict, list]:
    """The popularity prior's weight and fade, then a new viewer's α, chosen on validation
    viewers cut to 1, 3 and 5 ratings: the best mean nDCG@10 over the three (both fade out, so
    longer histories do not see them). This is how the blend depends on a viewer's rating count.
    """
    rng = np.random.default_rng(CUT_SEED)
    cuts = []
    for n in PRIOR_FEW:
        kept, hidden = _cut(inner.history, inner.relevant, n, rng)
        cuts.append((n, {u: rec.profile(kept[u]) for u in kept}, hidden))
    rows = []
    for weight, fade in itertools.product(PRIOR_WEIGHTS, PRIOR_FADES):
        engine = rec.with_settings(popularity_weight=weight, popularity_fade=fade, alpha_new=0.0)
        rows.append({"protocol": "V-prior: validation viewers cut to 1, 3, 5 ratings",
                     "method": f"validation prior weight {weight:g}, fade {fade:g}",
                     "popularity_weight": weight, "popularity_fade": fade,
                     **_on_cuts(engine, cuts, alpha, inner)})  # fmt: skip
    prior = {k: _best(rows)[k] for k in PRIOR}
    leans = [{"protocol": LEAN_PROTOCOL, "method": f"validation new-viewer α {a:g}",
              "alpha_new": a, **_on_cuts(rec.with_settings(**prior, alpha_new=a), cuts, alpha,
                                         inner)}
             for a in ALPHA_NEWS]  # fmt: skip
    return {**prior, "alpha_new": _best(leans)["alpha_new"]}, rows + leans


def _on_cuts(engine: HybridRecommender, cuts, alpha: float, inner: SplitModels) -> dict:
    """nDCG@10 on each validation cut and their mean."""
    scores = {}
    for n, profiles, hidden in cuts:
        top = {u: _shown(engine, p, alpha, hidden[u]) for u, p in profiles.items()}
        scores[n] = ranking_metrics(top, {u: inner.relevant[u] for u in top})["ndcg@10"]
    return {"ndcg@10": float(np.mean(list(scores.values()))),
            **{f"ndcg@10 at {n}": v for n, v in scores.items()}}  # fmt: skip


def _best(rows: list[dict]) -> dict:
    """The row with the best nDCG@10 (the first on a tie), marked chosen."""
    best = max(rows, key=lambda r: r["ndcg@10"])
    best["chosen"] = True
    return best


BLEND = ("alpha", "item_item_weight", "dislike_weight", "null_similarity")
PRIOR = ("popularity_weight", "popularity_fade")
LEAN = ("alpha_new",)
LEAN_PROTOCOL = "V-lean: validation viewers cut to 1, 3, 5 ratings"
ALPHA_NEWS = (0.0, 0.2, 0.4, 0.6)  # a new viewer's α, fading with the prior
CHOSEN = BLEND + PRIOR + LEAN
# what the fitted engines read; α too, for the rows that rank at the engine's own α (C-all)
QUERY_TIME = ("alpha", "dislike_weight", "null_similarity", *PRIOR, *LEAN)
PRIOR_WEIGHTS = (0.5, 1.0, 2.0)  # the prior's weight for a viewer with no ratings
# ratings until it is gone: at most 10, so that by their tenth rating a viewer's own ratings,
# not popularity, explain their list (the personas have 8–10); 20 scored 0.001 higher
PRIOR_FADES = (5.0, 10.0)
PRIOR_FEW = (1, 3, 5)


def tuned(fitted: SplitModels, chosen: dict) -> SplitModels:
    """The split's engines with the chosen query-time settings (the fits are shared)."""
    changes = {k: chosen[k] for k in QUERY_TIME}
    recs = {w: rec.with_settings(**changes) for w, rec in fitted.recs.items()}
    return dataclasses.replace(fitted, recs=recs)


def _grid_row(top, inner: SplitModels, alpha, weight, dislike, null) -> dict:
    """One validation grid point: both protocols on the validation ratings."""
    name = f"validation α={alpha:g}, item-item {weight:g}, dislike {dislike:g}, null {null:g}"
    return {"protocol": "V: validation split of the training ratings", "method": name,
            "alpha": alpha, "item_item_weight": weight, "dislike_weight": dislike,
            "null_similarity": null, "ndcg@10": ranking_metrics(top, inner.relevant)["ndcg@10"],
            **liked_metrics(top, inner.relevant, inner.liked, inner.disliked)}  # fmt: skip


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
    raw = rec.with_settings(trained_reading=False)
    methods = {"collaborative": (rec, 0.0), "content": (rec, 1.0), "hybrid": (rec, chosen["alpha"]),
               RAW_CONTENT: (raw, 1.0), RAW_HYBRID: (raw, chosen["alpha"])}  # fmt: skip
    rng = np.random.default_rng(CUT_SEED)
    rows = []
    for n in FEW:
        kept, hidden = _cut(fitted.history, fitted.relevant, n, rng)
        relevant = {u: fitted.relevant[u] for u in kept}
        profiles = {u: rec.profile(kept[u]) for u in kept}
        seen = {u: hidden[u] | set(kept[u]) for u in kept}
        tops = {"popularity": popularity_top(rec, seen, relevant)}
        for name, (engine, alpha) in methods.items():
            engine = as_named(engine, name)
            tops[name] = {u: _shown(engine, p, alpha, hidden[u]) for u, p in profiles.items()}
        tops[MAPPED] = mapped_content(rec, profiles, hidden)
        liked = {u: fitted.liked[u] for u in kept if u in fitted.liked}
        for name, top in tops.items():
            m = ranking_metrics(top, relevant)
            rows.append({"protocol": "F: few ratings per test viewer", "method": name,
                         "n_ratings": n, "users": len(relevant), "ndcg@10": m["ndcg@10"],
                         "recall@10": m["recall@10"],
                         **liked_metrics(top, relevant, liked, fitted.disliked)})  # fmt: skip
    return rows


def raw_rows(fitted: SplitModels, config: Config) -> list[dict]:
    """Protocol A's content and hybrid rows with the raw Transformer reading (no reader)."""
    raw = dataclasses.replace(fitted, recs={w: r.with_settings(trained_reading=False)
                                            for w, r in fitted.recs.items()})  # fmt: skip
    w = config.item_item_weight
    return ranking_rows(raw, [(RAW_CONTENT, 1.0, w), (RAW_HYBRID, config.alpha, w)])


def mapped_row(fitted: SplitModels, config: Config) -> dict:
    """Protocol A's row for the content → taste map ranker, with its long-tail metrics."""
    rec = fitted.recs[config.item_item_weight]
    profiles = {u: rec.profile(fitted.history.get(u, {})) for u in fitted.relevant}
    top = mapped_content(rec, profiles)
    return method_row(MAPPED, top, fitted, fitted.fit_seconds, rec)


def other_seeds(arts, config: Config, chosen: dict, say=None) -> list[dict]:
    """Protocol A's main methods on each further split seed, the settings chosen as for seed 42."""
    rows = []
    for seed in SEEDS:
        fitted = fit_split(arts, config, say, seed=seed, weights=(0.0, chosen["item_item_weight"]))
        methods = [("collaborative", 0.0, chosen["item_item_weight"]), ("content", 1.0, 0.0),
                   ("hybrid", chosen["alpha"], chosen["item_item_weight"])]  # fmt: skip
        for row in ranking_rows(fitted, methods, say):
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
