"""Does a 1★ push away? The check behind "a rating means what the viewer said".

For each viewer of the fidelity check (the personas and 60 MovieLens users with their latest
ratings), the viewer rates their current top pick 1★. Then no card may cite that rating as a
reason, and the film's 20 nearest item-item neighbours (the largest weights of its row) must
fall in the ranking of all unrated films on average.
"""

from __future__ import annotations

import numpy as np

from vidrec.attribution import recommend_with_reasons
from vidrec.evaluation.fidelity import viewers
from vidrec.recommender import HybridRecommender, Ranking

PROTOCOL = "D: a 1★ rating of the top pick"
NEIGHBOURS = 20
DISLIKE = 1.0


def dislike_rows(rec: HybridRecommender, ratings) -> list[dict]:
    """One row: viewers checked, cards citing the 1★, and how far its neighbours moved."""
    if rec.item_item is None:
        return []
    cited, moves = 0, []
    for before in viewers(rec, ratings):
        ranking = rec.rank(before, rec.query(k=10))
        film = int(rec.video_ids[ranking.rows[0]])
        after = rec.rank({**before, film: DISLIKE}, ranking.query)
        cards = recommend_with_reasons(rec, after)
        cited += int((cards["because_id"] == film).sum())
        near = _neighbours(rec, ranking.rows[0], ranking.profile.rows)
        moves.append(float(np.mean(_positions(after, near) - _positions(ranking, near))))
    return [
        {
            "protocol": PROTOCOL,
            "method": "hybrid",
            "viewers": len(moves),
            "cards citing the 1★": cited,
            "neighbours' mean rank change": float(np.mean(moves)),
            "viewers whose neighbours fell": float(np.mean(np.array(moves) > 0)),
        }
    ]


def _neighbours(rec: HybridRecommender, row: int, rated: np.ndarray) -> np.ndarray:
    """The film's NEIGHBOURS largest item-item weights among the films not rated before."""
    weights = rec.item_item.weights[row].astype(np.float64)  # type: ignore[union-attr]
    weights[np.concatenate([rated, [row]])] = -np.inf
    return np.argsort(-weights, kind="stable")[:NEIGHBOURS]


def _positions(ranking: Ranking, rows: np.ndarray) -> np.ndarray:
    """1-based ranks of rows among every candidate the ranking scored (best first)."""
    order = np.argsort(-ranking.scores, kind="stable")
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(1, len(order) + 1)
    return rank[ranking.positions(rows)].astype(np.float64)
