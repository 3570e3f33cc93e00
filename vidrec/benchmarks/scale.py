"""Scale benchmark: search, MF retrieval and recommend on synthetic catalogs of 100K–1M videos.

The catalogs come from ``synthetic`` (real films moved by realistic noise); exact search on the
same catalog is the truth that recall is measured against. Timings are reported, never asserted
(they depend on the machine).
"""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Callable

import numpy as np

from vidrec.artifacts import load_artifacts
from vidrec.benchmarks.latency import peak_rss_mb, time_calls
from vidrec.benchmarks.synthetic import (
    NN_SAMPLE,
    NoiseModel,
    SyntheticCatalog,
    held_out_queries,
    noise_model,
    synthesize,
)
from vidrec.config import Config
from vidrec.index import MaxInnerProductIndex, VideoIndex
from vidrec.mf import BiasedMF
from vidrec.recommender import HybridRecommender

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]  # (stage, done, total), as artifacts.Progress
DEFAULT_SIZES = (100_000, 1_000_000)
K = 10  # recall@10 and top-10 recommendations
CANDIDATES = 200  # MF rows recommend(k=10) retrieves: max(200, 20·k)
RECALL_TARGET = 0.95
EF_SWEEP = (128, 256, 512, 1024)  # content efSearch tried in order until recall meets the target
NPROBE_SWEEP = (32, 64, 128, 256, 512, 1024, 2048)  # MF IVF lists scanned, tried in the same way
VIEWER_STARS = (5.0, 4.0, 5.0, 3.0, 2.0, 5.0, 4.0, 1.0, 4.0, 5.0)  # ten ratings, mostly loved


def run_scale_bench(
    sizes=DEFAULT_SIZES,
    repeat: int = 200,
    progress: Progress | None = None,
    config: Config | None = None,
) -> list[dict]:
    """Index build, memory, query latency and recall, and recommend latency, per catalog size.

    ``repeat`` is the number of timed calls per operation, of held-out recall queries and of
    viewers. Queries are timed on one thread per library (see _timed).
    """
    say = progress or (lambda stage, done, total: None)
    config = config or Config.from_env()
    model = noise_model(load_artifacts(config))
    rows: list[dict] = []
    for n in sizes:
        rows += _bench_size(model, int(n), repeat, config, say)
    return rows


def _bench_size(model: NoiseModel, n: int, repeat: int, config: Config, say) -> list[dict]:
    steps = 5
    say(f"{n:,} videos: generating", 0, steps)
    t = time.perf_counter()
    syn = synthesize(model, n, seed=n)
    queries = held_out_queries(model, repeat, seed=n + 1)
    viewers = _viewers(n, repeat, seed=n + 2)
    gen_s = time.perf_counter() - t
    say(f"{n:,} videos: exact index", 1, steps)
    flat, flat_row = _content_index(n, syn, "flat", config)
    truth = flat.search_many(queries, K)[0]  # (repeat, K) exact top-10
    rows = [_catalog_row(n, model, syn, gen_s, flat, queries), flat_row]
    rows.append(_search_row(n, "content search, exact (flat)", flat, queries, truth, repeat))
    say(f"{n:,} videos: HNSW index", 2, steps)
    hnsw, hnsw_row = _content_index(n, syn, "hnsw", config)
    rows.append(hnsw_row)

    def content_search(ef: int) -> dict:
        hnsw.ef_search = ef
        name = f"content search, HNSW ef{ef}"
        return _search_row(n, name, hnsw, queries, truth, repeat, ef_search=ef)

    rows += _sweep([e for e in EF_SWEEP if e >= hnsw.ef_search] or [hnsw.ef_search], content_search)
    say(f"{n:,} videos: MF retrieval", 3, steps)
    mips, mf_rows = _mf_rows(n, syn, _preferences(syn.mf, viewers), config, repeat)
    rows += mf_rows
    say(f"{n:,} videos: recommend", 4, steps)
    rows += _recommend_rows(n, syn, (flat, hnsw, mips), viewers, config, repeat)
    say(f"{n:,} videos: done", steps, steps)
    return rows


def _row(n: int, operation: str, **fields) -> dict:
    """One table row; fields a row does not measure are None."""
    row = {"n_videos": n, "operation": operation}
    row.update(dict.fromkeys(("build_s", "memory_mb", "p50_ms", "p95_ms", "recall", "recall_at")))
    row["ef_search"] = None
    row.update(fields)
    row["peak_rss_mb"] = round(peak_rss_mb(), 1)
    return row


def _catalog_row(n, model: NoiseModel, syn: SyntheticCatalog, gen_s, flat, queries) -> dict:
    """How the synthetic catalog was drawn, and how close its nearest neighbours are."""
    sample = min(n, NN_SAMPLE)
    near = flat.search_many(syn.embeddings[:sample], 2)[1][:, 1]  # (sample,) nearest other video
    mem = (syn.embeddings.nbytes + syn.mf.item_factors.numel() * 8) / 2**20
    return _row(
        n,
        "synthetic catalog (generate)",
        build_s=round(gen_s, 2),
        memory_mb=round(mem, 1),
        noise_ratio=round(model.noise_ratio, 3),
        nn_cos_real=round(model.cos, 3),
        nn_cos_synthetic=round(float(np.median(near)), 3),
        nn_cos_query=round(float(np.median(flat.search_many(queries, 1)[1])), 3),
        mf_unobserved_weight=syn.mf.params.unobserved_weight,
    )


def _measured(make: Callable[[], object]) -> tuple[object, float, float]:
    """make()'s result, the seconds it took and the resident memory it added (MB)."""
    before, t = _rss_mb(), time.perf_counter()
    out = make()
    return out, round(time.perf_counter() - t, 2), round(_rss_mb() - before, 1)


def _content_index(n: int, syn: SyntheticCatalog, kind: str, config: Config):
    """Build a content index of one kind, and its row: build time and memory added."""

    def build() -> VideoIndex:
        dim = syn.embeddings.shape[1]
        index = VideoIndex(dim, hnsw_m=config.hnsw_m, ef_search=config.hnsw_ef_search, kind=kind)
        index.add(syn.catalog["video_id"].to_numpy(np.int64), syn.embeddings)
        return index

    index, build_s, mem = _measured(build)
    name = "exact (flat)" if kind == "flat" else f"HNSW M{config.hnsw_m}"
    row = _row(n, f"content index build, {name}", build_s=build_s, memory_mb=mem)
    log.info("%s: %.1f s, %.0f MB", row["operation"], build_s, mem)
    return index, row


def _search_row(n, operation, index: VideoIndex, queries, truth, repeat, **fields) -> dict:
    """Single-query latency and recall@10 against the exact top-10."""
    timing = _timed(lambda i: index.search(queries[i % len(queries)], K), repeat)
    recall = recall_at(truth, index.search_many(queries, K)[0])
    return _row(n, operation, **_ms(timing), recall=round(recall, 4), recall_at=K, **fields)


def _sweep(values: list[int], measure: Callable[[int], dict]) -> list[dict]:
    """A row per search setting, widening until recall meets the target (or settings run out)."""
    rows = []
    for value in values:
        rows.append(measure(value))
        if rows[-1]["recall"] >= RECALL_TARGET:
            break
    return rows


def _preferences(mf: BiasedMF, viewers: list[dict[int, float]]) -> np.ndarray:
    """(m, d) fold-in preference vectors of the viewers: the queries recommend sends to MF."""
    rows = [np.array(list(v), dtype=np.int64) - 1 for v in viewers]  # ids are rows + 1
    stars = [np.array(list(v.values())) for v in viewers]
    return np.stack([mf.fold_in(r, s).preference for r, s in zip(rows, stars)])


def _mf_rows(n, syn: SyntheticCatalog, prefs: np.ndarray, config: Config, repeat):
    """MF candidate retrieval (top-200 by preference): full scan vs the inner-product IVF."""
    factors = syn.mf.float_factors()  # (n, d)
    scan = _timed(lambda i: _scan_top(factors, prefs[i % len(prefs)]), repeat)
    truth = np.stack([_scan_top(factors, q) for q in prefs])
    top = min(CANDIDATES, n)
    rows = [_row(n, "MF top-200, exact scan", **_ms(scan), recall=1.0, recall_at=top)]
    mips, build_s, mem = _measured(lambda: MaxInnerProductIndex(factors))
    name = f"MF index build, inner-product IVF{mips.nlist}"
    rows.append(_row(n, name, build_s=build_s, memory_mb=mem))

    def search(nprobe: int) -> dict:
        mips.nprobe = nprobe
        timing = _timed(lambda i: mips.search(prefs[i % len(prefs)], CANDIDATES), repeat)
        recall = recall_at(truth, _padded([mips.search(q, CANDIDATES) for q in prefs]))
        name = f"MF top-200, IVF nprobe{nprobe}"
        return _row(n, name, **_ms(timing), recall=round(recall, 4), recall_at=top)

    return mips, rows + _sweep(_probes(mips.nlist, NPROBE_SWEEP[0]), search)


def _probes(nlist: int, start: int) -> list[int]:
    """nprobe values to try, from start up to every list (exact)."""
    return [p for p in NPROBE_SWEEP if start <= p < nlist] + [nlist]


def _padded(found: list[np.ndarray]) -> np.ndarray:
    """Ragged result lists as one (m, longest) array, -1 where a list ran short."""
    out = np.full((len(found), max(map(len, found), default=0)), -1, dtype=np.int64)
    for row, ids in zip(out, found):
        row[: len(ids)] = ids
    return out


def _scan_top(factors: np.ndarray, query: np.ndarray) -> np.ndarray:
    """The CANDIDATES rows with the largest preference score, as recommend's scan finds them."""
    scores = factors @ query
    return np.argpartition(-scores, min(CANDIDATES, len(scores) - 1))[:CANDIDATES]


def _recommend_rows(n, syn: SyntheticCatalog, indexes, viewers, config, repeat) -> list[dict]:
    """recommend(k=10) after one new rating: exact retrieval vs HNSW + IVF, whose nprobe widens
    from the MF sweep's choice until the top-10 match the exact ones."""
    flat, hnsw, mips = indexes
    given = dict(rating_counts=syn.counts, config=config)
    exact = HybridRecommender(syn.catalog, syn.embeddings, flat, syn.mf, **given)
    fast = HybridRecommender(syn.catalog, syn.embeddings, hnsw, syn.mf, **given, collab_index=mips)
    exact_ms, exact_top = _time_recommend(exact, viewers, repeat)
    name = "recommend top-10, exact retrieval (flat + MF scan)"
    rows = [_row(n, name, **exact_ms, recall=1.0, recall_at=K)]

    def measure(nprobe: int) -> dict:
        mips.nprobe = nprobe
        fast_ms, fast_top = _time_recommend(fast, viewers, repeat)
        recall = round(recall_at(np.stack(exact_top), np.stack(fast_top)), 4)
        name = f"recommend top-10, HNSW ef{hnsw.ef_search} + MF IVF nprobe{nprobe}"
        return _row(n, name, **fast_ms, recall=recall, recall_at=K, ef_search=hnsw.ef_search)

    rows += _sweep(_probes(mips.nlist, mips.nprobe), measure)
    return rows + [_retrieval_row(n, fast, viewers, repeat, rows[-1])]


def _retrieval_row(n, rec: HybridRecommender, viewers, repeat: int, last: dict) -> dict:
    """Only the retrievals recommend() makes (its batched content queries, the MF index,
    popular rows) for the same viewers, and recommend's time over it from the row above."""
    profiles = [rec.profile(v) for v in viewers]
    queries = np.mean([1 + int((p.weights > 0).sum()) for p in profiles])  # interest + loved

    def call(i: int) -> None:
        rec.candidates(profiles[i % len(profiles)], CANDIDATES)

    timing = _ms(_timed(call, repeat))
    name = f"recommend's retrievals alone ({queries:.0f} content queries + MF IVF + popular)"
    return _row(n, name, **timing, recommend_over_retrieval=last["p50_ms"] / timing["p50_ms"])


def _viewers(n: int, m: int, seed: int) -> list[dict[int, float]]:
    """m rating dicts: the same ten ratings plus one new rating each (video ids are rows + 1)."""
    rng = np.random.default_rng(seed)
    rated = rng.choice(n, size=len(VIEWER_STARS) + m, replace=False) + 1
    base = dict(zip(rated[: len(VIEWER_STARS)].tolist(), VIEWER_STARS))
    new = rated[len(VIEWER_STARS) :].tolist()
    return [{**base, vid: float(rng.integers(1, 6))} for vid in new]


def _time_recommend(rec: HybridRecommender, viewers, repeat: int) -> tuple[dict, list]:
    """p50/p95 of recommend(k=10) over the viewers, and each viewer's top-10 ids."""
    tops: list = [None] * len(viewers)

    def call(i: int) -> None:
        tops[i % len(viewers)] = rec.recommend(viewers[i % len(viewers)], k=K)["video_id"]

    return _ms(_timed(call, repeat)), [t.to_numpy() for t in tops]


def _timed(fn: Callable[[int], object], repeat: int) -> dict:
    """time_calls on one thread per library (faiss, BLAS, torch): one core per request, as a
    server answering many viewers at once runs, and no stalls waiting for a busy core."""
    from threadpoolctl import threadpool_limits  # a bench requirement, not a runtime one

    with threadpool_limits(1):
        return time_calls(fn, repeat)


def recall_at(truth: np.ndarray, found: np.ndarray) -> float:
    """Mean share of each row's true ids (-1 padding ignored) that found also holds."""
    hits = [np.isin(t[t >= 0], f).mean() if (t >= 0).any() else 1.0 for t, f in zip(truth, found)]
    return float(np.mean(hits))


def _ms(timing: dict) -> dict:
    return {"p50_ms": round(timing["p50_ms"], 3), "p95_ms": round(timing["p95_ms"], 3)}


def _rss_mb() -> float:
    """Resident memory now (Linux /proc); NaN elsewhere, where only the peak is known."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return float("nan")
    return round(pages * resource.getpagesize() / 2**20, 1)


# ---- report ---------------------------------------------------------------------------------
