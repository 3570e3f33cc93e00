"""Lists side by side: what they share, where each ranks the others' picks, and their mix.

Pure functions of recommend() frames (a ``video_id`` and a ``genres`` column, best first), so
the Compare view only draws what is computed here. Lists are positional: two lists may carry
the same label (two equal α values) and still be told apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from vidrec.data.schema import genre_list
from vidrec.errors import DataError
from vidrec.present.style import require_columns

LONG_TAIL_MAX = 20  # a film with this many ratings or fewer is long tail (few viewers found it)
PAIR_COLUMNS = ["first", "second", "shared", "jaccard", "mean_shift"]


@dataclass(frozen=True)
class Comparison:
    """Two or more lists for one viewer, compared: overlap, rank shifts, long tail and genres."""

    ranks: list[np.ndarray]  # per list, (len_i, n_lists) 1-based rank of its titles, 0 if absent
    pairs: pd.DataFrame  # one row per pair of lists, columns as PAIR_COLUMNS
    mix: pd.DataFrame  # one row per list: videos, long_tail, then one share column per genre

    def shared(self, i: int) -> np.ndarray:
        """(len_i,) how many of the other lists hold each of list i's titles."""
        return (self.ranks[i] > 0).sum(axis=1) - 1

    def top_genres(self, i: int, n: int = 3) -> list[tuple[str, float]]:
        """List i's n commonest genres with their shares, commonest first (ties by name)."""
        shares = self.mix.iloc[i].drop(["videos", "long_tail"]).astype(float)
        shares = shares[shares > 0]
        order = sorted(shares.items(), key=lambda gs: (-gs[1], gs[0]))
        return order[:n]


def compare(lists: Sequence[pd.DataFrame], rating_counts: Mapping[int, int]) -> Comparison:
    """Compare recommend() frames; ``rating_counts`` gives each listed video's number of ratings."""
    for frame in lists:
        require_columns(frame, ["video_id", "genres"], "a compared list")
    ids = [[int(v) for v in frame["video_id"]] for frame in lists]
    return Comparison(
        ranks=[rank_matrix(mine, ids) for mine in ids],
        pairs=pair_table(ids),
        mix=mix_table(lists, rating_counts),
    )


def jaccard(a: Sequence[int], b: Sequence[int]) -> float:
    """|A ∩ B| / |A ∪ B|: 1 for the same titles in any order, 0 for none shared (two empty: 1)."""
    union = set(a) | set(b)
    return len(set(a) & set(b)) / len(union) if union else 1.0


def rank_matrix(mine: Sequence[int], lists: Sequence[Sequence[int]]) -> np.ndarray:
    """(len(mine), len(lists)) each title's 1-based rank in every list, 0 where it is absent."""
    where = [{v: r + 1 for r, v in enumerate(ids)} for ids in lists]
    return np.array([[w.get(v, 0) for w in where] for v in mine], dtype=np.int64).reshape(
        len(mine), len(lists)
    )


def pair_table(lists: Sequence[Sequence[int]]) -> pd.DataFrame:
    """Per pair of lists: titles shared, Jaccard, and the mean |rank shift| of the shared ones."""
    rows = []
    for i, j in combinations(range(len(lists)), 2):
        shifts = rank_matrix(sorted(set(lists[i]) & set(lists[j])), [lists[i], lists[j]])
        moved = np.abs(shifts[:, 0] - shifts[:, 1])
        mean_shift = float(moved.mean()) if len(moved) else float("nan")
        rows.append((i, j, len(shifts), jaccard(lists[i], lists[j]), mean_shift))
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


def long_tail_share(counts: Sequence[int], limit: int = LONG_TAIL_MAX) -> float:
    """Share of videos with at most ``limit`` ratings (NaN for an empty list)."""
    counts = np.asarray(counts)
    return float((counts <= limit).mean()) if len(counts) else float("nan")


def genre_shares(genres: Sequence[str]) -> dict[str, float]:
    """Share of videos listing each genre; a film counts for each of its genres, so the shares
    can add up to more than 1."""
    n = len(genres)
    counts: dict[str, int] = {}
    for cell in genres:
        for genre in set(genre_list(cell)):
            counts[genre] = counts.get(genre, 0) + 1
    return {genre: c / n for genre, c in sorted(counts.items())}


def mix_table(lists: Sequence[pd.DataFrame], rating_counts: Mapping[int, int]) -> pd.DataFrame:
    """Per list: its length, long-tail share and genre shares (0 for a genre it lacks)."""
    rows = [_mix(frame, rating_counts) for frame in lists]
    genres = sorted({g for row in rows for g in row} - {"videos", "long_tail"})
    table = pd.DataFrame(rows, columns=["videos", "long_tail", *genres])
    return table.fillna({g: 0.0 for g in genres})


def _mix(frame: pd.DataFrame, rating_counts: Mapping[int, int]) -> dict[str, float]:
    ids = [int(v) for v in frame["video_id"]]
    unknown = [v for v in ids if v not in rating_counts]
    if unknown:
        raise DataError(f"no rating count for video(s) {unknown[:10]}")
    counts = [rating_counts[v] for v in ids]
    shares = genre_shares(frame["genres"].tolist())
    return {"videos": len(ids), "long_tail": long_tail_share(counts), **shares}
