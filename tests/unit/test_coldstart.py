"""Cold-start videos: mapped from content, recommendable at once, shared objects untouched."""

import hashlib

import numpy as np
import pytest
from test_recommender import SCIFI_FAN, make_recommender

from vidrec.coldstart import OverlayIndex, new_video, next_video_id, with_videos
from vidrec.content import TokenStates
from vidrec.errors import DataError
from vidrec.index import VideoIndex


class ClusterEncoder:
    """Stands in for the Transformer: maps any text to the sci-fi cluster's mean direction."""

    def __init__(self, rec):
        scifi = rec.embeddings[rec.catalog["genres"] == "Sci-Fi"].mean(axis=0)
        self.vector = (scifi / np.linalg.norm(scifi)).astype(np.float32)

    def encode(self, texts, progress=None):
        return np.tile(self.vector, (len(texts), 1))

    def read(self, texts, progress=None):
        one = [self.vector[None, :].astype(np.float16)] * len(texts)
        return self.encode(texts), TokenStates.of(one, [np.zeros(1, np.int32)] * len(texts))


@pytest.fixture(scope="module")
def rec():
    base = make_recommender()
    base.encoder = ClusterEncoder(base)
    return base


def checksum(rec):
    parts = [rec.embeddings.tobytes(), rec.mf.item_factors.numpy().tobytes(), rec.catalog.to_csv()]
    return hashlib.sha256(
        b"".join(p if isinstance(p, bytes) else p.encode() for p in parts)
    ).hexdigest()


def test_new_video_gets_a_position_near_its_content_kin(rec):
    video = new_video(rec, "Robot Planet", "Robots explore a distant planet", ["Sci-Fi"])
    assert len(video.neighbours) == 10 and video.neighbours["similarity"].is_monotonic_decreasing
    scifi_rows = np.flatnonzero(rec.catalog["genres"] == "Sci-Fi")
    centre = rec.mf.item_factors.numpy()[scifi_rows].mean(axis=0)
    assert np.dot(video.factors, centre) > 0


def test_added_video_is_recommended_and_searchable_only_in_the_session_view(rec):
    before = checksum(rec)
    video = new_video(
        rec,
        "Robot Planet",
        "Robots explore a distant planet",
        ["Sci-Fi"],
        video_id=next_video_id(rec, []),
    )
    view = with_videos(rec, [video])
    # its audience is unknown, not absent: the popularity prior neither lifts nor sinks it
    assert view.popularity[-1] == pytest.approx(rec.popularity.mean())
    assert view.popularity_weight(len(SCIFI_FAN)) > 0
    got = view.recommend(SCIFI_FAN, k=55)  # all unrated
    got = got.reset_index(drop=True)
    rank = got.index[got["video_id"] == video.video_id][0]
    first_romance = got.index[got["genres"] == "Romance"][0]
    assert rank < first_romance, got[["title", "genres", "score"]].head(30)
    assert video.video_id in set(view.videos.similar(10, k=10)["video_id"])
    assert video.video_id not in set(rec.recommend(SCIFI_FAN, k=10)["video_id"])
    assert checksum(rec) == before  # the shared recommender was not mutated
    assert view.predict(SCIFI_FAN, [video.video_id])[0] >= 1


def test_ids_of_added_videos_never_collide(rec):
    first = new_video(rec, "A", video_id=next_video_id(rec, []))
    second_id = next_video_id(rec, [first])
    assert second_id > first.video_id and second_id not in set(rec.video_ids)


@pytest.mark.parametrize(
    "title, description, genres, match",
    [
        ("", "x", [], "needs a title"),
        ("   \x00\x07 ", "", [], "needs a title"),
        ("T" * 301, "", [], "limit is 300"),
        ("Ok", "d" * 5001, [], "limit is 5000"),
        ("Ok", "", ["Space Opera"], "unknown genre"),
    ],
)
def test_bad_new_video_input_is_rejected(rec, title, description, genres, match):
    with pytest.raises(DataError, match=match):
        new_video(rec, title, description, genres)


def test_markup_in_a_title_is_kept_as_text(rec):
    video = new_video(rec, "<img src=x onerror=alert(1)>", "**bold** _x_")
    assert video.title == "<img src=x onerror=alert(1)>"


def test_content_map_learns_a_planted_linear_relation():
    rng = np.random.default_rng(1)
    emb = rng.normal(size=(300, 12))
    true = rng.normal(size=(12, 5))
    factors, bias = emb @ true, emb[:, 0] * 0.5 + 3.0
    counts = rng.integers(1, 50, size=300)
    counts[:10] = 0  # unrated films are ignored
    factors[:10] = 99.0
    from vidrec.mapping import fit_content_map

    mapped = fit_content_map(emb, factors, bias, counts, reg=0.01)
    pred_f, pred_b = mapped.predict(emb[10:])
    assert np.corrcoef(pred_f.ravel(), factors[10:].ravel())[0, 1] > 0.99
    np.testing.assert_allclose(pred_b, bias[10:], atol=0.05)


def test_overlay_search_many_is_search_for_each_query():
    """Large catalogs retrieve with one batched search; the session overlay must answer it."""
    rng = np.random.default_rng(0)
    base_vectors = rng.normal(size=(60, 8)).astype(np.float32)
    base_vectors /= np.linalg.norm(base_vectors, axis=1, keepdims=True)
    extra = rng.normal(size=(3, 8)).astype(np.float32)
    overlay = OverlayIndex(
        VideoIndex.build(np.arange(60), base_vectors), np.array([900, 901, 902]), extra
    )
    queries = np.vstack([extra[1], base_vectors[5], -extra[0]])
    ids, scores = overlay.search_many(queries, 4)
    for row, query in enumerate(queries):
        want_ids, want_scores = overlay.search(query, 4)
        np.testing.assert_array_equal(ids[row], want_ids)
        np.testing.assert_allclose(scores[row], want_scores)
    assert ids[0, 0] == 901  # an added video is found by its own vector
    few, _ = overlay.search_many(queries[:1], 70)  # more than the 63 videos: padded with -1
    assert (few[0, :63] >= 0).all() and (few[0, 63:] == -1).all()
