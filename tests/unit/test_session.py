"""The viewer session: ratings, reset, and what moved in the list."""

import pandas as pd
import pytest

from vidrec.errors import DataError
from vidrec.viewer.ratings_file import export_csv, export_json, parse_import
from vidrec.viewer.session import ViewerSession
from vidrec.viewer.store import ViewerStore, new_viewer_id


def test_rate_change_unrate_and_reset():
    s = ViewerSession.start("persona", "scifi-fan", "Sci-fi fan", {50: 5.0})
    s.rate(1, 4)
    s.rate(1, 2)
    assert s.ratings == {50: 5.0, 1: 2.0}
    s.unrate(50)
    s.unrate(999)
    assert s.ratings == {1: 2.0}
    s.reset()
    assert s.ratings == {50: 5.0} and s.added == []


@pytest.mark.parametrize("stars", [0, 0.5, 6, float("nan"), float("inf"), "x", None])
def test_out_of_range_stars_are_rejected(stars):
    """A DataError naming the 1-5 range (the cards' whole stars), and nothing recorded."""
    session = ViewerSession.start("persona", "scifi-fan", "Sci-fi fan", {50: 5.0})
    with pytest.raises(DataError, match=r"stars must be from 1 to 5, got "):
        session.rate(1, stars)
    assert session.ratings == {50: 5.0}


def test_moves_compare_with_the_list_before_the_last_change():
    s = ViewerSession()
    assert s.moves(("a",), [1, 2, 3]) == ["", "", ""]  # nothing to compare with yet
    assert s.moves(("a",), [1, 2, 3]) == ["", "", ""]  # a rerun with the same inputs
    assert s.moves(("b",), [3, 1, 4]) == ["↑2", "↓1", "new"]
    assert s.moves(("b",), [3, 1, 4]) == ["↑2", "↓1", "new"]  # stable across reruns
    assert s.moves(("c",), [3, 1, 4]) == ["=", "=", "="]


def test_a_changed_rating_becomes_the_newest():
    s = ViewerSession.start("new", "", "New viewer", {})
    for video in (300, 7, 120):
        s.rate(video, 4)
    s.rate(300, 2)
    assert list(s.ratings) == [7, 120, 300]


def test_ratings_keep_their_order_through_a_reload(tmp_path):
    """Regression (issue 25): after a reload "Your ratings" came back in video-id order."""
    store = ViewerStore(tmp_path / "viewers.sqlite3")
    s = ViewerSession.start("persona", "scifi-fan", "Sci-fi fan", {50: 5.0, 1: 3.0})
    s.saved_as(store, new_viewer_id())
    for video in (300, 7, 120, 50):
        s.rate(video, 4)
    reloaded = ViewerSession.restore(store.load(s.viewer_id), store, s.viewer_id)
    assert list(reloaded.ratings) == list(s.ratings) == [1, 300, 7, 120, 50]
    assert list(reloaded.seed) == [50, 1]
    reloaded.replace({9: 2.0, 3: 5.0})  # an import keeps the file's order
    assert list(store.load(s.viewer_id).ratings) == [9, 3]


def test_forget_erases_the_saved_viewer_and_leaves_the_session_unsaved(tmp_path):
    store = ViewerStore(tmp_path / "viewers.sqlite3")
    s = ViewerSession.start("new", "", "New viewer", {}).saved_as(store, new_viewer_id())
    s.rate(1, 4)
    viewer_id = s.viewer_id
    s.forget()
    assert store.load(viewer_id) is None
    assert (s.viewer_id, s.store, s.ratings, s.added) == ("", None, {}, [])
    s.rate(2, 5)  # still usable in memory, saved nowhere
    assert store.load(viewer_id) is None


def test_an_exported_file_imports_back_in_the_same_order():
    catalog = pd.DataFrame({"video_id": [1, 7, 120, 300], "title": ["A", "B", "C", "D"]})
    s = ViewerSession.start("new", "", "New viewer", {})
    for video in (300, 7, 120):
        s.rate(video, 4)
    for export, name in ((export_csv, "r.csv"), (export_json, "r.json")):
        back = parse_import(export(s.ratings, catalog).encode(), name, catalog)
        assert list(back) == [300, 7, 120]
