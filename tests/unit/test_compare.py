"""Compare view's logic on hand-made lists whose overlap, ranks and mix are counted on paper."""

import math

import numpy as np
import pandas as pd
import pytest

from vidrec.errors import DataError
from vidrec.present.compare import compare, genre_shares, jaccard, long_tail_share

GENRES = {1: "Drama|Comedy", 2: "Drama", 3: "Horror", 4: "", 5: "Drama|Horror", 6: "Comedy"}
COUNTS = {1: 100, 2: 20, 3: 21, 4: 0, 5: 5, 6: 300}  # 2 and 4 are long tail, 3 just is not


def frame(ids):
    return pd.DataFrame({"video_id": ids, "genres": [GENRES[v] for v in ids]})


@pytest.fixture
def three():
    """A = 1 2 3 4, B = 3 1 5, C = 6: A and B share 1 and 3, C shares nothing."""
    return compare([frame([1, 2, 3, 4]), frame([3, 1, 5]), frame([6])], COUNTS)


def test_each_title_ranked_in_every_list(three):
    assert three.ranks[0].tolist() == [[1, 2, 0], [2, 0, 0], [3, 1, 0], [4, 0, 0]]
    assert three.ranks[1].tolist() == [[3, 1, 0], [1, 2, 0], [0, 3, 0]]
    assert three.ranks[2].tolist() == [[0, 0, 1]]
    assert three.shared(0).tolist() == [1, 0, 1, 0]
    assert three.shared(1).tolist() == [1, 1, 0]
    assert three.shared(2).tolist() == [0]


def test_pairs_overlap_jaccard_and_rank_shift(three):
    pairs = three.pairs
    assert pairs[["first", "second", "shared"]].values.tolist() == [[0, 1, 2], [0, 2, 0], [1, 2, 0]]
    assert pairs["jaccard"].tolist() == [pytest.approx(2 / 5), 0.0, 0.0]
    assert pairs["mean_shift"].iloc[0] == pytest.approx(1.5)  # video 1: |1 - 2|, video 3: |3 - 1|
    assert pairs["mean_shift"].iloc[1:].isna().all()  # nothing shared, no shift to average


def test_long_tail_and_genre_shares_per_list(three):
    mix = three.mix
    assert mix["videos"].tolist() == [4, 3, 1]
    assert mix["long_tail"].tolist() == [pytest.approx(0.5), pytest.approx(1 / 3), 0.0]
    genres = ["Comedy", "Drama", "Horror"]
    assert mix.loc[0, genres].tolist() == [0.25, 0.5, 0.25]
    assert mix.loc[1, genres].tolist() == pytest.approx([1 / 3, 2 / 3, 2 / 3])
    assert mix.loc[2, genres].tolist() == [1.0, 0.0, 0.0]


def test_top_genres_commonest_first_ties_by_name_and_absent_ones_left_out(three):
    assert three.top_genres(0) == [("Drama", 0.5), ("Comedy", 0.25), ("Horror", 0.25)]
    assert three.top_genres(1, n=2) == [("Drama", pytest.approx(2 / 3)), ("Horror", 2 / 3)]
    assert three.top_genres(2) == [("Comedy", 1.0)]


def test_two_lists_with_the_same_titles_are_told_apart_by_position():
    same = compare([frame([1, 2]), frame([2, 1])], COUNTS)
    assert same.ranks[0].tolist() == [[1, 2], [2, 1]]
    assert same.pairs["jaccard"].tolist() == [1.0]
    assert same.pairs["mean_shift"].tolist() == [1.0]


def test_an_empty_list_compares_without_dividing_by_zero():
    result = compare([frame([]), frame([1])], COUNTS)
    assert result.ranks[0].shape == (0, 2)
    assert result.pairs[["shared", "jaccard"]].values.tolist() == [[0, 0.0]]
    assert result.mix["videos"].tolist() == [0, 1]
    assert math.isnan(result.mix["long_tail"].iloc[0])  # unknown, not 0%
    assert result.mix.loc[0, ["Comedy", "Drama"]].tolist() == [0.0, 0.0]


def test_jaccard_known_values():
    assert jaccard([1, 2, 3], [3, 2, 1]) == 1.0
    assert jaccard([1, 2], [3]) == 0.0
    assert jaccard([1, 2, 3], [2, 3, 4, 5]) == pytest.approx(2 / 5)
    assert jaccard([], []) == 1.0


def test_long_tail_limit_is_inclusive():
    assert long_tail_share(np.array([20, 21])) == 0.5
    assert long_tail_share([20, 21], limit=21) == 1.0
    assert math.isnan(long_tail_share([]))


def test_a_genre_listed_twice_counts_once():
    assert genre_shares(["Drama|Drama", "Comedy"]) == {"Comedy": 0.5, "Drama": 0.5}


def test_a_video_without_a_rating_count_is_refused():
    with pytest.raises(DataError, match=r"no rating count for video\(s\) \[7\]"):
        compare([pd.DataFrame({"video_id": [7], "genres": ["Drama"]})], COUNTS)


def test_a_frame_without_genres_is_refused():
    with pytest.raises(DataError, match="a compared list needs column"):
        compare([pd.DataFrame({"video_id": [1]})], COUNTS)
