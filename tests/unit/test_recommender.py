"""HybridRecommender: planted structure on a synthetic catalog, and hand-worked known answers.

The first half checks behaviour on a 60-video catalog whose content clusters and rating groups
agree (a sci-fi fan gets sci-fi). The second half pins the maths on a six-video catalog small
enough to work on paper: every column of ``recommend`` is an expected number, not a re-run of
the code's own functions.
"""

import numpy as np
import pandas as pd
import pytest
import torch

from vidrec.config import Config
from vidrec.errors import DataError, UnknownVideoError
from vidrec.index import MaxInnerProductIndex, VideoIndex
from vidrec.itemitem import ItemItem
from vidrec.mf import BiasedMF, MFParams
from vidrec.recommender import HybridRecommender, spread, zscore

N_VIDEOS, N_USERS, DIM = 60, 80, 16
GENRES = ["Sci-Fi", "Romance"]


def make_recommender(alpha=0.3):
    """Even ids are sci-fi, odd are romance: content clusters and rating groups agree."""
    rng = np.random.default_rng(0)
    ids = np.arange(1, N_VIDEOS + 1) * 10  # ids are not rows: catches id/row mix-ups
    group = np.arange(N_VIDEOS) % 2
    centres = rng.normal(size=(2, DIM))
    emb = centres[group] + 0.6 * rng.normal(size=(N_VIDEOS, DIM))
    emb = (emb / np.linalg.norm(emb, axis=1, keepdims=True)).astype(np.float32)
    catalog = pd.DataFrame(
        {
            "video_id": ids,
            "title": [f"Film {i} ({1980 + i % 20})" for i in range(N_VIDEOS)],
            "year": pd.array([1980 + i % 20 for i in range(N_VIDEOS)], dtype="Int64"),
            "genres": [GENRES[g] for g in group],
            "description": "",
            "tags": "",
            "text": "",
        }
    )
    users, items, stars = [], [], []
    for u in range(N_USERS):
        for i in rng.choice(np.flatnonzero(group == u % 2), 12, replace=False):
            users.append(u), items.append(i), stars.append(float(rng.choice([4, 5])))
    mf = BiasedMF(MFParams(factors=8, epochs=8, reg=1.0, rating_reg=1.0))
    mf.fit(np.array(users), np.array(items), np.array(stars), N_USERS, N_VIDEOS)
    counts = np.bincount(items, minlength=N_VIDEOS)
    index = VideoIndex.build(ids, emb)
    return HybridRecommender(
        catalog, emb, index, mf, rating_counts=counts, config=Config(alpha=alpha)
    )


@pytest.fixture(scope="module")
def rec():
    return make_recommender()


SCIFI_FAN = {10: 5.0, 30: 5.0, 50: 4.0, 70: 5.0, 90: 4.0, 20: 1.0}  # rows 0,2,4,6,8 + a romance 1★


def test_scifi_fan_gets_scifi_and_never_rated_videos(rec):
    got = rec.recommend(SCIFI_FAN, k=10)
    assert (got["genres"] == "Sci-Fi").mean() >= 0.9
    assert not set(got["video_id"]) & set(SCIFI_FAN)


def test_score_parts_add_up_and_stars_are_on_scale(rec):
    got = rec.recommend(SCIFI_FAN, k=10)
    parts = got[["content_score", "collab_score", "popularity_score"]].sum(axis=1)
    np.testing.assert_allclose(parts, got["score"], atol=1e-5)
    assert got["score"].is_monotonic_decreasing
    assert got["predicted_rating"].between(1, 5).all()


def test_new_viewer_gets_popular_and_varied_list(rec):
    got = rec.recommend({}, k=10)
    assert len(got) == 10
    assert set(got["genres"]) == set(GENRES)


def test_attention_rows_leave_the_rest_to_the_null_key(rec):
    att = rec.attention(SCIFI_FAN, [40, 60, 11 * 10])
    assert att.shape == (3, len(SCIFI_FAN))
    assert (att >= 0).all() and (att.sum(axis=1) < 1).all() and (att.sum(axis=1) > 0).all()


def test_diversity_spreads_the_list(rec):
    ratings = {10: 5.0, 30: 5.0, 11 * 10: 4.0}
    plain = rec.recommend(ratings, k=8, diversity=0.0)
    varied = rec.recommend(ratings, k=8, diversity=0.8)

    def mean_sim(frame):
        e = rec.embeddings[rec.videos.rows_of(frame["video_id"])]
        s = e @ e.T
        return (s.sum() - np.trace(s)) / (len(e) * (len(e) - 1))

    assert mean_sim(varied) < mean_sim(plain)


def test_allowed_mask_filters(rec):
    allowed = (rec.catalog["genres"] == "Romance").to_numpy()
    got = rec.recommend(SCIFI_FAN, k=10, allowed=allowed)
    assert (got["genres"] == "Romance").all() and len(got) == 10


@pytest.mark.parametrize(
    "ratings, error",
    [
        ({99999: 5}, UnknownVideoError),
        ({10: 7}, DataError),
        ({10: float("nan")}, DataError),
        ({10: "five"}, DataError),
        ({"x": 5}, DataError),
        ({10: 0.0}, DataError),
    ],
)
def test_bad_ratings_are_rejected_clearly(rec, ratings, error):
    with pytest.raises(error):
        rec.recommend(ratings)


@pytest.mark.parametrize("k", [0, -1, 1001, 2.5, True])
def test_bad_k_is_rejected(rec, k):
    with pytest.raises(DataError, match="k must be"):
        rec.recommend(SCIFI_FAN, k=k)


def test_alpha_out_of_range_is_rejected(rec):
    with pytest.raises(DataError, match="alpha"):
        rec.recommend(SCIFI_FAN, alpha=1.5)


def test_similar_excludes_itself_and_stays_in_cluster(rec):
    got = rec.videos.similar(10, k=5)
    assert 10 not in set(got["video_id"])
    assert (got["genres"] == "Sci-Fi").mean() >= 0.8


def test_find_title(rec):
    assert rec.videos.find_title("Film 3 (1983)") == 40
    assert rec.videos.find_title("film 3 (1983)") == 40
    assert rec.videos.find_title("Film 59") == 600
    with pytest.raises(UnknownVideoError, match="matches"):
        rec.videos.find_title("Film 1")
    with pytest.raises(UnknownVideoError, match="Did you mean"):
        rec.videos.find_title("Flim 3 (1983)")


def test_retrieval_path_for_large_catalogs_agrees_with_exact_scoring(rec, monkeypatch):
    exact = rec.recommend(SCIFI_FAN, k=10)
    monkeypatch.setattr("vidrec.recommender.EXACT_SCORING_MAX", 10)  # force FAISS + MF retrieval
    retrieved = rec.recommend(SCIFI_FAN, k=10)
    assert not set(retrieved["video_id"]) & set(SCIFI_FAN)
    assert len(set(exact["video_id"]) & set(retrieved["video_id"])) >= 8


# ---- hand-worked known answers ----------------------------------------------------------------
# Six videos at rows 0..5 with ids 101..106 (ids are not rows). Content: 3-d unit embeddings.
HAND_IDS = [101, 102, 103, 104, 105, 106]
HAND_TITLES = ["Star Cruiser", "Paris Letters", "Deep Sea", "Moon Garden", "Comet Kiss", "Sea Song"]
HAND_EMB = [
    [1.0, 0.0, 0.0],  # row 0
    [0.0, 1.0, 0.0],  # row 1
    [0.0, 0.0, 1.0],  # row 2
    [0.6, 0.0, 0.8],  # row 3
    [0.8, 0.6, 0.0],  # row 4
    [0.0, 0.6, 0.8],  # row 5
]
# MF item side, 2 factors, global mean 3. With unobserved_weight 0 and reg 1 the preference
# fold-in is p = (VᵀV + I)⁻¹ Vᵀ1 over the rated rows' factors V; the stars head is a ridge with
# rating_reg 1 on the factors and bias_reg 2 on the bias column.
HAND_FACTORS = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, -1.0], [1.0, 0.0], [0.0, -1.0]]
HAND_BIAS = [0.5, -0.5, 0.25, 1.0, -0.25, -3.0]
HAND_MF = MFParams(
    factors=2, reg=1.0, rating_reg=1.0, bias_reg=2.0, observed_weight=1.0, unobserved_weight=0.0
)
# Rating counts 2^k - 1, so log1p(count) = k·ln 2 and z(log1p(count)) = z(k), k = 8,6,5,0,10,7.
HAND_COUNTS = [255, 63, 31, 0, 1023, 127]
# Item-item weights (zero diagonal); a viewer's score sums the rows of what they rated.
# Rows 0 + 1 give (0.2, 0.6, -0.2, -0.6) on rows 2..5; columns 0 + 1 give (0, -0.4, 0.6, 0.4).
HAND_B = [
    [0.0, 0.3, 0.1, 0.4, 0.0, -0.3],
    [0.3, 0.0, 0.1, 0.2, -0.2, -0.3],
    [0.0, 0.0, 0.0, 0.5, 0.1, 0.0],
    [-0.4, 0.0, 0.5, 0.0, 0.0, 0.2],
    [0.5, 0.1, 0.1, 0.0, 0.0, 0.0],
    [0.2, 0.2, 0.0, 0.2, 0.0, 0.0],
]
HAND_CONFIG = {
    "alpha": 0.4,
    "item_item_weight": 0.25,
    "popularity_weight": 0.8,
    "popularity_fade": 4.0,
    "alpha_new": 0.0,  # α as set, whatever the rating count (its own test raises it)
    "temperature": 0.5,
    "null_similarity": 0.3,  # the null key's logit is 0.3 / 0.5 = 0.6
    "dislike_weight": 1.0,  # a rating below 3★ has target −1
}
SPACE_FAN = {101: 5.0, 102: 1.0}  # loves row 0 = e1, hates row 1 = e2; candidates rows 2..5
THREE_RATED = {101: 5.0, 102: 1.0, 103: 4.0}  # rated rows are e1, e2, e3: similarity = coordinates
SQRT5 = np.sqrt(5.0)


def make_hand(encoder=None, counts=HAND_COUNTS, ids=HAND_IDS, **config_changes):
    """The six-video recommender; config_changes override HAND_CONFIG."""
    emb = np.array(HAND_EMB, np.float32)
    catalog = pd.DataFrame(
        {
            "video_id": ids,
            "title": HAND_TITLES,
            "year": pd.array([2000 + r for r in range(6)], dtype="Int64"),
            "genres": ["Sci-Fi", "Romance", "Drama", "Sci-Fi", "Romance", "Drama"],
        }
    )
    mf = BiasedMF.from_item_side(
        HAND_MF, torch.tensor(HAND_FACTORS), torch.tensor(HAND_BIAS), global_mean=3.0
    )
    item_item = ItemItem(np.array(HAND_B, np.float32), reg=1.0)
    config = Config(**{**HAND_CONFIG, **config_changes})
    index = VideoIndex.build(np.array(ids), emb)
    counts = np.array(counts)
    return HybridRecommender(
        catalog,
        emb,
        index,
        mf,
        rating_counts=counts,
        config=config,
        encoder=encoder,
        item_item=item_item,
    )


@pytest.fixture(scope="module")
def hand():
    return make_hand()


def by_id(frame: pd.DataFrame, column: str, ids) -> np.ndarray:
    return frame.set_index("video_id").loc[ids, column].to_numpy(np.float64)


def test_popularity_weight_fades_linearly_to_zero(hand):
    # β(n) = 0.8 · max(0, 1 - n / 4)
    weights = [hand.popularity_weight(n) for n in range(7)]
    assert weights == pytest.approx([0.8, 0.6, 0.4, 0.2, 0.0, 0.0, 0.0], abs=1e-12)


def test_a_new_viewers_alpha_leans_on_content_and_fades_like_the_prior():
    lean = make_hand(alpha=0.1, alpha_new=0.6)  # fade 4: α(n) = max(0.1, 0.6 · (1 - n / 4))
    assert [lean.alpha_for(n, 0.1) for n in range(5)] == pytest.approx([0.6, 0.45, 0.3, 0.15, 0.1])
    assert lean.alpha_for(1, 0.8) == 0.8  # a set α above the lean is kept
    ranking = lean.rank(SPACE_FAN)  # two ratings: α 0.3, the query keeps the α it was asked
    assert (ranking.alpha, ranking.query.alpha) == (pytest.approx(0.3), 0.1)
    assert ranking.weights[0] == pytest.approx(0.3)
    np.testing.assert_allclose(ranking.parts[:, 0], 0.3 * ranking.z[0], rtol=1e-6)
    plain = make_hand(alpha=0.1).rank(SPACE_FAN, make_hand(alpha=0.1).query(alpha=0.3))
    np.testing.assert_allclose(ranking.scores, plain.scores, rtol=1e-6)  # = asking for α 0.3
    assert make_hand(alpha=0.1).rank(SPACE_FAN).alpha == 0.1  # alpha_new 0: as asked


def test_new_viewer_scores_are_the_popularity_prior(hand):
    got = hand.recommend({}, k=6)
    # no ratings: content and collaborative parts are 0; popularity = β(0) · z(k) with β(0) = 0.8,
    # k = (8, 6, 5, 0, 10, 7): mean 6, deviations (2, 0, -1, -6, 4, 1), std √(58/6) = 3.10913
    expected = 0.8 * np.array([2, 0, -1, -6, 4, 1]) / np.sqrt(58 / 6)
    np.testing.assert_allclose(expected, [0.514614, 0, -0.257307, -1.543842, 1.029228, 0.257307])
    np.testing.assert_allclose(by_id(got, "popularity_score", HAND_IDS), expected, atol=1e-5)
    np.testing.assert_allclose(by_id(got, "score", HAND_IDS), expected, atol=1e-5)
    assert (got["content_score"] == 0).all() and (got["collab_score"] == 0).all()
    more_rated_first = np.array(HAND_IDS)[np.argsort(HAND_COUNTS)[::-1]]
    assert np.all(np.diff(by_id(got, "popularity_score", more_rated_first)) < 0)


@pytest.mark.parametrize(
    "diversity, expected",
    [
        # a new viewer gets at least diversity 0.3: gain = 0.7·rel - 0.3·max_sim, rel = k / 10.
        # 1st Comet Kiss (k 10). Similarity to it: row 0 0.8, row 5 0.36, row 2 0, row 1 0.6.
        # 2nd: row 0 0.56-0.24 = 0.32, row 5 0.49-0.108 = 0.382, row 2 0.35, row 1 0.24 -> row 5,
        # not the second most popular row 0 (too like Comet Kiss). Then rows 0, 1, 2, 3.
        (0.0, [105, 106, 101, 102, 103, 104]),
        # 0.6: gain = 0.4·rel - 0.6·sim; 2nd: row 2 0.2 beats row 5 0.064 and row 0 -0.16
        (0.6, [105, 103, 102, 101, 106, 104]),
    ],
)
def test_new_viewer_list_is_led_by_the_most_popular_then_diversified(hand, diversity, expected):
    """MMR changes the second pick; plain popularity order is 105, 101, 106, 102, 103, 104."""
    got = hand.recommend({}, k=6, diversity=diversity)
    assert got["video_id"].tolist() == expected


def test_popular_lists_most_rated_first(hand):
    assert hand.videos.popular(6)["video_id"].tolist() == [105, 101, 106, 102, 103, 104]


def test_attention_divides_similarity_by_temperature(hand):
    # rated rows are e1, e2, e3, so a video's similarities are its coordinates; τ = 0.5.
    # Moon Garden (0.6, 0, 0.8): softmax over (1.2, 0, 1.6) and the null key's 0.6, which
    # keeps its own share: (e^1.2, 1, e^1.6) / (e^1.2 + 1 + e^1.6 + e^0.6)
    e12, e16, e06 = np.exp(1.2), np.exp(1.6), np.exp(0.6)
    expected = np.array([[e12, 1, e16], [e16, e12, 1], [1, e12, e16]]) / (e12 + 1 + e16 + e06)
    np.testing.assert_allclose(expected[0], [0.299237, 0.090129, 0.446409], atol=1e-6)
    got = hand.attention(THREE_RATED, [104, 105, 106])
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_sharp_temperature_gives_one_hot_attention_not_nan():
    """exp(similarity / τ) overflows for τ = 0.001 unless the softmax subtracts the row max."""
    rec = make_hand(temperature=0.001)
    # Moon Garden: logits (600, 0, 800) -> all weight on Deep Sea (e3)
    got = rec.attention(THREE_RATED, [104])
    np.testing.assert_allclose(got, [[0.0, 0.0, 1.0]], atol=1e-6)


def test_profile_content_is_the_unit_signed_pull(hand):
    # (5 - 2.5)·e1 + (1 - 2.5)·e2 = (2.5, -1.5, 0), norm √8.5
    expected = np.array([2.5, -1.5, 0.0]) / np.sqrt(8.5)
    np.testing.assert_allclose(expected, [0.857493, -0.514496, 0.0], atol=1e-6)
    np.testing.assert_allclose(hand.profile(SPACE_FAN).content, expected, atol=1e-6)
    # a 2.5★ rating pulls nowhere: the interest vector stays zero
    np.testing.assert_array_equal(hand.profile({101: 2.5}).content, np.zeros(3))


def test_content_scores_are_attention_times_stars_minus_neutral(hand):
    # weights = stars - 2.5 = (2.5, -1.5, 1.5); Moon Garden: (2.5·e^1.2 - 1.5 + 1.5·e^1.6) / s,
    # s = e^1.2 + 1 + e^1.6 + e^0.6 (the null key's value is 0, its weight only in s)
    e12, e16, e06 = np.exp(1.2), np.exp(1.6), np.exp(0.6)
    attention = np.array([[e12, 1, e16], [e16, e12, 1], [1, e12, e16]]) / (e12 + 1 + e16 + e06)
    expected = attention @ np.array([2.5, -1.5, 1.5])
    np.testing.assert_allclose(expected, [1.282514, 0.802361, 0.446080], atol=1e-6)
    got = hand.content_scores(hand.profile(THREE_RATED), np.array([3, 4, 5]))
    np.testing.assert_allclose(got, expected, atol=1e-5)


RECOMMEND_COLUMNS = [
    "video_id",
    "title",
    "year",
    "genres",
    "score",
    "content_score",
    "collab_score",
    "popularity_score",
    "predicted_rating",
]
HIT_COLUMNS = ["video_id", "title", "year", "genres", "similarity"]


def test_default_list_lengths(rec):
    """recommend, similar and search return 10 rows by default; popular returns 20."""
    assert len(rec.recommend(SCIFI_FAN)) == 10
    assert len(rec.videos.similar(10)) == 10
    assert len(rec.videos.popular()) == 20
    encoder = FakeEncoder(rec.embeddings[0])
    searcher = HybridRecommender(
        rec.catalog,
        rec.embeddings,
        rec.index,
        rec.mf,
        rating_counts=rec.rating_counts,
        config=rec.config,
        encoder=encoder,
    )
    assert len(searcher.videos.search("space")) == 10


def test_k_bounds_are_inclusive(hand):
    assert len(hand.recommend(SPACE_FAN, k=1)) == 1
    assert hand.videos.popular(1)["video_id"].tolist() == [105]
    assert len(hand.videos.popular(1000)) == 6 and len(hand.videos.similar(101, k=1000)) == 5
    with pytest.raises(DataError, match=r"^k must be a whole number from 1 to 1000, got 1001$"):
        hand.videos.popular(1001)


def test_recommend_frame_columns_and_dtypes(hand):
    got = hand.recommend(THREE_RATED, k=3)
    assert got.columns.tolist() == RECOMMEND_COLUMNS
    assert got.index.tolist() == [0, 1, 2]
    # Moon Garden is near both liked videos; Comet Kiss and Sea Song each near the 1★ one
    assert got["title"].tolist() == ["Moon Garden", "Comet Kiss", "Sea Song"]
    assert got["year"].tolist() == [2003, 2004, 2005]
    for column in ["score", "content_score", "collab_score", "popularity_score"]:
        assert got[column].dtype == np.float32, column
    assert got["predicted_rating"].dtype == np.float32


def test_a_profile_is_accepted_in_place_of_ratings(hand):
    prof = hand.profile(SPACE_FAN)
    assert prof.ratings == {101: 5.0, 102: 1.0}
    assert prof.stars.dtype == np.float32 and prof.content.dtype == np.float32
    pd.testing.assert_frame_equal(hand.recommend(prof, k=4), hand.recommend(SPACE_FAN, k=4))
    np.testing.assert_allclose(hand.predict(prof, [103]), [3.25], atol=1e-5)


def test_profile_content_of_a_weak_rating_is_still_a_unit_vector(hand):
    # one 3★ rating pulls (3 - 2.5)·e1 = 0.5·e1: normalised to e1, not dropped as too small
    np.testing.assert_allclose(hand.profile({101: 3.0}).content, [1.0, 0.0, 0.0], atol=1e-6)
    empty = hand.profile({}).content
    assert empty.dtype == np.float32 and not empty.any()


def test_ratings_on_the_scale_ends_are_accepted(hand):
    assert hand.check_ratings({101: 0.5, 102: 5}) == {101: 0.5, 102: 5.0}


def test_bad_ratings_messages(hand):
    with pytest.raises(DataError, match=r"^rating for video 101 is 7; stars go from 0\.5 to 5$"):
        hand.check_ratings({101: 7})
    # an unknown id does not stop the walk: the bad stars after it are still reported
    with pytest.raises(DataError, match=r"^rating for video 101 is 9\.0; stars go"):
        hand.check_ratings({1: 5.0, 101: 9.0})
    with pytest.raises(UnknownVideoError) as caught:  # every unknown id, the first 10 shown
        hand.check_ratings({**{v: 5.0 for v in range(1, 13)}, 101: 4.0})
    assert str(caught.value) == "unknown video id(s): 1, 2, 3, 4, 5, 6, 7, 8, 9, 10"


def test_knob_messages(hand):
    with pytest.raises(DataError, match=r"^alpha must be a number from 0 to 1, got 1\.5$"):
        hand.recommend(SPACE_FAN, alpha=1.5)
    with pytest.raises(DataError, match=r"^diversity must be a number from 0 to 1, got -0\.1$"):
        hand.recommend(SPACE_FAN, diversity=-0.1)
    message = r"^the filter mask must be 6 booleans, one per video; got int64 of shape \(6,\)$"
    with pytest.raises(DataError, match=message):
        hand.recommend(SPACE_FAN, allowed=np.ones(6, np.int64))


def test_rows_of_checks_ids(hand):
    assert hand.videos.rows_of([106, 101]).tolist() == [5, 0]
    assert hand.videos.rows_of([]).dtype == np.int64
    assert hand.attention(SPACE_FAN, []).shape == (0, 2)
    with pytest.raises(UnknownVideoError) as caught:
        hand.videos.rows_of([101, *range(1, 13)])
    assert str(caught.value) == "unknown video id(s): 1, 2, 3, 4, 5, 6, 7, 8, 9, 10"
    with pytest.raises(DataError, match=r"^video ids must be a flat list, got shape \(1, 2\)$"):
        hand.videos.rows_of([[101, 102]])
    # a bool is not an id, even next to real ids (numpy would turn it into 1)
    with pytest.raises(
        DataError, match=r"^a video id must be a non-negative whole number, got True"
    ):
        hand.videos.rows_of([True, 101])


def test_constructor_rejects_models_of_another_catalog():
    base = make_hand()
    args = (base.catalog, base.embeddings, base.index, base.mf)
    kw = dict(rating_counts=HAND_COUNTS, config=base.config)
    factors = np.array(HAND_FACTORS, np.float32)
    with pytest.raises(DataError, match=r"^collab index has 5 rows, MF has 6$"):
        HybridRecommender(*args, **kw, collab_index=MaxInnerProductIndex(factors[:5], nlist=1))
    index = MaxInnerProductIndex(factors, nlist=1)
    assert HybridRecommender(*args, **kw, collab_index=index).collab_index is index
    # B's rows are what the check counts: 7 rows cannot belong to a 6-video MF
    with pytest.raises(DataError, match=r"^item-item weights cover 7 videos$"):
        HybridRecommender(*args, **kw, item_item=ItemItem(np.zeros((7, 6), np.float32), reg=1.0))


def test_catalog_is_reindexed_and_ids_are_int64():
    """A filtered catalog (index 10..15, int32 ids) is held as rows 0..5 with int64 ids."""
    base = make_hand()
    catalog = base.catalog.assign(video_id=base.catalog["video_id"].astype(np.int32))
    catalog.index = range(10, 16)
    rec = HybridRecommender(
        catalog, base.embeddings, base.index, base.mf, rating_counts=HAND_COUNTS, config=base.config
    )
    assert rec.video_ids.dtype == np.int64 and rec.popularity.dtype == np.float32
    assert rec.catalog.columns.tolist() == ["video_id", "title", "year", "genres"]
    assert rec.catalog.index.tolist() == [0, 1, 2, 3, 4, 5]


# ---- content and collaborative parts at their edges -----------------------------------------
def test_new_viewer_attention_and_content_are_empty(hand):
    got = hand.attention({}, [103, 104])
    assert got.shape == (2, 0) and got.dtype == np.float32
    content = hand.content_scores(hand.profile({}), np.array([2, 3]))
    assert content.dtype == np.float32 and content.tolist() == [0.0, 0.0]


def test_one_rating_weighs_each_video_by_its_similarity(hand):
    """Regression: without the null key one rating took all the attention, so content was
    1.5 for every video and one rating never steered the content side."""
    # rated Star Cruiser e1 (4★, weight 1.5); similarities 0, 0.6, 0.8 of rows 1, 3, 4:
    # content = 1.5 · e^(s/0.5) / (e^(s/0.5) + e^0.6)
    got = hand.content_scores(hand.profile({101: 4.0}), np.array([1, 3, 4]))
    np.testing.assert_allclose(got, [0.531516, 0.968484, 1.096588], atol=1e-5)


def test_sharp_attention_subtracts_each_rows_own_max():
    """Regression: a global max would underflow a row whose best logit is far below it."""
    rec = make_hand(temperature=0.001)
    # Star Cruiser's best logit is 1000, Moon Garden's 800: exp(800 - 1000) is 0 in float32
    got = rec.attention(THREE_RATED, [101, 104])
    np.testing.assert_allclose(got, [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], atol=1e-6)


def test_attention_is_float32_for_float64_embeddings():
    base = make_hand()
    emb = np.array(HAND_EMB, np.float64)
    rec = HybridRecommender(
        base.catalog, emb, base.index, base.mf, rating_counts=HAND_COUNTS, config=base.config
    )
    assert rec.attention(THREE_RATED, [104]).dtype == np.float32


def test_a_single_candidate_scores_zero_in_every_part(hand):
    """Each part is z-scored over the candidates: one candidate has no spread, so 0."""
    ratings = {101: 5.0, 102: 1.0, 103: 4.0, 104: 2.0, 105: 3.0}
    got = hand.recommend(ratings, k=3)
    assert got["video_id"].tolist() == [106]
    assert got[["score", "content_score", "collab_score", "popularity_score"]].eq(0).all().all()


def test_no_candidates_give_an_empty_list(hand):
    got = hand.recommend({}, k=3, allowed=np.zeros(6, bool))  # new viewer: MMR diversity 0.3
    assert got.columns.tolist() == RECOMMEND_COLUMNS and len(got) == 0


def collab_part(rec, ratings) -> np.ndarray:
    """The z-scored collaborative part over every unrated row (α = 0), in row order."""
    ranking = rec.rank(ratings, rec.query(k=10, alpha=0.0))
    return ranking.parts[np.argsort(ranking.pool), 1]


# SPACE_FAN's fold-in: targets (1, −1) (the 1★ pushes away), A = VᵀV + I = 2I over rows 0 and
# 1, p = ((1, 0) − (0, 1)) / 2 = (0.5, −0.5). Rows 2..5 score (0, 1, 0.5, 0.5): z = (−√2, √2, 0, 0).
SPACE_FAN_MF_Z = np.array([-1.0, 1.0, 0.0, 0.0]) * np.sqrt(2.0)


def test_empty_item_item_model_leaves_mf_alone():
    rec = make_hand()
    rec.item_item = ItemItem(np.zeros((0, 0), np.float32), reg=1.0)
    got = collab_part(rec, SPACE_FAN)
    np.testing.assert_allclose(got, SPACE_FAN_MF_Z, atol=1e-5)


def test_item_item_scores_zero_for_videos_added_after_it_was_built():
    """B covers rows 0..4 only (row 5 added later): row 5 scores 0 in the item-item part."""
    rec = make_hand()
    rec.item_item = ItemItem(np.array(HAND_B, np.float32)[:5, :5], reg=1.0)
    got = collab_part(rec, SPACE_FAN)
    pairs = np.array([0.0, 0.2, 0.2, 0.0])  # row 0 − row 1 of B on rows 2..4, then 0
    z_pairs = (pairs - pairs.mean()) / pairs.std()
    expected = 0.75 * SPACE_FAN_MF_Z + 0.25 * z_pairs
    np.testing.assert_allclose(got, expected, atol=1e-5)


# ---- popular, similar, search ------------------------------------------------------------------
def test_popular_frame_and_ties_keep_catalog_order():
    # 300 videos in 3 popularity levels: within a level, catalog order (stable sort)
    n = 300
    counts = np.array([7, 3, 15] * (n // 3))
    rec = make_sized(n, counts=counts)
    got = rec.videos.popular(1000)
    expected = sorted(range(n), key=lambda r: (-counts[r], r))
    assert got["video_id"].tolist() == [1000 + r for r in expected]
    assert got.columns.tolist() == ["video_id", "title", "year", "genres"]
    assert got.index.tolist() == list(range(n))


def test_similar_is_a_frame_of_cosines(hand):
    got = hand.videos.similar(101, k=2)  # Star Cruiser = e1: Comet Kiss 0.8, Moon Garden 0.6
    assert got.columns.tolist() == HIT_COLUMNS and got.index.tolist() == [0, 1]
    assert got["video_id"].tolist() == [105, 104]
    assert got["similarity"].dtype == np.float32
    np.testing.assert_allclose(got["similarity"], [0.8, 0.6], atol=1e-6)


class FakeEncoder:
    """encode_query returns a fixed vector and records the text it was given."""

    def __init__(self, vector):
        self.vector = np.array(vector, np.float32)
        self.texts = []

    def encode_query(self, text):
        self.texts.append(text)
        return self.vector


def test_search_embeds_the_text_and_finds_the_nearest_videos():
    encoder = FakeEncoder([0.0, 0.6, 0.8])  # = Sea Song's embedding
    got = make_hand(encoder=encoder).videos.search("ocean ballads", k=3)
    assert encoder.texts == ["ocean ballads"]
    # inner products: Sea Song 1, Deep Sea 0.8, Moon Garden 0.64, Paris Letters 0.6
    assert got.columns.tolist() == HIT_COLUMNS and got.index.tolist() == [0, 1, 2]
    assert got["video_id"].tolist() == [106, 103, 104]
    np.testing.assert_allclose(got["similarity"], [1.0, 0.8, 0.64], atol=1e-6)
    assert got["similarity"].dtype == np.float32


def test_search_without_encoder_says_so(hand):
    with pytest.raises(
        DataError, match=r"^search needs the content encoder, which was not loaded$"
    ):
        hand.videos.search("space")


def make_sized(n, counts, emb=None, factors=None):
    """n videos with ids 1000 + row, 3-d embeddings (default: all along e1), random MF."""
    emb = np.tile([1.0, 0.0, 0.0], (n, 1)) if emb is None else np.asarray(emb)
    emb = emb.astype(np.float32)
    catalog = pd.DataFrame(
        {
            "video_id": 1000 + np.arange(n),
            "title": [f"Video {r}" for r in range(n)],
            "year": pd.array([2000] * n, dtype="Int64"),
            "genres": ["Drama"] * n,
        }
    )
    if factors is None:
        factors = np.random.default_rng(0).normal(size=(n, 2))
    factors = torch.tensor(np.asarray(factors, np.float64))
    mf = BiasedMF.from_item_side(HAND_MF, factors, torch.zeros(n, dtype=factors.dtype), 3.0)
    index = VideoIndex.build(catalog["video_id"].to_numpy(), emb)
    return HybridRecommender(
        catalog, emb, index, mf, rating_counts=np.asarray(counts), config=Config()
    )


# ---- diversity re-ranking: the pool and the relevance scale --------------------------------
def make_pool_catalog():
    """130 videos ranked by popularity = row. Row 0 is e1; rows 100 and 105 are -e1 (the most
    unlike it), row 115 is e3; every other row is g = (0.5, 0.866, 0): 0.5 like row 0."""
    n = 130
    emb = np.tile([0.5, np.sqrt(0.75), 0.0], (n, 1))
    emb[0], emb[100], emb[105], emb[115] = [1, 0, 0], [-1, 0, 0], [-1, 0, 0], [0, 0, 1]
    return make_sized(n, counts=n - np.arange(n), emb=emb)


@pytest.mark.parametrize(
    "k, expected_rows",
    [
        # pool = top max(10k, 100) = 100 rows: -e1 at row 100 is just outside. Diversity 1 picks
        # the least similar: row 0, then g (0.5 < 1), then g again in rank order.
        (10, list(range(10))),
        # pool = 110 rows: -e1 (row 100) is picked 2nd; row 105 is -e1 again (similarity 1 to
        # it), so g follows; row 115 (e3, similarity 0 to all picks) is outside the pool
        (11, [0, 100, *range(1, 10)]),
    ],
)
def test_diversity_picks_only_from_the_top_of_the_ranking(k, expected_rows):
    rec = make_pool_catalog()
    got = rec.recommend({}, k=k, diversity=1.0)
    assert got["video_id"].tolist() == [1000 + r for r in expected_rows]


def test_diversity_among_equal_scores_picks_the_least_similar():
    """Equal popularity: every score is 0 and relevance is flat (1), so similarity decides."""
    rec = make_hand(counts=[5] * 6)
    allowed = np.isin(HAND_IDS, [103, 104, 105])  # Deep Sea e3, Moon Garden, Comet Kiss
    # first Deep Sea (catalog order); similarity to it: Moon Garden 0.8, Comet Kiss 0
    got = rec.recommend({}, k=3, allowed=allowed)
    assert got["video_id"].tolist() == [103, 105, 104]


def test_diversity_scale_does_not_depend_on_score_spread():
    """Relevance is min-max scaled: a list with scores spread < 1 re-ranks like a wide one."""
    got = make_hand(popularity_weight=0.2).recommend({}, k=6)  # spread 0.64
    assert got["video_id"].tolist() == [105, 106, 101, 102, 103, 104]


# ---- title look-up ---------------------------------------------------------------------------
def with_titles(titles):
    base = make_hand()
    catalog = base.catalog.assign(title=titles)
    return HybridRecommender(
        catalog, base.embeddings, base.index, base.mf, rating_counts=HAND_COUNTS, config=base.config
    )


@pytest.fixture(scope="module")
def titled():
    return with_titles(["ALIEN", "Alien", "Aliens", "Heat", "The Heat", "C++ Rising"])


def test_find_title_exact_then_case_then_literal_substring(titled):
    assert titled.videos.find_title("Alien") == 102  # exact beats the case-insensitive pair
    assert titled.videos.find_title("  Aliens ") == 103
    assert (
        titled.videos.find_title("heat") == 104
    )  # case-insensitive, unique; "The Heat" contains it
    assert titled.videos.find_title("c++") == 106  # literal, not a regular expression
    assert titled.videos.find_title("RISING") == 106


@pytest.mark.parametrize(
    "text, message",
    [
        ("eat", "'eat' matches 2 titles, e.g. Heat [id 104]; The Heat [id 105]"),
        ("  ", "no video titled ''."),  # empty matches nothing, not everything
        ("zzzz", "no video titled 'zzzz'."),
        ("\ud800", "no video titled '?'."),  # a lone surrogate is replaced, not an error
        ("x" * 1000, "no video titled '" + "x" * 38 + "…."),
        ("x" * 1001, "no video titled '" + "x" * 38 + "… (titles are shorter)"),
    ],
)
def test_find_title_messages(titled, text, message):
    with pytest.raises(UnknownVideoError) as caught:
        titled.videos.find_title(text)
    assert str(caught.value) == message


def test_find_title_suggests_close_titles(hand, rec):
    # difflib ratio ≥ 0.5: Moon Garden 0.63, Deep Sea 0.5 (not Star Cruiser, 0.4)
    with pytest.raises(UnknownVideoError) as caught:
        hand.videos.find_title("Moon Sea")
    assert str(caught.value) == "no video titled 'Moon Sea'. Did you mean: Moon Garden; Deep Sea?"
    with pytest.raises(UnknownVideoError) as caught:  # 7 titles are close: the best 5
        rec.videos.find_title("Flim 3 (1983)")
    close = "Film 3 (1983); Film 43 (1983); Film 23 (1983); Film 53 (1993); Film 38 (1998)"
    assert str(caught.value) == f"no video titled 'Flim 3 (1983)'. Did you mean: {close}?"


def test_find_title_lists_the_first_8_of_many_matches(rec):
    with pytest.raises(UnknownVideoError) as caught:
        rec.videos.find_title("Film 1")
    films = "; ".join(
        f"Film {i} ({1980 + i % 20}) [id {(i + 1) * 10}]" for i in [1, *range(10, 17)]
    )
    assert str(caught.value) == f"'Film 1' matches 11 titles, e.g. {films}"


# ---- retrieval for large catalogs ------------------------------------------------------------
def spy_searches(monkeypatch, rec):
    """Record (query, k) of every query the recommender sends the content index (batched)."""
    calls = []
    search_many = rec.index.search_many

    def spy(queries, k):
        calls.extend((np.array(query), k) for query in queries)
        return search_many(queries, k)

    monkeypatch.setattr(rec.index, "search_many", spy)
    return calls


def test_exact_scoring_up_to_the_limit_queries_no_index(monkeypatch):
    rec = make_hand()
    monkeypatch.setattr("vidrec.recommender.EXACT_SCORING_MAX", 4)  # SPACE_FAN leaves 4 unrated
    calls = spy_searches(monkeypatch, rec)
    assert len(rec.recommend(SPACE_FAN, k=4)) == 4
    assert calls == []


def test_retrieval_queries_the_interest_and_each_loved_video(monkeypatch):
    rec = make_hand()
    monkeypatch.setattr("vidrec.recommender.EXACT_SCORING_MAX", 0)
    pools = []
    candidates = rec.candidates
    monkeypatch.setattr(rec, "candidates", lambda p, n, a: pools.append(n) or candidates(p, n, a))
    calls = spy_searches(monkeypatch, rec)
    # weights 2.5, -1.5, 0.5, 0: loved = Star Cruiser (e1) and Deep Sea (e3), 2.5★ is neutral
    viewer = {101: 5.0, 102: 1.0, 103: 3.0, 104: 2.5}
    rec.recommend(viewer, k=11)  # pool n = max(200, 20·11) = 220, so n // 4 + 1 = 56 per query
    interest = rec.profile(viewer).content
    assert [k for _, k in calls] == [56, 56, 56] and pools == [220]
    np.testing.assert_allclose(
        np.stack([q for q, _ in calls]), [interest, HAND_EMB[0], HAND_EMB[2]]
    )
    calls.clear()
    rec.recommend(viewer, k=10)  # n = 200 -> 51
    assert [k for _, k in calls] == [51, 51, 51] and pools == [220, 200]
    calls.clear()
    rec.recommend({101: 2.5}, k=10)  # no interest vector, nothing loved: no content query
    assert calls == []


def test_retrieval_queries_at_most_the_20_latest_loved_videos(rec, monkeypatch):
    monkeypatch.setattr("vidrec.recommender.EXACT_SCORING_MAX", 0)
    calls = spy_searches(monkeypatch, rec)
    loved = [10 * (r + 1) for r in range(22)]  # rows 0..21, all 5★
    rec.recommend(dict.fromkeys(loved, 5.0), k=10)
    assert len(calls) == 21  # the interest vector, then rows 2..21
    np.testing.assert_allclose(np.stack([q for q, _ in calls[1:]]), rec.embeddings[2:22])


def test_retrieval_candidates_by_hand(monkeypatch):
    rec = make_hand()
    monkeypatch.setattr("vidrec.recommender.EXACT_SCORING_MAX", 0)
    # one 2.5★ rating of Moon Garden (row 3, factors (1, -1)): neutral for content, so no
    # content query. Popular: the top n + 1 = 2 rows, Comet Kiss (row 4) and Star Cruiser
    # (row 0). Collaborative: a dislike, target −1, p = −(VᵀV + I)⁻¹Vᵀ1 = (−1, 1)/3, scores
    # (−1/3, 1/3, 0, −2/3, −1/3, −1/3): the top 1 is row 1. So the candidates are rows 0, 1, 4.
    prof = rec.profile({104: 2.5})
    assert rec.candidates(prof, 1).tolist() == [0, 1, 4]
    assert rec._collab_rows(prof.collab, 1).tolist() == [1]


def test_collab_index_replaces_the_mf_scan():
    base = make_hand()
    # an index over the negated factors: its best rows are the scan's worst
    index = MaxInnerProductIndex(-np.array(HAND_FACTORS, np.float32), nlist=1)
    rec = HybridRecommender(
        base.catalog,
        base.embeddings,
        base.index,
        base.mf,
        rating_counts=HAND_COUNTS,
        config=base.config,
        collab_index=index,
    )
    prof = rec.profile({104: 4.0})  # p = (1, -1)/3: -V·p = (-1/3, 1/3, 0, -2/3, -1/3, -1/3)
    assert rec._collab_rows(prof.collab, 2).tolist() == [1, 2]


def test_rows_of_found_with_unsorted_ids():
    rec = make_hand(ids=[104, 101, 106, 102, 105, 103])
    assert rec.videos.rows_of_found(np.array([106, 101, 103, 104])).tolist() == [2, 1, 5, 0]


def test_equal_scores_keep_catalog_order():
    """Ties are common (equal popularity); the ranking is a stable sort of the score."""
    n = 300
    counts = np.array([3, 7] * (n // 2))  # two popularity levels, alternating rows
    rec = make_sized(n, counts=counts, factors=np.zeros((n, 2)))  # no collaborative signal
    # one rating: content is the same for every video (identical embeddings), so only the
    # popularity level separates the scores: the count-7 rows (odd rows) in catalog order
    got = rec.recommend({1000: 4.0}, k=10)
    assert got["video_id"].tolist() == [1000 + r for r in range(1, 21, 2)]


@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
def test_top_ids_are_the_ids_recommend_lists_for_a_viewer_or_their_profile(hand, alpha):
    """The evaluation ranks through top_ids; it must be the list the app shows."""
    for viewer in ({}, SPACE_FAN, {101: 1.0, 104: 5.0}):
        want = hand.recommend(viewer, k=4, alpha=alpha)["video_id"].tolist()
        assert hand.top_ids(viewer, k=4, alpha=alpha).tolist() == want
        assert hand.top_ids(hand.profile(viewer), k=4, alpha=alpha).tolist() == want


def test_a_part_every_candidate_shares_adds_nothing():
    """Regression: a signal constant up to float32 rounding once had its noise z-scored to
    full weight (±1e6 per-rating terms in the attribution)."""
    noisy = np.full(200, 2.5, np.float32)
    noisy[::7] = np.nextafter(np.float32(2.5), np.float32(3))  # one float32 step above
    assert spread(noisy) == 0.0 and not zscore(noisy).any()
    x = np.array([1.0, 2.0, 3.0], np.float32)
    np.testing.assert_allclose(zscore(x), [-1.224745, 0.0, 1.224745], atol=1e-6)
    assert zscore(x).dtype == np.float32


def test_equal_stars_still_rank_content_by_similarity(rec):
    """Issue 23: all-equal stars once gave a constant content score (and α = 1 the popularity
    list); the null key keeps a candidate's similarity to what was rated."""
    ranking = rec.rank({10: 5.0, 30: 5.0, 50: 5.0}, rec.query(k=10, alpha=1.0))
    assert ranking.spreads[0] > 0  # the content signal varies over the candidates
    popular = [r for r in rec.videos.popular_rows if r not in ranking.profile.rows][:10]
    assert set(ranking.rows.tolist()) != set(popular)


# ---- the ranking seam ---------------------------------------------------------------------------
def test_rating_terms_add_up_to_the_signals_the_ranking_blends():
    """Each model's per-rating split sums, over the ratings, to the raw signal rank() scored."""
    rec = make_hand()
    rec.item_item = ItemItem(np.array(HAND_B, np.float32)[:5, :5], reg=1.0)
    ranking = rec.rank(THREE_RATED, rec.query(k=3, alpha=0.4))
    terms = rec.rating_terms(ranking.profile, ranking.pool)  # (n_c, 3 ratings, 3 parts)
    assert terms.shape == (len(ranking.pool), 3, 3)
    np.testing.assert_allclose(terms.sum(axis=1).T, ranking.signals[:3], atol=1e-6)
    # item-item by hand: B's rows 0, 1, 2 (the rated videos) on candidate row 3, row 5 unknown
    at = {int(r): i for i, r in enumerate(ranking.pool)}
    np.testing.assert_allclose(terms[at[3], :, 2], [0.4, -0.2, 0.5], atol=1e-7)  # 1★: −B[1]
    assert not terms[at[5], :, 2].any()


def test_query_is_validated_once_and_the_list_is_the_ranking_table():
    rec = make_hand()
    query = rec.query(k=2, alpha=0.3, diversity=0.0)
    assert (query.k, query.alpha, query.pool_size) == (2, 0.3, 200)
    ranking = rec.rank(SPACE_FAN, query)
    assert rec.table(ranking).equals(rec.recommend(SPACE_FAN, k=2, alpha=0.3))
    assert rec.top_ids(SPACE_FAN, k=2, alpha=0.3).tolist() == rec.video_ids[ranking.rows].tolist()
    for bad in ({"k": 0}, {"k": True}, {"alpha": 1.5}, {"diversity": float("nan")}):
        with pytest.raises(DataError):
            rec.query(**bad)
    assert rec.query().alpha == rec.config.alpha


def test_a_one_star_rating_pushes_similar_videos_down_in_every_part():
    """Issue 23: a 1★ once counted as "watched, want more like it" in the preference and
    item-item parts. Now each part's exact term of the 1★ sinks the candidate most like it."""
    from vidrec.attribution import explain

    rec = make_hand()
    ratings = {101: 5.0, 103: 1.0}  # love Star Cruiser (e1), hate Deep Sea (e3)
    ranking = rec.rank(ratings, rec.query(k=4, alpha=0.4))
    att = explain(rec, ranking, [104, 106, 102])  # Moon Garden, Sea Song (e3-like), Paris
    one_star = 1  # Deep Sea's column
    assert (att.per_rating[:2, one_star, 0] < 0).all()  # content: attention × (1 − 2.5)
    # MF: t = −1; A = VᵀV + I over rows 0 (1, 0) and 2 (1, 1) = [[3, 1], [1, 2]], A⁻¹V₂ =
    # (1, 2)/5, so the term on row i is −V_i·(1, 2)/5: Moon Garden (1, −1) +0.2, Sea Song (0, −1)
    # +0.4, Paris (0, 1) −0.4: it sinks Paris, whose factors point the 1★'s way, most.
    raw = rec.mf.preference_terms(ranking.profile.rows, rec.videos.rows_of([104, 106, 102]),
                                  ranking.profile.targets)  # fmt: skip
    np.testing.assert_allclose(raw[:, one_star], [0.2, 0.4, -0.4], atol=1e-9)
    assert att.per_rating[2, one_star, 1] < att.per_rating[0, one_star, 1]
    # item-item: −B[2] on rows 3, 5, 1 = (−0.5, 0, 0)
    raw_pairs = rec.item_item.terms(ranking.profile.rows, rec.videos.rows_of([104, 106, 102]),
                                    ranking.profile.targets)  # fmt: skip
    np.testing.assert_allclose(raw_pairs[:, one_star], [-0.5, 0.0, 0.0], atol=1e-7)
    # and the card never cites the 1★, even where its z-scored term lifts a pick
    assert all(att.cited(i) is None or att.cited(i)[0] != one_star for i in range(3))
