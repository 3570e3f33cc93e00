"""Scale benchmark on a tiny catalog: the commands run and report sane numbers (timings unchecked).

Also pins the pieces the benchmark exercises: the float32 factor cache, the inner-product index
and the recommender's use of it.
"""

import numpy as np
import pandas as pd
import pytest
import torch

from vidrec.artifacts import load_artifacts
from vidrec.benchmarks.scale import recall_at, run_scale_bench
from vidrec.benchmarks.synthetic import noise_model, synthesize
from vidrec.evaluation.report import scale_frame
from vidrec.index import MaxInnerProductIndex, VideoIndex
from vidrec.mf import BiasedMF, MFParams, UserVector
from vidrec.recommender import HybridRecommender


@pytest.fixture
def tiny_model(tiny_built):
    return noise_model(load_artifacts(tiny_built))


def test_synthetic_videos_sit_at_the_real_neighbour_cosine_to_their_film(tiny_model):
    syn = synthesize(tiny_model, 500, seed=1)
    assert syn.embeddings.shape == (500, tiny_model.arts.embeddings.shape[1])
    np.testing.assert_allclose(np.linalg.norm(syn.embeddings, axis=1), 1.0, atol=1e-5)
    assert syn.mf.n_items == len(syn.counts) == len(syn.catalog) == 500
    assert syn.catalog["video_id"].tolist() == list(range(1, 501))
    real = tiny_model.arts.dataset.catalog
    films = real.reset_index(drop=True).reset_index().set_index("title")["index"]
    rows = films[syn.catalog["title"].str.rsplit(" #", n=1).str[0]].to_numpy()
    cos = (syn.embeddings * tiny_model.arts.embeddings[rows]).sum(axis=1)
    assert abs(np.median(cos) - tiny_model.cos) < 0.05
    assert 0.0 < tiny_model.cos < 1.0


def test_scale_bench_runs_on_a_tiny_catalog(tiny_built, monkeypatch):
    monkeypatch.setattr("vidrec.recommender.EXACT_SCORING_MAX", 50)  # take the retrieval path
    rows = run_scale_bench(sizes=(300, 400), repeat=5, config=tiny_built)
    assert {r["n_videos"] for r in rows} == {300, 400}
    by_op = {(r["n_videos"], r["operation"]): r for r in rows}
    assert by_op[(300, "content search, exact (flat)")]["recall"] == 1.0
    for r in rows:
        assert r["peak_rss_mb"] > 0
        if r["recall"] is not None:
            assert 0.0 <= r["recall"] <= 1.0
        if r["p50_ms"] is not None:
            assert 0 < r["p50_ms"] <= r["p95_ms"]
    ops = [r["operation"] for r in rows if r["n_videos"] == 300]
    assert "recommend top-10, exact retrieval (flat + MF scan)" in ops
    assert any(op.startswith("content search, HNSW ef") for op in ops)
    assert any(op.startswith("MF index build, inner-product IVF") for op in ops)
    assert any(op.startswith("MF top-200, IVF nprobe") for op in ops)
    table = scale_frame({"rows": rows})  # the README and the app show the rows this way
    shown = table[table["videos"] == 300]
    assert shown["operation"].tolist() == ops and shown["p50 ms"].notna().any()


def test_recall_ignores_padding_and_counts_hits():
    truth = np.array([[1, 2, 3, 4], [5, 6, -1, -1]])
    found = np.array([[4, 3, 9, 8], [6, 5, 7, -1]])
    assert recall_at(truth, found) == pytest.approx((0.5 + 1.0) / 2)
    assert recall_at(truth, truth) == 1.0


def test_float_factor_cache_sees_rows_written_in_place():
    """Regression: the cold-item eval writes mapped factors into rows of a trained model."""
    mf = BiasedMF.from_item_side(MFParams(factors=3), torch.ones(4, 3), torch.zeros(4), 3.5)
    user = UserVector(np.ones(3, np.float32), np.zeros(3, np.float32), 0.0, 1)
    assert mf.preference_scores(user).tolist() == [3.0] * 4
    mf.item_factors[torch.tensor([2])] = torch.full((1, 3), 2.0, dtype=mf.item_factors.dtype)
    assert mf.preference_scores(user).tolist() == [3.0, 3.0, 6.0, 3.0]
    mf.item_factors = torch.zeros(2, 3, dtype=torch.float64)
    assert mf.preference_scores(user, np.array([1])).tolist() == [0.0]


def test_inner_product_index_finds_the_largest_inner_products():
    rng = np.random.default_rng(0)
    factors = rng.normal(size=(400, 8)) * rng.uniform(0.1, 3.0, size=(400, 1))  # varied norms
    index = MaxInnerProductIndex(factors, nlist=16, nprobe=4)
    hits = 0
    for q in rng.normal(size=(20, 8)):
        best = np.argsort(-(factors @ q))[:10]
        hits += len(set(index.search(q, 10)) & set(best))
        index.nprobe = index.nlist  # every list scanned: exact
        assert index.search(q, 10).tolist() == best.tolist()
        index.nprobe = 4
    assert 0.6 <= hits / 200 < 1.0  # a quarter of the lists finds most, not all
    assert len(index) == 400


def test_recommender_with_an_exact_factor_index_matches_the_scan(
    tiny_built, tiny_model, monkeypatch
):
    monkeypatch.setattr("vidrec.recommender.EXACT_SCORING_MAX", 50)  # take the retrieval path
    syn = synthesize(tiny_model, 600, seed=2)
    index = VideoIndex.build(syn.catalog["video_id"].to_numpy(), syn.embeddings)
    parts = (syn.catalog, syn.embeddings, index, syn.mf)
    given = dict(rating_counts=syn.counts, config=tiny_built)
    scan = HybridRecommender(*parts, **given)
    exact = MaxInnerProductIndex(syn.mf.float_factors())
    exact.nprobe = exact.nlist
    indexed = HybridRecommender(*parts, **given, collab_index=exact)
    viewer = {3: 5.0, 40: 4.0, 77: 1.0, 120: 5.0}
    pd.testing.assert_frame_equal(scan.recommend(viewer), indexed.recommend(viewer))
