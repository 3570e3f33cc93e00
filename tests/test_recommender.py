"""HybridRecommender on a small synthetic catalog with known structure (no model download)."""

import numpy as np
import pandas as pd
import pytest

from vidrec.config import Config
from vidrec.errors import DataError, UnknownVideoError
from vidrec.index import VideoIndex
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


def unrated_rows(rec, ratings):
    return np.array([r for r in range(N_VIDEOS) if rec.video_ids[r] not in ratings])


def test_alpha_one_is_pure_content_ranking(rec):
    prof = rec.profile(SCIFI_FAN)
    rows = unrated_rows(rec, SCIFI_FAN)
    content = rec.attention(prof, rec.video_ids[rows]) @ prof.weights
    expected = rec.video_ids[rows[np.argsort(-content, kind="stable")][:10]]
    got = rec.recommend(SCIFI_FAN, k=10, alpha=1.0)
    assert got["video_id"].tolist() == expected.tolist()
    assert (got["collab_score"] == 0).all() and (got["popularity_score"] == 0).all()


def test_alpha_zero_is_pure_collaborative_ranking(rec):
    prof = rec.profile(SCIFI_FAN)
    rows = unrated_rows(rec, SCIFI_FAN)
    scores = rec.mf.preference_scores(prof.collab, rows)
    expected = rec.video_ids[rows[np.argsort(-scores, kind="stable")][:10]]
    got = rec.recommend(SCIFI_FAN, k=10, alpha=0.0)
    assert got["video_id"].tolist() == expected.tolist()
    assert (got["content_score"] == 0).all()


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


def test_popularity_prior_fades_to_zero_by_fifth_rating(rec):
    weights = [rec.popularity_weight(n) for n in range(7)]
    assert weights[0] == rec.config.popularity_weight
    assert all(a > b for a, b in zip(weights[:5], weights[1:5]))
    assert weights[5] == weights[6] == 0.0


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


def test_predict_matches_recommend_column(rec):
    got = rec.recommend(SCIFI_FAN, k=5)
    np.testing.assert_allclose(rec.predict(SCIFI_FAN, got["video_id"]), got["predicted_rating"])


def test_retrieval_path_for_large_catalogs_agrees_with_exact_scoring(rec, monkeypatch):
    exact = rec.recommend(SCIFI_FAN, k=10)
    monkeypatch.setattr("vidrec.recommender.EXACT_SCORING_MAX", 10)  # force FAISS + MF retrieval
    retrieved = rec.recommend(SCIFI_FAN, k=10)
    assert not set(retrieved["video_id"]) & set(SCIFI_FAN)
    assert len(set(exact["video_id"]) & set(retrieved["video_id"])) >= 8
