"""The many-viewers load test: websocket clients, no browser, against a real `streamlit run`."""

import sqlite3
import time

import pytest

from vidrec.benchmarks import viewers
from vidrec.benchmarks.viewers import run_viewer_bench
from vidrec.ui.loader import STORE_FILE
from vidrec.viewer.store import ViewerStore


def test_websocket_clients_rate_and_every_rating_lands(built_config):
    started = time.time()
    (row,) = run_viewer_bench(built_config.home, [3], ratings=2)
    assert row["errors"] == 0, row["first_error"]  # includes "the rated card is still listed"
    assert row["clients"] == 3 and row["calls"] == 6  # every rerun reported the app's timer
    assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["round_trip_p95_ms"]
    path = built_config.home / STORE_FILE
    with sqlite3.connect(path) as db:  # each client is its own viewer, saved by the server
        ids = [r[0] for r in db.execute("SELECT id FROM viewers WHERE created >= ?", (started,))]
    store = ViewerStore(path)
    made = [store.load(i) for i in ids]
    assert sorted(len(v.ratings) - len(v.seed) for v in made) == [2, 2, 2]


def test_a_rating_the_server_ignores_is_reported(built_config, monkeypatch):
    # a widget id the app never drew: the server drops the value, the card stays, and the
    # load test must say so instead of timing reruns that rated nothing
    real = viewers.WidgetState
    monkeypatch.setattr(viewers, "WidgetState", lambda id, **kw: real(id=id + "x", **kw))
    (row,) = run_viewer_bench(built_config.home, [1], ratings=1)
    assert row["errors"] == 1 and "still listed" in row["first_error"]


BEYOND = [([0], 1), ([viewers.MAX_CLIENTS + 1], 1), ([1], 0), ([1], viewers.MAX_RATINGS + 1)]


@pytest.mark.parametrize(("counts", "ratings"), BEYOND)
def test_the_load_is_bounded(counts, ratings, tmp_path):
    with pytest.raises(ValueError):
        run_viewer_bench(tmp_path, counts, ratings)
