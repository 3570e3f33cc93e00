"""The taste-trained reader: token states round-trip, and the head learns which words matter."""

import numpy as np
import pandas as pd
import pytest

from vidrec.content import TokenStates
from vidrec.errors import DataError
from vidrec.reader import TasteReader, train_reader

DIM = 16


def corpus(n=120, seed=0, signal=None):
    """Texts of 3–8 random tokens; half carry a 'signal' token whose presence sets factor 0.

    The signal token is one token among several, so mean pooling dilutes it; attention
    pooling can single it out. Factor 1 is noise the text cannot explain.
    """
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=DIM) if signal is None else signal
    states, ids, has = [], [], rng.random(n) < 0.5
    for i in range(n):
        x = rng.normal(size=(int(rng.integers(3, 9)), DIM))
        tok = np.arange(len(x), dtype=np.int32) + 10
        if has[i]:
            x[rng.integers(len(x))] = signal
            tok[0] = 1
        states.append(x.astype(np.float16))
        ids.append(tok)
    factors = np.stack([np.where(has, 1.0, -1.0), rng.normal(size=n) * 0.1], axis=1)
    catalog = pd.DataFrame({"genres": ["Drama"] * n, "year": [1990] * n})
    return TokenStates.of(states, ids), catalog, factors.astype(np.float32), has, signal


def test_token_states_round_trip_and_append(tmp_path):
    states, *_ = corpus(5)
    states.save(tmp_path / "t.safetensors")
    back = TokenStates.load(tmp_path / "t.safetensors")
    assert len(back) == 5 and np.array_equal(back.states, states.states)
    more = back.appended([np.ones((2, DIM), np.float16)], [np.array([7, 8], np.int32)])
    assert len(more) == 6 and more.of_text(5)[1].tolist() == [7, 8]
    assert np.array_equal(more.of_text(4)[0], states.of_text(4)[0])


def test_the_head_learns_the_signal_token_and_weighs_it_most():
    states, catalog, factors, has, signal = corpus(400)
    counts = np.full(len(has), 50)
    reader = train_reader(states, catalog, factors, np.zeros(len(has)), counts, seed=1)
    fresh, fresh_catalog, _, fresh_has, _ = corpus(60, seed=9, signal=signal)
    pred, _ = reader.read(fresh, fresh_catalog["genres"], fresh_catalog["year"])
    # unseen texts: the predicted factor 0 tells texts with the signal from those without
    assert np.corrcoef(pred[:, 0], fresh_has)[0, 1] > 0.7
    row = int(np.flatnonzero(fresh_has)[0])
    x, ids = fresh.of_text(row)
    weights = reader.token_weights(x)
    assert weights.sum() == pytest.approx(1.0, abs=1e-5)
    at = int(np.flatnonzero(np.all(np.isclose(x.astype(np.float32), signal, atol=1e-2), 1))[0])
    assert weights[at] == weights.max() and weights[at] > 1.5 / len(x)


def test_a_saved_reader_reads_the_same(tmp_path):
    states, catalog, factors, has, _ = corpus(40)
    reader = train_reader(states, catalog, factors, np.zeros(40), np.full(40, 5), seed=0)
    reader.save(tmp_path / "r.safetensors")
    back = TasteReader.load(tmp_path / "r.safetensors")
    a = reader.read(states, catalog["genres"], catalog["year"])
    b = back.read(states, catalog["genres"], catalog["year"])
    np.testing.assert_array_equal(a[0], b[0]) and np.testing.assert_array_equal(a[1], b[1])
    assert back.epochs == reader.epochs


def test_a_file_that_is_not_a_reader_is_refused(tmp_path):
    states, *_ = corpus(3)
    states.save(tmp_path / "t.safetensors")
    with pytest.raises(ValueError, match="not a taste-reader"):
        TasteReader.load(tmp_path / "t.safetensors")


def test_too_few_rated_videos_is_a_clear_error():
    states, catalog, factors, *_ = corpus(4)
    with pytest.raises(DataError, match="at least two rated"):
        train_reader(states, catalog, factors, np.zeros(4), np.array([3, 0, 0, 0]))
