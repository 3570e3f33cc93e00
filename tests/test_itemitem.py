"""The item-to-item model: recovers a withheld co-watch pattern, scores online, saves safely."""

import numpy as np
import pytest

from vidrec.errors import DataError
from vidrec.itemitem import ITEM_ITEM_MAX, ItemItem


def _two_groups(n_users: int = 60):
    """Users 0..29 watch items 0-3, users 30..59 watch items 4-7; user 0 misses item 3."""
    users, items = [], []
    for u in range(n_users):
        group = range(4) if u < n_users // 2 else range(4, 8)
        for i in group:
            if (u, i) != (0, 3):
                users.append(u)
                items.append(i)
    return np.array(users), np.array(items)


def test_withheld_item_of_the_same_group_ranks_first():
    users, items = _two_groups()
    model = ItemItem.fit(users, items, n_items=8)
    scores = model.scores(np.array([0, 1, 2]))
    unseen = [3, 4, 5, 6, 7]
    assert unseen[int(np.argmax(scores[unseen]))] == 3
    assert np.allclose(np.diag(model.weights), 0)


def test_scores_pad_rows_past_the_trained_catalog_with_zero():
    users, items = _two_groups()
    model = ItemItem.fit(users, items, n_items=8)
    scores = model.scores(np.array([0, 9]), n_rows=10)  # row 9: a video a viewer added
    assert scores.shape == (10,) and scores[8] == scores[9] == 0
    assert np.array_equal(model.scores(np.array([], dtype=np.int64)), np.zeros(8))


def test_save_load_round_trip_and_damaged_file(tmp_path):
    users, items = _two_groups()
    model = ItemItem.fit(users, items, n_items=8)
    model.save(tmp_path / "ii.safetensors")
    again = ItemItem.load(tmp_path / "ii.safetensors")
    assert again.reg == model.reg and np.array_equal(again.weights, model.weights)
    (tmp_path / "bad.safetensors").write_bytes(b"\x00garbage")
    with pytest.raises(DataError, match="cannot read item-item weights"):
        ItemItem.load(tmp_path / "bad.safetensors")


def test_refuses_catalogs_too_big_for_dense_weights():
    with pytest.raises(DataError, match="item-item weights need"):
        ItemItem.fit(np.array([0]), np.array([0]), n_items=ITEM_ITEM_MAX + 1)
