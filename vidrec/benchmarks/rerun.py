"""Server-side time of a full app rerun after a rating, measured by driving app.py headlessly."""

from __future__ import annotations

import time

import numpy as np
from streamlit.testing.v1 import AppTest

from vidrec.config import APP


def rerun_after_rating(ratings: int = 20, view: str = "For you", timeout: float = 600) -> dict:
    """Rate the top card `ratings` times; p50/p95 of the script rerun that each rating triggers."""
    at = AppTest.from_file(str(APP), default_timeout=timeout)
    at.run()  # first run loads the shared demo: not counted
    if view != "For you":
        at.segmented_control(key="view").set_value(view).run()
    rng = np.random.default_rng(0)
    samples = []
    for _ in range(ratings):
        if view != "For you":
            at.segmented_control(key="view").set_value("For you").run()
        cards = [f for f in at.get("feedback") if f.key.startswith("stars_")]
        cards[0].set_value(int(rng.integers(0, 5)))
        if view != "For you":
            at.segmented_control(key="view").set_value(view)
        t = time.perf_counter()
        at.run()
        samples.append((time.perf_counter() - t) * 1000)
        if at.exception:
            raise RuntimeError(f"the app raised: {at.exception}")
    arr = np.array(samples)
    return {
        "operation": f"app rerun after a rating ({view})",
        "p50_ms": float(np.percentile(arr, 50)),
        "p95_ms": float(np.percentile(arr, 95)),
        "mean_ms": float(arr.mean()),
        "calls": ratings,
    }
