"""Training scale benchmark: how MF fit time and memory grow with the number of ratings.

Rating sets come from ``synthetic.synthetic_ratings`` (MovieLens-shaped) at up to 10M ratings.
Each size runs in a fresh process, so its peak RSS is its own; its first row times the compiled
kernels' first call there (numba's cache load, or the compile on a fresh install). implicit's ALS
runs in the same process on the same ratings with the same factors and iterations: once with its
default conjugate-gradient steps, as our epochs take, and once with exact solves. Timings are
reported, never asserted (they depend on the machine).
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable

import numpy as np

from vidrec.benchmarks.latency import peak_rss_mb, time_calls
from vidrec.benchmarks.synthetic import SyntheticRatings, synthetic_ratings
from vidrec.config import MFParams
from vidrec.itemitem import ITEM_ITEM_MAX, ItemItem
from vidrec.mf import BiasedMF, warm_up

SHAPES = {  # ratings -> (users, items): MovieLens 100K, then the 1M and 10M sets
    100_000: (943, 1_682),
    1_000_000: (6_000, 4_000),
    10_000_000: (100_000, 20_000),
}
EPOCHS = 3  # epochs timed beyond a 1-epoch fit, so set-up cost is not counted per epoch
Progress = Callable[[str, int, int], None]


def run_train_bench(sizes, repeat: int = 200, progress: Progress | None = None) -> list[dict]:
    """Rows for each size in SHAPES, each measured in its own process."""
    say = progress or (lambda s, d, n: None)
    rows = []
    for done, n in enumerate(sizes):
        say(f"training scale: {n:,} ratings", done, len(sizes))
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            rows += pool.apply(bench_size, (n, repeat))
    return rows


def bench_size(n: int, repeat: int) -> list[dict]:
    """MF fit per epoch, fold-in latency, the implicit peers, item-item, peak RSS at n ratings."""
    n_users, n_items = SHAPES[n]
    t = time.perf_counter()
    data = synthetic_ratings(n, n_users, n_items)
    shape = {"n_ratings": n, "n_users": n_users, "n_items": n_items}
    rows = [{**shape, "operation": "generate ratings", "seconds": time.perf_counter() - t}]
    rows.append({**shape, **_first_kernel_call()})
    _, once = _fit_mf(data, 1)
    mf, seconds = _fit_mf(data, 1 + EPOCHS)
    ours = (seconds - once) / EPOCHS  # the set-up and the exact final user step cancel out
    rows.append({**shape, "operation": "MF fit, 1 epoch (set-up, one epoch, exact user step)",
                 "seconds": once})  # fmt: skip
    rows.append({**shape, "operation": f"MF fit, {1 + EPOCHS} epochs", "seconds": seconds,
                 "per_epoch_s": ours})  # fmt: skip
    for name, use_cg in (("implicit ALS, CG (its default)", True), ("implicit ALS, exact", False)):
        theirs = _fit_implicit(data, use_cg) / EPOCHS
        rows.append({**shape, "operation": f"{name}, {EPOCHS} iterations",
                     "per_epoch_s": theirs, "ours_over_peer": ours / theirs})  # fmt: skip
    rows.append({**shape, **_full_fit(data)})
    rows.append({**shape, "operation": "fold-in, 20 ratings", **_fold_in_times(mf, data, repeat)})
    rows.append({**shape, **_item_item(data)})
    rows.append(
        {**shape, "operation": "peak RSS of this size's process", "peak_rss_mb": peak_rss_mb()}
    )
    return rows


def _first_kernel_call() -> dict:
    """A 2-epoch fit on 20 ratings: almost all of it is loading (or compiling) the kernels."""
    return {"operation": "MF kernels' first call (cache load or compile)", "seconds": warm_up()}


def _fit_mf(data: SyntheticRatings, epochs: int) -> tuple[BiasedMF, float]:
    """Epochs of both heads on every rating (no validation split, so no early stop)."""
    mf = BiasedMF(MFParams(epochs=epochs))
    t = time.perf_counter()
    mf.fit(data.users, data.items, data.stars, data.n_users, data.n_items, validation=0.0)
    return mf, time.perf_counter() - t


def _full_fit(data: SyntheticRatings) -> dict:
    """A whole fit as a build runs it: epochs chosen on a 5% validation slice, then refit."""
    mf = BiasedMF(MFParams())
    t = time.perf_counter()
    mf.fit(data.users, data.items, data.stars, data.n_users, data.n_items)
    chosen = mf.chosen_epochs()
    return {
        "operation": f"MF full fit: {len(mf.history)} validated epochs, then {chosen} on all",
        "seconds": time.perf_counter() - t,
        "epochs": len(mf.history) + chosen,
    }


def _fit_implicit(data: SyntheticRatings, use_cg: bool) -> float:
    """Seconds for implicit's ALS on the same pairs, same factors and iterations."""
    from implicit.cpu.als import AlternatingLeastSquares
    from scipy.sparse import csr_matrix
    from threadpoolctl import threadpool_limits

    picks = csr_matrix(
        (np.ones(len(data.users), np.float32), (data.users, data.items)),
        shape=(data.n_users, data.n_items),
    )
    with threadpool_limits(1, "blas"):  # implicit runs its own threads; BLAS ones fight them
        model = AlternatingLeastSquares(
            factors=MFParams.factors, iterations=EPOCHS, regularization=MFParams.reg,
            use_cg=use_cg, random_state=0, calculate_training_loss=False,
        )  # fmt: skip
        t = time.perf_counter()
        model.fit(picks, show_progress=False)
        return time.perf_counter() - t


def _fold_in_times(mf: BiasedMF, data: SyntheticRatings, repeat: int) -> dict:
    """Fold-in of 20 of the catalog's items with random stars, as one new viewer's rating."""
    rng = np.random.default_rng(1)
    viewers = [rng.choice(data.n_items, 20, replace=False) for _ in range(repeat + 1)]
    stars = rng.integers(1, 6, 20).astype(float)
    return time_calls(lambda i: mf.fold_in(viewers[i], stars), repeat)


def _item_item(data: SyntheticRatings) -> dict:
    """The item-item fit where its dense closed form applies, or where it switches off."""
    if data.n_items > ITEM_ITEM_MAX:
        return {"operation": f"item-item: off above {ITEM_ITEM_MAX:,} items (MF ranks alone)"}
    t = time.perf_counter()
    ItemItem.fit(data.users, data.items, data.n_items)
    return {"operation": "item-item fit (EASE, λ chosen)", "seconds": time.perf_counter() - t}
