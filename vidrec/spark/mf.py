"""The two-head MF on Spark: the project's own ALS half-steps, one Spark job per half-step.

The ratings are written once as Parquet and laid out twice, hashed by user block and by item
block, and cached. Each half-step broadcasts the fixed side (n × d factors, small next to the
ratings) and every block solves its rows' normal equations with ``als.user_step`` /
``als.item_step``: the shared Gram plus the block's rated entries, as MLlib's blocked ALS does
it, and the same code as one machine, so the same model up to float32 summation order. The
schedule is ``BiasedMF.fit``'s: epochs chosen by validation nDCG@10 on a 5% slice, then a refit
on every rating. Each job reads the cached layout and the driver's factors, so lineages stay
one stage deep (the checkpoint folder is set all the same).
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from vidrec.als import DTYPE, FAST, RatedRows, item_step, user_step
from vidrec.config import MFParams
from vidrec.errors import DataError
from vidrec.mf import BiasedMF, ndcg_sums

log = logging.getLogger(__name__)
VALIDATION = 0.05  # share of ratings held out to choose the epoch count, as BiasedMF.fit
ROWS_PER_BLOCK = 2_000_000  # ratings per block: one pandas frame per task, a few hundred MB
MAX_ROWS = 2**31 - 1  # Spark and Arrow int columns: ids must fit a signed 32-bit int
SCHEMA = "block int, payload binary"
Progress = Callable[[int, int, dict], None]  # (epoch, epochs, validation row), as BiasedMF.fit


@dataclass(frozen=True)
class Triples:
    """Ratings as (user row, item row, stars), the rows 0-based, and the held-out flags."""

    users: np.ndarray  # (nnz,) int32
    items: np.ndarray  # (nnz,) int32
    stars: np.ndarray  # (nnz,) float64
    n_users: int
    n_items: int


def fit_mf(
    spark,
    data: Triples,
    params: MFParams,
    scratch: Path,
    progress: Progress | None = None,
    validation: float = VALIDATION,
) -> BiasedMF:
    """BiasedMF.fit on Spark: epochs chosen on a held-out slice, then refit on every rating."""
    _check(data)
    held = np.random.default_rng(params.seed).random(len(data.stars)) < validation
    jobs = HalfSteps(spark, data, held, params, scratch)
    try:
        history: list[dict] = []
        if held.any() and (~held).any():
            history = jobs.train(params.epochs, validate=True, progress=progress)
            epochs = 1 + int(np.argmax([_merit(h, params) for h in history]))
        else:
            epochs = min(10, params.epochs)
        V, bias, mean, users = jobs.refit(epochs, progress)
    finally:
        jobs.release()
    model = BiasedMF.from_item_side(params, torch.from_numpy(V), torch.from_numpy(bias), mean)
    model.user_factors = torch.from_numpy(users)  # as BiasedMF.fit keeps them
    model.history = history  # how the epoch count was chosen, as BiasedMF.fit keeps it
    log.info("Spark MF trained for %d epochs on %d ratings", epochs, len(data.stars))
    return model


def _merit(h: dict, params: MFParams) -> float:
    """BiasedMF's validation merit: ranking quality, or -RMSE for a stars-only model."""
    return h["ndcg@10"] if params.observed_weight > 0 else -h["rmse"]


def _check(data: Triples) -> None:
    if len(data.stars) == 0 or not (len(data.users) == len(data.items) == len(data.stars)):
        raise DataError("training needs equally long, non-empty user, item and rating arrays")
    if max(data.n_users, data.n_items) > MAX_ROWS:
        raise DataError(f"Spark ids must fit in 32 bits: {data.n_users:,} users, {data.n_items:,}")
    if not np.isfinite(data.stars).all():
        raise DataError("training ratings contain NaN or infinite values")


class HalfSteps:
    """The ratings laid out by user block and by item block on Spark, and the half-step jobs."""

    def __init__(self, spark, data: Triples, held: np.ndarray, params: MFParams, scratch: Path):
        import pyarrow as pa
        import pyarrow.parquet as pq
        from pyspark.sql import functions as F

        self.spark, self.data, self.held, self.params = spark, data, held, params
        self.blocks = max(
            spark.sparkContext.defaultParallelism, math.ceil(len(data.stars) / ROWS_PER_BLOCK)
        )
        path = scratch / "ratings.parquet"  # ratings come from storage, as on a cluster
        table = pa.table(
            {"user": data.users, "item": data.items, "stars": data.stars, "held": held}
        )
        pq.write_table(table, str(path))
        ratings = spark.read.parquet(str(path))
        self.by_user = self._layout(ratings, F.col("user"))
        self.by_item = self._layout(ratings, F.col("item"))
        self.result: tuple[np.ndarray, np.ndarray, float, np.ndarray] | None = None

    def _layout(self, ratings, key):
        """Ratings hashed into blocks by one side's row, cached for every epoch's job."""
        frame = ratings.withColumn("block", (key % self.blocks).cast("int"))
        frame = frame.repartition(self.blocks, "block").cache()
        frame.count()  # materialise the cache once, before the epochs
        return frame

    def release(self) -> None:
        self.by_user.unpersist()
        self.by_item.unpersist()

    def train(self, epochs: int, validate: bool, progress: Progress | None = None) -> list[dict]:
        """BiasedMF._train's loop as Spark jobs; the validation history when validating."""
        p, d = self.params, self.data
        train = ~self.held if validate else np.ones(len(d.stars), bool)
        mean = float(d.stars[train].mean())
        gen = torch.Generator().manual_seed(p.seed)
        V = (0.1 * torch.randn(d.n_items, p.factors, generator=gen, dtype=DTYPE)).numpy()
        bias = np.zeros(d.n_items)
        users, _ = self.solve_users(V, bias, mean, validate, FAST)
        history: list[dict] = []
        for epoch in range(epochs):
            V, bias = self.solve_items(users, mean, validate)
            if not validate and epoch == epochs - 1:
                break  # the last epoch's user step is the exact one below
            users, scores = self.solve_users(V, bias, mean, validate, FAST)
            if validate:
                history.append({"epoch": epoch + 1, **scores})
                if progress:
                    progress(epoch + 1, epochs, history[-1])
                best = max(range(len(history)), key=lambda e: _merit(history[e], p))
                if epoch - best >= p.patience:
                    break
            elif progress:
                progress(epoch + 1, epochs, {})
        if not validate:
            exact, _ = self.solve_users(V, bias, mean, False, DTYPE)
            self.result = (V, bias, mean, exact[0])
        return history

    def refit(
        self, epochs: int, progress: Progress | None = None
    ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
        """Item factors, item biases, the mean and exact user factors after a fit on all."""
        self.train(epochs, validate=False, progress=progress)
        assert self.result is not None
        return self.result

    def solve_users(self, V, bias, mean: float, validate: bool, sums):
        """Every user's two heads with the items fixed; validation scores when validating."""
        shared = self.spark.sparkContext.broadcast((V, bias, mean))
        job = _user_block(shared, self.params, self.data.n_items, validate, sums)
        parts = _collect(self.by_user.groupBy("block").applyInPandas(job, SCHEMA))
        shared.destroy()
        n, k = self.data.n_users, self.params.factors
        pref, taste, ubias = np.zeros((n, k)), np.zeros((n, k)), np.zeros(n)
        totals = np.zeros(4)
        for part in parts:
            pref[part["rows"]], taste[part["rows"]] = part["pref"], part["taste"]
            ubias[part["rows"]] = part["bias"]
            totals += part["totals"]
        ndcg, judged, sse, n_held = totals
        scores = {"ndcg@10": ndcg / max(judged, 1), "rmse": math.sqrt(sse / max(n_held, 1))}
        return (pref, taste, ubias), scores

    def solve_items(self, users, mean: float, validate: bool):
        """Every item's factors and bias with the users fixed, from both heads."""
        shared = self.spark.sparkContext.broadcast((*users, mean))
        job = _item_block(shared, self.params, self.data.n_users, validate)
        parts = _collect(self.by_item.groupBy("block").applyInPandas(job, SCHEMA))
        shared.destroy()
        V, bias = np.zeros((self.data.n_items, self.params.factors)), np.zeros(self.data.n_items)
        for part in parts:
            V[part["rows"]], bias[part["rows"]] = part["factors"], part["bias"]
        return V, bias


def _collect(frame) -> list[dict[str, np.ndarray]]:
    """Each block's arrays, gathered on the driver."""
    blobs = [io.BytesIO(row["payload"]) for row in frame.collect()]
    return [dict(np.load(blob, allow_pickle=False)) for blob in blobs]


def _payload(block: int, **arrays) -> pd.DataFrame:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return pd.DataFrame({"block": [block], "payload": [buffer.getvalue()]})


def _user_block(shared, params: MFParams, n_items: int, validate: bool, sums):
    """applyInPandas function: one user block's half-step (and validation sums)."""

    def solve(frame: pd.DataFrame) -> pd.DataFrame:
        torch.set_num_threads(1)  # one task per core
        V, bias, mean = shared.value
        V, bias = torch.from_numpy(V), torch.from_numpy(bias)
        ids, local = np.unique(frame["user"].to_numpy(), return_inverse=True)
        train = ~frame["held"].to_numpy() if validate else np.ones(len(frame), bool)
        items, stars = frame["item"].to_numpy(np.int64), frame["stars"].to_numpy()
        by_user = RatedRows(local[train], items[train], stars[train], len(ids), n_items)
        pref, taste, ubias = user_step(by_user, V, bias, mean, params, sums)
        totals = np.zeros(4)
        if validate:
            u, i, r = local[~train], items[~train], stars[~train]
            totals = _validation(pref, taste, ubias, V, bias, mean, by_user, u, i, r, params)
        return _payload(
            int(frame["block"].iloc[0]),
            rows=ids,
            pref=pref.numpy(),
            taste=taste.numpy(),
            bias=ubias.numpy(),
            totals=totals,
        )

    return solve


def _item_block(shared, params: MFParams, n_users: int, validate: bool):
    """applyInPandas function: one item block's half-step."""

    def solve(frame: pd.DataFrame) -> pd.DataFrame:
        torch.set_num_threads(1)
        pref, taste, ubias, mean = shared.value
        if validate:
            frame = frame[~frame["held"].to_numpy()]
        if not len(frame):  # every rating of the block held out: its items stay at 0
            return _payload(-1, rows=np.zeros(0, np.int64), factors=np.zeros((0, params.factors)),
                            bias=np.zeros(0))  # fmt: skip
        ids, local = np.unique(frame["item"].to_numpy(), return_inverse=True)
        by_item = RatedRows(
            local,
            frame["user"].to_numpy(np.int64),
            frame["stars"].to_numpy(),
            len(ids),
            n_users,
        )
        pref, taste, ubias = (torch.from_numpy(a) for a in (pref, taste, ubias))
        V, bias = item_step(by_item, pref, taste, ubias, mean, params, FAST)
        return _payload(int(frame["block"].iloc[0]), rows=ids, factors=V.numpy(), bias=bias.numpy())

    return solve


def _validation(pref, taste, ubias, V, bias, mean, by_user, u, i, r, params) -> np.ndarray:
    """[nDCG@10 sum, users judged, squared error sum, pairs] of a block's held-out ratings,
    as BiasedMF validates: training items masked out of each user's ranking."""
    ut, it, rt = torch.as_tensor(u), torch.as_tensor(i), torch.as_tensor(r)
    pred = mean + ubias[ut] + bias[it] + (taste[ut] * V[it]).sum(1)
    sse = float(((pred.clamp(1, 5) - rt) ** 2).sum())
    wanted = np.unique(u)
    total, judged = 0.0, 0
    for start in range(0, len(wanted), params.batch_rows):
        batch = wanted[start : start + params.batch_rows]
        scores = pref[batch] @ V.T  # (b, n_items)
        rows, cols = by_user.entries(batch)
        scores[torch.as_tensor(rows), torch.as_tensor(cols)] = -torch.inf
        mine = np.isin(u, batch)
        s, n = ndcg_sums(scores, np.searchsorted(batch, u[mine]), i[mine])
        total, judged = total + s, judged + n
    return np.array([total, judged, sse, len(r)], dtype=np.float64)
