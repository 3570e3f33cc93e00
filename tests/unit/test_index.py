"""VideoIndex against numpy brute force on seeded synthetic embeddings."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from vidrec.errors import DataError
from vidrec.index import VideoIndex

DIM = 32


def unit_rows(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    vectors = unit_rows(rng.normal(size=(500, DIM)))  # (n, d)
    ids = rng.choice(1_000_000, size=500, replace=False).astype(np.int64)  # non-contiguous ids
    queries = unit_rows(rng.normal(size=(20, DIM)))  # (m, d)
    return ids, vectors, queries


def brute_force(ids, vectors, query, k):
    scores = vectors @ query  # (n,)
    order = np.argsort(-scores, kind="stable")[:k]
    return ids[order], scores[order]


def clustered(n=2000, dim=DIM, clusters=20, seed=1):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    labels = rng.integers(clusters, size=n)
    return unit_rows(centres[labels] + 0.3 * rng.normal(size=(n, dim)))


def test_exact_matches_brute_force(data):
    ids, vectors, queries = data
    index = VideoIndex.build(ids, vectors)
    assert index.kind == "flat" and len(index) == 500
    for q in queries:
        want_ids, want_scores = brute_force(ids, vectors, q, 10)
        scores_sorted = np.sort(vectors @ q)[::-1]
        assert np.min(-np.diff(scores_sorted[:11])) > 1e-6  # no ties, so ids are well defined
        got_ids, got_scores = index.search(q, 10)
        np.testing.assert_array_equal(got_ids, want_ids)
        np.testing.assert_allclose(got_scores, want_scores, atol=1e-5)
        assert got_ids.dtype == np.int64 and got_scores.dtype == np.float32


def test_query_shapes_and_large_k(data):
    ids, vectors, queries = data
    index = VideoIndex.build(ids[:5], vectors[:5])
    a, _ = index.search(queries[0], 3)
    b, _ = index.search(queries[0][None, :], 3)
    np.testing.assert_array_equal(a, b)
    got, scores = index.search(queries[0], 50)  # more than the index holds
    assert sorted(got) == sorted(ids[:5]) and np.all(np.diff(scores) <= 0)
    assert len(index.search(queries[0], 0)[0]) == 0
    with pytest.raises(DataError):
        index.search(np.ones(DIM + 1, dtype=np.float32), 3)


def test_hnsw_recall():
    vectors = clustered()
    ids = np.arange(10_000, 12_000, dtype=np.int64)
    index = VideoIndex.build(ids, vectors, exact_max=10)
    assert index.kind == "hnsw"
    queries = clustered(n=100, seed=2)
    found, _ = index.search_many(queries, 10)
    hits = 0
    for q, row in zip(queries, found, strict=True):
        want, _ = brute_force(ids, vectors, q, 10)
        hits += len(set(row.tolist()) & set(want.tolist()))
    assert hits / (10 * len(queries)) >= 0.95


def test_search_many_matches_search(data):
    ids, vectors, queries = data
    index = VideoIndex.build(ids, vectors)
    many_ids, many_scores = index.search_many(queries, 7)
    assert many_ids.shape == (20, 7) and many_scores.shape == (20, 7)
    for row, q in enumerate(queries):
        one_ids, one_scores = index.search(q, 7)
        np.testing.assert_array_equal(many_ids[row], one_ids)
        np.testing.assert_allclose(many_scores[row], one_scores, atol=1e-6)
    small = VideoIndex.build(ids[:3], vectors[:3])
    padded, pad_scores = small.search_many(queries[:2], 5)
    assert (padded[:, 3:] == -1).all() and np.isneginf(pad_scores[:, 3:]).all()


@pytest.mark.parametrize("exact_max", [200_000, 10])
def test_exclude(data, exact_max):
    ids, vectors, queries = data
    index = VideoIndex.build(ids, vectors, exact_max=exact_max)
    top, _ = index.search(queries[0], 10)
    got, _ = index.search(queries[0], 10, exclude=set(top[:4].tolist()) | {-5, 123})
    assert len(got) == 10 and not set(got.tolist()) & set(top[:4].tolist())
    np.testing.assert_array_equal(got[:6], top[4:])


@pytest.mark.parametrize("exact_max", [200_000, 10])
def test_added_videos_are_searched_like_built_ones(data, exact_max):
    ids, vectors, queries = data
    index = VideoIndex.build(ids[:400], vectors[:400], exact_max=exact_max)
    index.add(ids[400:], vectors[400:])
    assert len(index) == 500 and index.ids.tolist() == ids.tolist()
    whole = VideoIndex.build(ids, vectors, exact_max=exact_max)
    got, _ = index.search(queries[1], 5)
    np.testing.assert_array_equal(got, whole.search(queries[1], 5)[0])
    many, _ = index.search_many(queries[1:2], 5)
    np.testing.assert_array_equal(many[0], got)


def test_add_rejects_bad_input(data):
    ids, vectors, _ = data
    index = VideoIndex.build(ids[:10], vectors[:10])
    with pytest.raises(DataError, match=str(ids[3])):
        index.add(ids[3:5], vectors[3:5])
    with pytest.raises(DataError, match="duplicate"):
        index.add([7, 7], vectors[:2])
    with pytest.raises(DataError, match="shape"):
        index.add([7], vectors[:1, :5])
    with pytest.raises(DataError):
        index.add([7, 8], vectors[:1])
    bad = vectors[:1].copy()
    bad[0, 3] = np.nan
    with pytest.raises(DataError, match="NaN"):
        index.add([7], bad)
    index.add([7], vectors[20:21].astype(np.float64))  # cast, not rejected
    found, scores = index.search(vectors[20], 1)
    assert found.tolist() == [7] and scores[0] == pytest.approx(1.0, abs=1e-6)
    assert len(index) == 11


@pytest.mark.parametrize("exact_max", [200_000, 10])
def test_save_load_round_trip(tmp_path, data, exact_max):
    ids, vectors, queries = data
    index = VideoIndex.build(ids, vectors, exact_max=exact_max, ef_search=64)
    path = tmp_path / "sub" / "videos.faiss"
    index.save(path)
    loaded = VideoIndex.load(path)
    assert loaded.kind == index.kind and len(loaded) == len(index) and loaded.ef_search == 64
    np.testing.assert_array_equal(loaded.ids, index.ids)
    for got, want in zip(
        loaded.search_many(queries, 10), index.search_many(queries, 10), strict=True
    ):
        np.testing.assert_array_equal(got, want)
    assert [p.name for p in path.parent.iterdir() if p.suffix == ".tmp"] == []


def test_an_index_saved_with_hidden_videos_is_refused_not_searched(tmp_path, data):
    # Older versions could mask videos in an HNSW index; such a file must be rebuilt.
    ids, vectors, _ = data
    path = tmp_path / "videos.faiss"
    VideoIndex.build(ids, vectors).save(path)
    meta = path.with_name(path.name + ".json")
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "masked": [int(ids[0])]}))
    with pytest.raises(DataError, match="rebuild"):
        VideoIndex.load(path)


def test_load_missing_or_corrupt(tmp_path, data):
    with pytest.raises(DataError, match="nope.faiss"):
        VideoIndex.load(tmp_path / "nope.faiss")
    junk = tmp_path / "junk.faiss"
    junk.write_bytes(np.random.default_rng(3).bytes(4096))
    with pytest.raises(DataError, match="junk.faiss"):
        VideoIndex.load(junk)
    ids, vectors, _ = data
    good = tmp_path / "good.faiss"
    VideoIndex.build(ids, vectors).save(good)
    cut = tmp_path / "cut.faiss"
    cut.write_bytes(good.read_bytes()[:5000])
    with pytest.raises(DataError, match="cut.faiss"):
        VideoIndex.load(cut)


def test_concurrent_search_and_add(data):
    ids, vectors, queries = data
    index = VideoIndex.build(ids[:100], vectors[:100])
    errors = []

    def searcher():
        try:
            for _ in range(50):
                found, _ = index.search(queries[0], 5)
                assert len(found) == 5
        except Exception as exc:  # collected so the main thread fails loudly
            errors.append(exc)

    threads = [threading.Thread(target=searcher) for _ in range(4)]
    for t in threads:
        t.start()
    for start in range(100, 500, 50):
        index.add(ids[start : start + 50], vectors[start : start + 50])
    for t in threads:
        t.join()
    assert not errors and len(index) == 500
