"""The Spark build measured: parity of its model with this machine's, and training at scale.

Parity (``bench --spark-parity``): protocol A nDCG@10 of a Spark-built model (catalog embedded
on Spark, MF trained on Spark on the same 75/25 split and settings) against this machine's; and
MLlib's ALS(implicitPrefs=True), the alternative the build did not take, on the same split (its
regParam and alpha chosen on a validation split of the training ratings).

Scale (``bench --train-scale N,N --spark``): MF fit time and peak memory, one process vs Spark.

The same synthetic ratings (``synthetic.synthetic_ratings``) are fitted for the same epochs by
``BiasedMF.fit`` in one process and by the Spark half-steps (``vidrec.spark.mf``). Each (size,
engine) runs in a fresh process under a time limit, so its peak memory is its own and a run that
cannot finish says where it stopped: out of time, or killed (out of memory). Spark's peak is
reported per process: the Python driver, the JVM (driver and local executors) and the Python
workers. Timings are reported, never asserted.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from vidrec.artifacts import Artifacts, load_artifacts
from vidrec.benchmarks.latency import peak_rss_mb
from vidrec.benchmarks.synthetic import SyntheticRatings, synthetic_ratings
from vidrec.config import Config, MFParams
from vidrec.data import Dataset
from vidrec.evaluation.topk import (
    VALIDATION_SEED,
    SplitModels,
    engines,
    fit_on,
    ranking_rows,
    stratified_split,
)
from vidrec.metrics import K, ranking_metrics
from vidrec.mf import warm_up

SHAPES = {  # ratings -> (users, items): training.SHAPES' sets, then one shaped like ML-25M
    100_000: (943, 1_682),
    1_000_000: (6_000, 4_000),
    10_000_000: (100_000, 20_000),
    25_000_000: (162_000, 60_000),
}
EPOCHS = 3  # fixed epochs, no validation: the same work on both engines
ENGINES = ("local", "spark local[2]")
TIME_LIMIT = 1_200  # seconds per (size, engine), generation included
Progress = Callable[[str, int, int], None]
TOLERANCE = 0.005  # the parity target: |Δ nDCG@10| on protocol A
METRICS = ("ndcg@10", "liked_ndcg@10", "precision@10", "recall@10")
MLLIB_GRID = tuple(itertools.product((0.1, 1.0, 10.0), (1.0, 10.0, 40.0)))  # (regParam, alpha)
MLLIB_ITERATIONS = 10  # MLlib's default


# ---- parity ---------------------------------------------------------------------------------


def spark_parity(config: Config, engine, say: Progress | None = None) -> list[dict]:
    """Rows for mf and hybrid, single machine and Spark, and their nDCG@10 gaps, on ML-100K."""
    say = say or (lambda s, d, n: None)
    local_arts = load_artifacts(config, progress=say)
    spark_home = config.home / "spark-parity"
    t = time.perf_counter()
    spark_arts = load_artifacts(config.replace(home=spark_home), progress=say, engine=engine)
    build_s = time.perf_counter() - t
    train, test = stratified_split(local_arts.dataset.ratings, seed=config.seed)
    warm_up()  # the local fit is timed: not numba's first-call compile
    methods = [("mf", 0.0, 0.0), ("hybrid", config.alpha, config.item_item_weight)]
    weights = {0.0, config.item_item_weight}
    local = fit_on(local_arts, train, test, config, say, weights)
    spark = spark_split(spark_arts, local, config, engine, say, weights)
    rows = compare(ranking_rows(local, methods, say), ranking_rows(spark, methods, say))
    emb_gap = float(np.abs(local_arts.embeddings - spark_arts.embeddings).max())
    for row in rows:
        row.update(spark_build_s=round(build_s, 1), max_embedding_gap=emb_gap)
    say("MLlib's ALS on the same split", 0, 1)
    return rows + mllib_rows(engine.spark, local, config.factors, config.seed)


def mllib_rows(spark, fitted: SplitModels, rank: int, seed: int, grid=MLLIB_GRID) -> list[dict]:
    """MLlib's ALS: the validation grid's rows, then the chosen setting on the test split."""
    train, validation = stratified_split(fitted.train, seed=VALIDATION_SEED)
    relevant = {u: set(g) for u, g in validation.groupby("user_id")["video_id"]}
    rows = []
    for reg, alpha in grid:
        top = mllib_top_k(spark, train, list(relevant), (reg, alpha), rank, seed)
        rows.append({"method": f"MLlib ALS, validation: regParam {reg:g}, alpha {alpha:g}",
                     "reg": reg, "alpha": alpha,
                     "ndcg@10": ranking_metrics(top, relevant)["ndcg@10"]})  # fmt: skip
    best = max(rows, key=lambda r: r["ndcg@10"])
    best["chosen"] = True
    t = time.perf_counter()
    top = mllib_top_k(spark, fitted.train, list(fitted.relevant), (best["reg"], best["alpha"]),
                      rank, seed)  # fmt: skip
    test = {"method": "MLlib ALS(implicitPrefs), test", "reg": best["reg"],
            "alpha": best["alpha"], "fit_s": round(time.perf_counter() - t, 2),
            **ranking_metrics(top, fitted.relevant)}  # fmt: skip
    return rows + [test]


def mllib_top_k(spark, train: pd.DataFrame, users, setting, rank: int, seed: int) -> dict:
    """Top K unrated films per user from MLlib's ALS(implicitPrefs=True) fitted on ``train``
    (confidence 1 + alpha·stars, one preference head, its ridge scaled by each row's count)."""
    from pyspark.ml.recommendation import ALS

    reg, alpha = setting
    als = ALS(rank=rank, maxIter=MLLIB_ITERATIONS, regParam=reg, alpha=alpha, implicitPrefs=True,
              userCol="user_id", itemCol="video_id", ratingCol="rating", seed=seed,
              checkpointInterval=5)  # fmt: skip
    model = als.fit(spark.createDataFrame(train[["user_id", "video_id", "rating"]]))
    U, V = _factors(model.userFactors), _factors(model.itemFactors)
    seen = train.groupby("user_id")["video_id"].agg(set).to_dict()
    top = {}
    for user in users:
        if user not in U.index:  # no training rating: MLlib has no vector for them
            top[user] = []
            continue
        scores = V.to_numpy() @ U.loc[user].to_numpy()  # (n_items,)
        order = V.index.to_numpy()[np.argsort(-scores, kind="stable")]
        top[user] = [int(v) for v in order if v not in seen[user]][:K]
    return top


def _factors(frame) -> pd.DataFrame:
    """An MLlib factor table as id -> vector rows, ids sorted (a stable order for ties)."""
    table = frame.toPandas().sort_values("id")
    return pd.DataFrame(np.stack(table["features"].to_numpy()), index=table["id"].to_numpy())


def spark_split(arts: Artifacts, local: SplitModels, config: Config, engine, say, weights):
    """local's split and item-item, with MF trained by the engine on the same training part."""
    split = Dataset(arts.dataset.name, arts.dataset.catalog, local.train, arts.dataset.users)
    t = time.perf_counter()
    mf = engine.train_mf(split, config, say)
    fit_s = time.perf_counter() - t
    item_item = next(iter(local.recs.values())).item_item
    recs = engines(arts, split, mf, item_item, config, weights)
    return SplitModels(local.train, local.test, split, recs, fit_s, mf_seconds=fit_s)


def compare(local: list[dict], spark: list[dict]) -> list[dict]:
    """One row per method: both engines' metrics, fit seconds and the nDCG@10 gap."""
    rows = []
    for a, b in zip(local, spark, strict=True):
        row = {"method": a["method"], "users": a["users"]}
        for name in METRICS:
            row[f"local_{name}"], row[f"spark_{name}"] = a[name], b[name]
        row["ndcg_gap"] = abs(a["ndcg@10"] - b["ndcg@10"])
        row["within_tolerance"] = row["ndcg_gap"] <= TOLERANCE
        row["local_fit_s"], row["spark_fit_s"] = a["fit_seconds"], b["fit_seconds"]
        rows.append(row)
    return rows


# ---- training at scale ----------------------------------------------------------------------


def run_spark_train_bench(
    sizes, time_limit: float = TIME_LIMIT, progress: Progress | None = None
) -> list[dict]:
    """One row per (size, engine), each measured in its own process under time_limit."""
    say = progress or (lambda s, d, n: None)
    runs = [(n, engine) for n in sizes for engine in ENGINES]
    rows = []
    for done, (n, engine) in enumerate(runs):
        say(f"training scale: {n:,} ratings on {engine}", done, len(runs))
        rows.append(_in_process(n, engine, time_limit))
    say("training scale", len(runs), len(runs))
    return rows


def _in_process(n: int, engine: str, time_limit: float) -> dict:
    """A fresh process's row, or where it ran out: of time (killed at the limit) or memory."""
    n_users, n_items = SHAPES[n]
    shape = {"n_ratings": n, "n_users": n_users, "n_items": n_items, "engine": engine}
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(n, engine, send))
    t = time.perf_counter()
    child.start()
    send.close()
    ready = receive.poll(time_limit)
    row = receive.recv() if ready else None
    if not ready:
        child.terminate()  # its JVM exits when the driver's pipe to it closes
    child.join(30)
    if row is not None:
        return {**shape, **row}
    if not ready:
        outcome = f"ran out of time at {time.perf_counter() - t:.0f} s"
    else:
        outcome = f"died (exit {child.exitcode}: out of memory?)"
    return {**shape, "operation": f"MF fit, {EPOCHS} epochs", "outcome": outcome}


def _child(n: int, engine: str, send) -> None:
    try:
        row = bench_size(n, engine)
    except MemoryError:
        row = {"operation": f"MF fit, {EPOCHS} epochs", "outcome": "ran out of memory"}
    send.send(row)


def bench_size(n: int, engine: str) -> dict:
    """Generate n ratings, fit EPOCHS epochs on the engine; seconds, per epoch, peak memory."""
    t = time.perf_counter()
    data = synthetic_ratings(n, *SHAPES[n])
    row: dict = {"operation": f"MF fit, {EPOCHS} epochs", "generate_s": time.perf_counter() - t}
    fit = _fit_local if engine == "local" else _fit_spark
    row.update(fit(data))
    row.update(outcome="finished", driver_peak_rss_mb=round(peak_rss_mb(), 1))
    return row


def _fit_local(data: SyntheticRatings) -> dict:
    from vidrec.mf import BiasedMF

    t = time.perf_counter()
    BiasedMF(MFParams(epochs=EPOCHS)).fit(
        data.users, data.items, data.stars, data.n_users, data.n_items, validation=0.0
    )
    return {"seconds": time.perf_counter() - t}


def _fit_spark(data: SyntheticRatings) -> dict:
    from vidrec.spark.mf import Triples, fit_mf
    from vidrec.spark.session import spark_session, stop_session

    t = time.perf_counter()
    spark = spark_session()
    start_s = time.perf_counter() - t
    triples = Triples(
        data.users.astype(np.int32), data.items.astype(np.int32), data.stars,
        data.n_users, data.n_items,
    )  # fmt: skip
    epochs: list[float] = []
    scratch = Path(tempfile.mkdtemp(prefix="vidrec-spark-bench-"))
    t = time.perf_counter()
    try:
        fit_mf(spark, triples, MFParams(epochs=EPOCHS), scratch,
               lambda e, n, h: epochs.append(time.perf_counter()), validation=0.0)  # fmt: skip
        seconds = time.perf_counter() - t
        peaks = process_peaks()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        stop_session()
    per_epoch = (epochs[-1] - epochs[0]) / (len(epochs) - 1) if len(epochs) > 1 else None
    return {"seconds": seconds, "session_start_s": start_s, "per_epoch_s": per_epoch, **peaks}


def process_peaks() -> dict:
    """Peak RSS (MB) of this process's descendants: the JVM, and the Python workers summed."""
    jvm, workers = 0.0, 0.0
    for pid, name in _descendants(os.getpid()):
        peak = _peak_mb(pid)
        if name == "java":
            jvm += peak
        else:
            workers += peak
    return {"jvm_peak_rss_mb": round(jvm, 1), "workers_peak_rss_mb": round(workers, 1)}


def _descendants(root: int) -> list[tuple[int, str]]:
    """(pid, command name) of every process below root (Linux /proc)."""
    parents: dict[int, list[tuple[int, str]]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        parents.setdefault(ppid, []).append((int(entry.name), name))
    found, todo = [], [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


def _peak_mb(pid: int) -> float:
    """A process's peak resident memory (VmHWM), in MB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0
