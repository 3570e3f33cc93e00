"""Explanation fidelity: does taking away the rating a card cites take the pick away?

The deletion test from explanation research. For each viewer's top picks, remove one rating,
re-fold the viewer, re-rank, and see how far the pick falls. Four ways to choose that rating:
the one the card cites (the largest exact contribution, vidrec.attribution), a random one, the
one most alike in content (the reason cards gave before the exact split), and the best possible
one, found by trying each. A faithful reason comes close to the best possible.
"""

from __future__ import annotations

import numpy as np

from vidrec.attribution import counterfactual, explain
from vidrec.recommender import HybridRecommender
from vidrec.viewer.personas import load_personas, resolve_ratings

PROTOCOL = "X: explanation fidelity (deletion test)"
ML_VIEWERS, LATEST, PICKS, DEPTH, TOP = 60, 12, 3, 200, 10
SEED = 5
CHOICES = ("cited by the card", "random rating", "content-nearest rating", "best possible")


def viewers(rec: HybridRecommender, ratings) -> list[dict[int, float]]:
    """The demo's personas plus ML_VIEWERS MovieLens users (seeded), each with their latest
    LATEST ratings: the viewers a presenter shows, and ordinary ones."""
    out = [resolve_ratings(p, rec.catalog) for p in load_personas()]
    users = np.random.default_rng(SEED).choice(
        np.unique(ratings["user_id"]), ML_VIEWERS, replace=False
    )
    for user in users:
        latest = ratings[ratings["user_id"] == user].nlargest(LATEST, "timestamp")
        out.append(dict(zip(latest["video_id"].astype(int), latest["rating"].astype(float))))
    return out


def fidelity_rows(rec: HybridRecommender, ratings) -> list[dict]:
    """One row per way of choosing the rating to remove: share of picks that leave the top 10,
    and the mean rank after removal (a pick that falls past DEPTH counts as DEPTH + 1)."""
    rng = np.random.default_rng(SEED)
    after: dict[str, list[int]] = {c: [] for c in CHOICES}
    for ratings_of in viewers(rec, ratings):
        ranking = rec.rank(ratings_of, rec.query(k=PICKS))
        prof, picks = ranking.profile, rec.video_ids[ranking.rows]
        att = explain(rec, ranking)
        content = rec.attention(prof, picks) * prof.weights  # (picks, m): the old reason
        cited = att.total_by_rating().argmax(axis=1)  # (picks,) the card's rating
        for i, video in enumerate(picks):
            ranks = [
                r or DEPTH + 1
                for r in counterfactual(rec, ranking, video, depth=DEPTH).ranks_without
            ]
            chosen = {
                CHOICES[0]: int(cited[i]),
                CHOICES[1]: int(rng.integers(prof.n)),
                CHOICES[2]: int(content[i].argmax()),
                CHOICES[3]: int(np.argmax(ranks)),
            }
            for name, j in chosen.items():
                after[name].append(ranks[j])
    return [_row(name, np.array(ranks)) for name, ranks in after.items()]


def _row(name: str, ranks: np.ndarray) -> dict:
    return {
        "protocol": PROTOCOL,
        "method": name,
        "picks": len(ranks),
        "left_top10": float((ranks > TOP).mean()),
        "mean_rank_after": float(ranks.mean()),
    }
