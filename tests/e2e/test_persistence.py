"""Nothing lost: a viewer comes back from the id in the URL, as a reload or restart would."""

import pytest
from conftest import run_app

from vidrec.errors import DataError
from vidrec.viewer.session import ViewerSession
from vidrec.viewer.store import ViewerStore, new_viewer_id


@pytest.fixture
def open_app(built_config, monkeypatch):
    """Open the app as a fresh browser session would, optionally with ?viewer=<id>."""

    def run(viewer_id=None):
        at = run_app(built_config.home, monkeypatch, viewer_id)
        assert not at.error, [e.value for e in at.error]
        return at

    return run


def viewer(at) -> ViewerSession:
    return at.session_state["viewer"]


def cards(at) -> list[int]:
    return [int(f.key.split("_")[1]) for f in at.get("feedback") if f.key.startswith("stars_")]


def test_the_url_carries_a_fresh_id_and_a_reload_brings_the_ratings_back(open_app):
    first = open_app()
    vid = first.query_params["viewer"]
    assert vid == viewer(first).viewer_id and len(vid) == 22
    target = cards(first)[0]
    first.feedback(key=f"stars_{target}").set_value(3).run()  # four stars
    first.button(key=f"unrate_{next(iter(viewer(first).seed))}").click().run()
    again = open_app(vid)
    assert viewer(again).ratings == viewer(first).ratings and viewer(again).ratings[target] == 4.0
    assert viewer(again).label == viewer(first).label and cards(again) == cards(first)


def test_a_real_user_comes_back_with_the_picker_on_that_user(open_app):
    at = open_app()
    at.selectbox(key="viewer_choice").select("__movielens__").run()
    at.number_input(key="movielens_user").set_value(42).run()
    vid = at.query_params["viewer"]
    again = open_app(vid)
    assert viewer(again).key == "42" and again.number_input(key="movielens_user").value == 42
    assert again.selectbox(key="viewer_choice").value == "__movielens__"


def test_switching_viewer_starts_a_new_id_and_the_old_link_still_works(open_app):
    at = open_app()
    old, old_ratings = at.query_params["viewer"], dict(viewer(at).ratings)
    at.selectbox(key="viewer_choice").select("__new__").run()
    assert at.query_params["viewer"] != old and viewer(at).ratings == {}
    assert viewer(open_app(old)).ratings == old_ratings


def test_added_videos_are_recreated_from_their_text(open_app):
    at = open_app()
    at.segmented_control(key="view").set_value("Add a video").run()
    at.text_input(key="add_title").input("Clockwork Harbour (2026)")
    at.text_area(key="add_description").input("A lighthouse keeper builds a robot to find a ship.")
    at.multiselect(key="add_genres").set_value(["Sci-Fi", "Drama"])
    next(b for b in at.button if b.label == "Add to my catalog").click().run()
    made = viewer(at).added[0]
    back = viewer(open_app(at.query_params["viewer"])).added
    assert [(v.video_id, v.title, v.genres) for v in back] == [
        (made.video_id, made.title, made.genres)
    ]
    assert abs(float(back[0].embedding @ made.embedding) - 1) < 1e-4


@pytest.mark.parametrize("bad", ["", "nope", "x" * 22, "' OR 1=1 --", "a" * 5000])
def test_unknown_or_malformed_ids_start_a_fresh_viewer(open_app, bad):
    at = open_app(bad)
    assert at.query_params["viewer"] != bad and viewer(at).kind == "persona"


def test_a_failed_save_changes_nothing(tmp_path):
    store = ViewerStore(tmp_path / "v.sqlite3")
    session = ViewerSession.start("new", "", "New viewer", {}).saved_as(store, new_viewer_id())
    session.rate(1, 5)
    with pytest.raises(DataError):
        session.replace({1: 3.0, 2: 9.0})  # one bad row: nothing applied
    with pytest.raises(DataError):
        session.rate(2, 0)
    assert session.ratings == {1: 5.0} == store.load(session.viewer_id).ratings
    session.replace({2: 3.5, 3: 0.5})
    assert store.load(session.viewer_id).ratings == {2: 3.5, 3: 0.5}
    session.reset()
    assert session.ratings == {} == store.load(session.viewer_id).ratings
