"""Latency of the online paths, reported as p50/p95 (numbers for docs/evaluation.md, not gates)."""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np

from vidrec.attribution import counterfactual, recommend_with_reasons
from vidrec.config import Config
from vidrec.recommender import HybridRecommender

SEED_TITLES = ("Star Wars (1977)", "Alien (1979)", "Toy Story (1995)", "Fargo (1996)")


def time_calls(fn: Callable[[int], object], repeat: int) -> dict:
    """Run fn(i) repeat times; p50/p95/mean in milliseconds."""
    fn(0)  # warm-up: first calls pay for lazy allocations
    samples = []
    for i in range(repeat):
        t = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - t) * 1000)
    arr = np.array(samples)
    return {
        "p50_ms": float(np.percentile(arr, 50)),
        "p95_ms": float(np.percentile(arr, 95)),
        "mean_ms": float(arr.mean()),
        "calls": repeat,
    }


def run_bench(rec: HybridRecommender, repeat: int = 200) -> list[dict]:
    """Fold-in alone, fold-in + top-10 after a new rating (alone, with its reasons, with the
    what-if of its first pick), text search, similar items."""
    rng = np.random.default_rng(0)
    base = _seed_ratings(rec)
    new_ids = rng.choice(rec.video_ids, size=repeat + 1)

    def with_new(i: int) -> dict:
        return {**base, int(new_ids[i]): float(rng.integers(1, 6))}

    queries = [
        "funny space adventure with robots",
        "a detective in a rainy city",
        "animated toys come to life",
        "romantic comedy in new york",
    ]
    rows = [
        ("fold-in (both MF heads)", lambda i: rec.profile(with_new(i))),
        ("fold-in + recommend top-10", lambda i: rec.recommend(with_new(i), k=10)),
        (
            "… + each pick's reason (exact split)",
            lambda i: recommend_with_reasons(rec, rec.rank(with_new(i))),
        ),
        ("what-if: top pick, each rating taken away", lambda i: _what_if(rec, with_new(i))),
        (
            "search by text (encode + FAISS)",
            lambda i: rec.videos.search(queries[i % len(queries)], 10),
        ),
        ("similar items (FAISS)", lambda i: rec.videos.similar(int(new_ids[i]), 10)),
    ]
    out = []
    for name, fn in rows:
        if "search" in name and rec.encoder is None:
            continue
        out.append({"operation": name, "n_videos": len(rec.video_ids), **time_calls(fn, repeat)})
    return out


def _what_if(rec: HybridRecommender, ratings: dict[int, float]):
    """Why these?'s what-if for the first pick: one re-fold and re-rank per rating."""
    ranking = rec.rank(ratings)
    return counterfactual(rec, ranking, int(rec.video_ids[ranking.rows[0]]))


def _seed_ratings(rec: HybridRecommender) -> dict[int, float]:
    ratings = {}
    for title in SEED_TITLES:
        try:
            ratings[rec.videos.find_title(title)] = 5.0
        except KeyError:
            continue  # another catalog: fall back to popular videos below
    if not ratings:
        ratings = {int(v): 5.0 for v in rec.video_ids[np.argsort(-rec.popularity)[:4]]}
    return ratings


def build_times(config: Config) -> list[dict]:
    """Cold build (download → embed → index → train) in a fresh home, warm load, peak RSS."""
    from vidrec.artifacts import load_artifacts, make_encoder

    with tempfile.TemporaryDirectory(prefix="vidrec-bench-") as home:
        fresh = config.replace(home=home)
        t = time.perf_counter()
        arts = load_artifacts(fresh, make_encoder(fresh))
        cold = time.perf_counter() - t
        t = time.perf_counter()
        load_artifacts(fresh)
        warm = time.perf_counter() - t
    n = len(arts.dataset.catalog)
    return [
        {
            "operation": "cold build (download → embed → index → train)",
            "n_videos": n,
            "seconds": cold,
            "calls": 1,
        },
        {"operation": "warm load (cached artifacts)", "n_videos": n, "seconds": warm, "calls": 1},
        {"operation": "peak RSS of the bench process", "n_videos": n, "peak_rss_mb": peak_rss_mb()},
    ]


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes vs KiB
