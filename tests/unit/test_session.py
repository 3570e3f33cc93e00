"""The viewer session: ratings, reset, and what moved in the list."""

import pytest

from vidrec.errors import DataError
from vidrec.viewer.session import ViewerSession


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
