"""The Streamlit app driven through AppTest on the real engine (built once per session)."""

import pytest
from streamlit.testing.v1 import AppTest

from vidrec.artifacts import load_artifacts

TIMEOUT = 300  # the first run in a process loads the Transformer and the artifacts


@pytest.fixture
def app(built_config, monkeypatch):
    monkeypatch.setenv("VIDREC_HOME", str(built_config.home))
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def card_ids(at):
    return [int(f.key.split("_")[1]) for f in at.get("feedback") if f.key.startswith("stars_")]


def viewer(at):
    return at.session_state["viewer"]


def errors(at):
    return [e.value for e in at.error]


def test_opens_on_a_persona_with_a_full_list(app):
    assert viewer(app).kind == "persona" and len(viewer(app).ratings) >= 5
    assert len(card_ids(app)) == 10
    assert not set(card_ids(app)) & set(viewer(app).ratings)
    assert not errors(app)


def test_choosing_another_persona_changes_the_list(app):
    before = card_ids(app)
    app.selectbox(key="viewer_choice").select("horror-hound").run()
    assert viewer(app).key == "horror-hound"
    assert card_ids(app) != before


def test_rating_a_card_folds_in_and_refreshes(app):
    before = card_ids(app)
    target = before[0]
    app.feedback(key=f"stars_{target}").set_value(0).run()  # one star
    assert viewer(app).ratings[target] == 1.0
    after = card_ids(app)
    assert target not in after and after != before


def test_changing_and_removing_a_rating(app):
    rated = next(iter(viewer(app).ratings))
    stars = int(viewer(app).ratings[rated])
    app.feedback(key=f"mine_{rated}_{stars - 1}").set_value(4).run()
    assert viewer(app).ratings[rated] == 5.0
    app.button(key=f"unrate_{rated}").click().run()
    assert rated not in viewer(app).ratings


def test_alpha_extremes_change_the_order(app):
    app.slider(key="alpha").set_value(0.0).run()
    collaborative = card_ids(app)
    app.slider(key="alpha").set_value(1.0).run()
    content = card_ids(app)
    assert collaborative != content


def test_filters_and_size_apply(app, built_config):
    catalog = load_artifacts(built_config).dataset.catalog.set_index("video_id")
    genres, years = catalog["genres"], catalog["year"]
    app.slider(key="k").set_value(5).run()
    assert len(card_ids(app)) == 5
    app.multiselect(key="genres").set_value(["Horror"]).run()
    assert len(card_ids(app)) == 5
    assert all("Horror" in genres[v] for v in card_ids(app))
    app.slider(key="years").set_value((1990, 1995)).run()
    assert card_ids(app) and all("Horror" in genres[v] for v in card_ids(app))
    assert all(1990 <= years[v] <= 1995 for v in card_ids(app))


def test_new_viewer_and_real_user(app):
    app.selectbox(key="viewer_choice").select("__new__").run()
    assert viewer(app).ratings == {} and len(card_ids(app)) == 10
    app.selectbox(key="viewer_choice").select("__movielens__").run()
    app.number_input(key="movielens_user").set_value(196).run()
    assert viewer(app).key == "196" and len(viewer(app).ratings) == 39
    assert not app.exception


@pytest.mark.parametrize(
    "view", ["Browse & search", "Why these?", "Interest map", "Add a video", "How it works"]
)
def test_every_view_renders(app, view):
    app.segmented_control(key="view").set_value(view).run()
    assert not app.exception and not errors(app)
    if view in ("Why these?", "Interest map"):
        assert len(app.get("plotly_chart")) >= 2


def test_evaluation_view_shows_the_saved_results(app):
    app.segmented_control(key="view").set_value("Evaluation").run()
    assert not app.exception and not errors(app) and not app.warning
    assert len(app.dataframe) >= 5  # A, B, C, tags; latency; scale
    assert len(app.get("plotly_chart")) == 2  # the α sweep, quality vs training time
    captions = " ".join(c.value for c in app.caption)
    assert "python -m vidrec eval --sweep" in captions and "Protocol A" in captions
    hybrid = app.dataframe[0].value.set_index("method").loc["hybrid"]
    assert float(hybrid["nDCG@10"]) > 0.4 and hybrid["RMSE"] != "–"


def test_token_attention_controls(app):
    app.segmented_control(key="view").set_value("Why these?").run()
    app.selectbox(key="token_head").select(3).run()
    app.radio(key="token_mode").set_value("rollout").run()
    assert not app.exception and not errors(app)


def test_search_by_meaning(app):
    app.segmented_control(key="view").set_value("Browse & search").run()
    app.radio(key="search_mode").set_value("Meaning (Transformer + FAISS)").run()
    app.text_input(key="search_text").input("animated toys come to life").run()
    assert any("Toy Story" in m.value for m in app.markdown)


def add_video(app, title, description, genres):
    app.segmented_control(key="view").set_value("Add a video").run()
    app.text_input(key="add_title").input(title)
    app.text_area(key="add_description").input(description)
    app.multiselect(key="add_genres").set_value(genres)
    next(b for b in app.button if b.label == "Add to my catalog").click().run()


def test_added_video_is_searchable_and_recommended(app):
    add_video(
        app,
        "Robot Star Rebellion (2026)",
        "A rebel pilot and two droids fight an evil galactic empire with lightsabers.",
        ["Sci-Fi", "Adventure", "Action"],
    )
    assert not errors(app), errors(app)
    added = viewer(app).added[0]
    app.segmented_control(key="view").set_value("Browse & search").run()
    app.radio(key="search_mode").set_value("Meaning (Transformer + FAISS)").run()
    app.text_input(key="search_text").input("droids and lightsabers against an empire").run()
    assert any("Robot Star Rebellion" in m.value for m in app.markdown)
    app.segmented_control(key="view").set_value("For you").run()
    app.slider(key="alpha").set_value(0.5).run()  # a video nobody rated leans on its content
    app.slider(key="k").set_value(30).run()
    assert added.video_id in card_ids(app)


def test_bad_new_video_shows_a_message_not_a_traceback(app):
    add_video(app, "   ", "", [])
    assert not app.exception
    assert any("needs a title" in e for e in errors(app))


def test_reset_restores_the_seed(app):
    seed = dict(viewer(app).seed)
    app.feedback(key=f"stars_{card_ids(app)[0]}").set_value(4).run()
    assert viewer(app).ratings != seed
    app.button(key="reset_viewer").click().run()
    assert viewer(app).ratings == seed
