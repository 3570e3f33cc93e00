"""Ranking metrics at k, shared by every evaluation protocol and every trainer's early stopping.

Relevance is binary (a held-out video is relevant, anything else is not) and each viewer's
score is normalised by the best score possible for them before averaging over viewers, as in
the public MovieLens top-K protocol (microsoft/recommenders).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

K = 10  # every list is judged on its first ten picks


def discounts(k: int = K) -> np.ndarray:
    """1 / log2(rank + 1) for ranks 1..k: what a hit at each position is worth in DCG."""
    return 1.0 / np.log2(np.arange(2, k + 2))


def ndcg(hits: np.ndarray, n_relevant: int, k: int = K) -> float:
    """Binary nDCG@k of one list from its hit flags; a list shorter than k simply has no more."""
    disc = discounts(k)
    hits = np.asarray(hits)[:k]
    return float((hits * disc[: len(hits)]).sum() / disc[: min(n_relevant, k)].sum())


def mean_ndcg(lists: Iterable[tuple[Sequence[int], set[int]]], k: int = K) -> float:
    """Average binary nDCG@k over (ranked ids, relevant ids) pairs; 0 when there are none."""
    total, count = 0.0, 0
    for ranked, relevant in lists:
        total += ndcg(np.isin(np.asarray(ranked)[:k], list(relevant)), len(relevant), k)
        count += 1
    return total / max(count, 1)


def ranking_metrics(top: dict[int, list[int]], relevant: dict[int, set[int]], k: int = K) -> dict:
    """Precision, recall, binary nDCG and MAP at k, averaged over users with held-out videos."""
    sums = dict.fromkeys(("precision", "recall", "ndcg", "map"), 0.0)
    for user, rel in relevant.items():
        hits = np.array([v in rel for v in top.get(user, [])[:k]] + [False] * k)[:k]
        n_hit = hits.sum()
        sums["precision"] += n_hit / k
        sums["recall"] += n_hit / len(rel)
        sums["ndcg"] += ndcg(hits, len(rel), k)
        precision_at = np.cumsum(hits) / np.arange(1, k + 1)
        sums["map"] += (precision_at * hits).sum() / min(len(rel), k)
    n = max(len(relevant), 1)
    return {f"{name}@{k}": value / n for name, value in sums.items()}
