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
from vidrec.index import VideoIndex
from vidrec.itemitem import ItemItem
from vidrec.mf import BiasedMF, MFParams
from vidrec.recommender import HybridRecommender

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
    return HybridRecommender(catalog, emb, index, mf, None, counts, Config(alpha=alpha))


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
    assert (got["reason"] == "Popular with viewers").all()


def test_reason_names_a_loved_video(rec):
    got = rec.recommend(SCIFI_FAN, k=5, alpha=0.5)
    top = got.iloc[0]
    assert top["because_id"] in SCIFI_FAN and SCIFI_FAN[top["because_id"]] >= 4
    assert top["reason"].startswith("Because you rated Film")


def test_attention_rows_are_distributions_over_rated_videos(rec):
    att = rec.attention(SCIFI_FAN, [40, 60, 11 * 10])
    assert att.shape == (3, len(SCIFI_FAN))
    np.testing.assert_allclose(att.sum(axis=1), 1.0, atol=1e-5)


def test_diversity_spreads_the_list(rec):
    ratings = {10: 5.0, 30: 5.0, 11 * 10: 4.0}
    plain = rec.recommend(ratings, k=8, diversity=0.0)
    varied = rec.recommend(ratings, k=8, diversity=0.8)

    def mean_sim(frame):
        e = rec.embeddings[rec.rows_of(frame["video_id"])]
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
    got = rec.similar(10, k=5)
    assert 10 not in set(got["video_id"])
    assert (got["genres"] == "Sci-Fi").mean() >= 0.8


def test_find_title(rec):
    assert rec.find_title("Film 3 (1983)") == 40
    assert rec.find_title("film 3 (1983)") == 40
    assert rec.find_title("Film 59") == 600
    with pytest.raises(UnknownVideoError, match="matches"):
        rec.find_title("Film 1")
    with pytest.raises(UnknownVideoError, match="Did you mean"):
        rec.find_title("Flim 3 (1983)")


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
    "temperature": 0.5,
}
SPACE_FAN = {101: 5.0, 102: 1.0}  # loves row 0 = e1, hates row 1 = e2; candidates rows 2..5
THREE_RATED = {101: 5.0, 102: 1.0, 103: 4.0}  # rated rows are e1, e2, e3: similarity = coordinates
SQRT5 = np.sqrt(5.0)


def make_hand(**config_changes):
    """The six-video recommender; config_changes override HAND_CONFIG."""
    emb = np.array(HAND_EMB, np.float32)
    catalog = pd.DataFrame(
        {
            "video_id": HAND_IDS,
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
    index = VideoIndex.build(np.array(HAND_IDS), emb)
    counts = np.array(HAND_COUNTS)
    return HybridRecommender(catalog, emb, index, mf, None, counts, config, item_item=item_item)


@pytest.fixture(scope="module")
def hand():
    return make_hand()


def by_id(frame: pd.DataFrame, column: str, ids) -> np.ndarray:
    return frame.set_index("video_id").loc[ids, column].to_numpy(np.float64)


def test_popularity_weight_fades_linearly_to_zero(hand):
    # β(n) = 0.8 · max(0, 1 - n / 4)
    weights = [hand.popularity_weight(n) for n in range(7)]
    assert weights == pytest.approx([0.8, 0.6, 0.4, 0.2, 0.0, 0.0, 0.0], abs=1e-12)


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
    assert (got["reason"] == "Popular with viewers").all() and (got["because_id"] == -1).all()


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
    assert hand.popular(6)["video_id"].tolist() == [105, 101, 106, 102, 103, 104]


def test_attention_divides_similarity_by_temperature(hand):
    # rated rows are e1, e2, e3, so a video's similarities are its coordinates; τ = 0.5.
    # Moon Garden (0.6, 0, 0.8): softmax(1.2, 0, 1.6) = (e^1.2, 1, e^1.6) / (e^1.2 + 1 + e^1.6)
    e12, e16 = np.exp(1.2), np.exp(1.6)
    expected = np.array([[e12, 1, e16], [e16, e12, 1], [1, e12, e16]]) / (e12 + 1 + e16)
    np.testing.assert_allclose(expected[0], [0.358036, 0.107838, 0.534126], atol=1e-6)
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
    # weights = stars - 2.5 = (2.5, -1.5, 1.5); Moon Garden: (2.5·e^1.2 - 1.5 + 1.5·e^1.6) / s
    e12, e16 = np.exp(1.2), np.exp(1.6)
    attention = np.array([[e12, 1, e16], [e16, e12, 1], [1, e12, e16]]) / (e12 + 1 + e16)
    expected = attention @ np.array([2.5, -1.5, 1.5])
    np.testing.assert_allclose(expected, [1.534521, 0.960020, 0.533732], atol=1e-6)
    got = hand.content_scores(hand.profile(THREE_RATED), np.array([3, 4, 5]))
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_reason_names_the_rated_video_with_the_largest_positive_support(hand):
    got = hand.recommend(THREE_RATED, k=3).set_index("video_id")
    # support = attention × (stars - 2.5). Moon Garden: (0.895, -0.162, 0.801): Star Cruiser
    # wins although Deep Sea has the larger attention (0.534 vs 0.358). Comet Kiss:
    # (1.335, -0.537, 0.162) -> Star Cruiser. Sea Song: (0.270, -0.537, 0.801) -> Deep Sea.
    assert got.loc[[104, 105, 106], "because_id"].tolist() == [101, 101, 103]
    assert got.loc[[104, 105, 106], "because_stars"].tolist() == [5.0, 5.0, 4.0]
    assert got.loc[106, "because_title"] == "Deep Sea"
    assert got.loc[104, "reason"] == "Because you rated Star Cruiser 5★"
    assert got.loc[106, "reason"] == "Because you rated Deep Sea 4★"


def test_reason_when_no_rated_video_supports_it(hand):
    """A 2.5★ rating weighs exactly 0 and a 1★ one pushes away: nothing supports any video."""
    got = hand.recommend({101: 2.5, 102: 1.0}, k=4)
    assert (got["reason"] == "Viewers with your taste liked it").all()
    assert (got["because_id"] == -1).all() and (got["because_title"] == "").all()
    assert got["because_stars"].isna().all()


@pytest.mark.parametrize(
    "weight, expected",
    [
        # MF: p = (I + I)⁻¹ (1, 1) = (0.5, 0.5); scores 0.5·(v1 + v2) on rows 2..5 are
        # (1, 0, 0.5, -0.5): mean 0.25, std √0.3125 -> z = (3, -1, 1, -3)/√5. Item-item:
        # (0.2, 0.6, -0.2, -0.6) -> z = (1, 3, -1, -3)/√5.
        # w = 0.25: 0.75·z_mf + 0.25·z_ii = (2.5, 0, 0.5, -3)/√5.
        (0.25, np.array([2.5, 0.0, 0.5, -3.0]) / SQRT5),
        (0.0, np.array([3.0, -1.0, 1.0, -3.0]) / SQRT5),
        (1.0, np.array([1.0, 3.0, -1.0, -3.0]) / SQRT5),
    ],
)
def test_collab_scores_mix_mf_preference_and_item_item(weight, expected):
    rec = make_hand(item_item_weight=weight)
    got = rec.collab_scores(rec.profile(SPACE_FAN), np.array([2, 3, 4, 5]))
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_blend_of_every_column_for_a_rated_viewer(hand):
    got = hand.recommend(SPACE_FAN, k=4)
    rows = [103, 104, 105, 106]  # rows 2..5, the unrated videos
    # content: attention on Star Cruiser = σ((x1 - x2)/0.5), content = 2.5·a - 1.5·(1 - a):
    # a = σ(0), σ(1.2), σ(0.4), σ(-1.2) -> content (0.5, 1.574099, 0.894751, -0.574099)
    content = 4 / (1 + np.exp(-np.array([0.0, 1.2, 0.4, -1.2]))) - 1.5
    z_content = (content - content.mean()) / content.std()
    np.testing.assert_allclose(z_content, [-0.126766, 1.252937, 0.380299, -1.506470], atol=1e-6)
    np.testing.assert_allclose(by_id(got, "content_score", rows), 0.4 * z_content, atol=1e-5)
    # collaborative: 0.6 · (2.5, 0, 0.5, -3)/√5 (see the collab_scores test)
    collab = 0.6 * np.array([2.5, 0.0, 0.5, -3.0]) / SQRT5
    np.testing.assert_allclose(by_id(got, "collab_score", rows), collab, atol=1e-5)
    # popularity: β(2) = 0.4; k = (5, 0, 10, 7): mean 5.5, std √(53/4),
    # so 0.4 · (-0.5, -5.5, 4.5, 1.5) / std
    popularity = 0.4 * np.array([-0.5, -5.5, 4.5, 1.5]) / np.sqrt(53 / 4)
    np.testing.assert_allclose(by_id(got, "popularity_score", rows), popularity, atol=1e-5)
    score = [0.565170, -0.103212, 0.780782, -1.242740]
    np.testing.assert_allclose(0.4 * z_content + collab + popularity, score, atol=1e-5)
    np.testing.assert_allclose(by_id(got, "score", rows), score, atol=1e-5)
    assert got["video_id"].tolist() == [105, 103, 104, 106]
    # stars: θ = (0.75, -0.75, bias 0) (see the predicted_rating test); 3 + b_i + v_i·θ,
    # clipped: 3.25, 5.5 -> 5, 3.5, 0.75 -> 1
    np.testing.assert_allclose(
        by_id(got, "predicted_rating", rows), [3.25, 5.0, 3.5, 1.0], atol=1e-5
    )


def test_alpha_one_is_pure_content_ranking():
    rec = make_hand(popularity_weight=0.0)
    got = rec.recommend(SPACE_FAN, k=4, alpha=1.0)
    # z(content) from the blend test: rows 2..5 -> (-0.126766, 1.252937, 0.380299, -1.50647)
    assert got["video_id"].tolist() == [104, 105, 103, 106]
    z_content = [1.252937, 0.380299, -0.126766, -1.506470]
    np.testing.assert_allclose(got["content_score"], z_content, atol=1e-5)
    np.testing.assert_allclose(got["score"], z_content, atol=1e-5)
    assert (got["collab_score"] == 0).all() and (got["popularity_score"] == 0).all()


def test_alpha_zero_is_pure_collaborative_ranking():
    rec = make_hand(popularity_weight=0.0)
    got = rec.recommend(SPACE_FAN, k=4, alpha=0.0)
    # collab on rows 2..5 = (2.5, 0, 0.5, -3)/√5 -> rows 2, 4, 3, 5
    assert got["video_id"].tolist() == [103, 105, 104, 106]
    collab = np.array([2.5, 0.5, 0.0, -3.0]) / SQRT5
    np.testing.assert_allclose(got["collab_score"], collab, atol=1e-5)
    np.testing.assert_allclose(got["score"], collab, atol=1e-5)
    assert (got["content_score"] == 0).all() and (got["popularity_score"] == 0).all()


def stars_head(ratings: dict, candidates: list[int]) -> np.ndarray:
    """μ + b_u + b_i + p_u·v_i, the fold-in solved here as ridge regression in plain numpy."""
    factors, bias = np.array(HAND_FACTORS), np.array(HAND_BIAS)
    rated = [HAND_IDS.index(v) for v in ratings]
    X = np.c_[factors[rated], np.ones(len(rated))]  # (n, 2 factors + bias column)
    ridge = np.diag([1.0, 1.0, 2.0])  # rating_reg on the factors, bias_reg on the bias
    residual = np.array(list(ratings.values())) - 3.0 - bias[rated]
    taste = np.linalg.solve(X.T @ X + ridge, X.T @ residual)
    raw = 3.0 + taste[2] + bias[candidates] + factors[candidates] @ taste[:2]
    return np.clip(raw, 1.0, 5.0)


def test_predicted_rating_is_the_folded_in_stars_head(hand):
    # SPACE_FAN: residuals (5 - 3 - 0.5, 1 - 3 + 0.5) = (1.5, -1.5); the system
    # [[2, 0, 1], [0, 2, 1], [1, 1, 4]] θ = (1.5, -1.5, 0) has θ = (0.75, -0.75, 0)
    np.testing.assert_allclose(stars_head(SPACE_FAN, [2, 3, 4, 5]), [3.25, 5.0, 3.5, 1.0])
    np.testing.assert_allclose(hand.predict(SPACE_FAN, [103, 104, 105, 106]), [3.25, 5, 3.5, 1])
    # a lopsided viewer: θ = (-1/22, -7/12, bias -1/44); row 5 is 0.5606 before clipping
    viewer = {101: 4.0, 103: 2.0, 104: 4.5}
    expected = stars_head(viewer, [1, 4, 5])
    np.testing.assert_allclose(expected, [1.893939, 2.681818, 1.0], atol=1e-6)
    np.testing.assert_allclose(hand.predict(viewer, [102, 105, 106]), expected, atol=1e-5)
    got = hand.recommend(viewer, k=3)
    np.testing.assert_allclose(by_id(got, "predicted_rating", [102, 105, 106]), expected, atol=1e-5)
