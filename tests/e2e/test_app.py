"""The Streamlit app driven through AppTest on the real engine (built once per session).

Every list the app shows is checked against the engine itself, loaded afresh from disk apart from
the app: the cards must be exactly ``recommend()``'s list for the viewer's ratings and the knobs,
so a rating the app drops, a knob it miswires or a list it forgets to refresh all fail here.
"""

import base64
import json
import re

import numpy as np
import pytest

from vidrec.artifacts import load_artifacts
from vidrec.coldstart import with_videos
from vidrec.config import ASSETS
from vidrec.evaluation import results
from vidrec.evaluation.stars import cross_validate, vidrec_predictor
from vidrec.evaluation.topk import evaluate
from vidrec.ui.loader import STORE_FILE
from vidrec.viewer.store import ViewerStore

PERSONAS = json.loads((ASSETS / "personas.json").read_text("utf-8"))
RANK = re.compile(r"^\*\*(\d+)\. ")  # a card's heading: "**3. Title**"


@pytest.fixture(scope="module")
def engine(real_engine):
    """A second engine, loaded from the same artifacts: what the app's lists must equal."""
    return real_engine


def seed_of(engine, persona_id):
    """A persona's ratings straight from assets/personas.json (a repeated title: its lowest id)."""
    persona = next(p for p in PERSONAS if p["id"] == persona_id)
    first = engine.catalog.sort_values("video_id").drop_duplicates("title")
    ids = dict(zip(first["title"], first["video_id"]))
    return {int(ids[title]): float(stars) for title, stars in persona["ratings"].items()}


def expected(engine, ratings, k=10, alpha=None, diversity=0.0, allowed=None):
    """The engine's own top-k ids for these ratings and knobs (α None: the config's default)."""
    recs = engine.recommend(ratings, k=k, alpha=alpha, diversity=diversity, allowed=allowed)
    return recs["video_id"].tolist()


def card_ids(at):
    return [int(f.key.split("_")[1]) for f in at.get("feedback") if f.key.startswith("stars_")]


def ranked(at):
    """Card ids in rank order, read from each card's '**n. title**' heading (layout-free)."""
    ranks = [int(m.group(1)) for m in (RANK.match(md.value) for md in at.markdown) if m]
    ids = card_ids(at)
    assert sorted(ranks) == list(range(1, len(ids) + 1)), ranks
    return [video for _, video in sorted(zip(ranks, ids))]


def card_parts(at):
    """The 'content +x · collaborative +y · popularity +z' caption of every card."""
    return [c.value for c in at.caption if c.value.startswith("content ")]


def viewer(at):
    return at.session_state["viewer"]


def compare_columns(at):
    """The Compare view's lists, column by column, read off its star widgets' keys."""
    columns: dict[int, list[int]] = {}
    for f in at.get("feedback"):
        found = re.fullmatch(r"cmp(\d)_(\d+)", f.key)
        if found:
            columns.setdefault(int(found.group(1)), []).append(int(found.group(2)))
    return [columns[c] for c in sorted(columns)]


def saved_ratings(config, at):
    """What the store kept for this session's viewer (what a reload would bring back)."""
    return ViewerStore(config.home / STORE_FILE).load(viewer(at).viewer_id).ratings


def errors(at):
    return [e.value for e in at.error]


def test_opens_on_the_first_persona_with_its_list(app, engine):
    first = PERSONAS[0]["id"]
    seed = seed_of(engine, first)
    assert viewer(app).kind == "persona" and viewer(app).key == first
    assert viewer(app).ratings == seed
    assert len(card_ids(app)) == 10
    assert ranked(app) == expected(engine, seed)
    assert not errors(app)


def test_the_view_says_how_many_picks_content_moved(app, engine):
    """The picks that are there only for the content part: those the list without it (the same
    candidates re-ranked with the content part taken out) does not hold."""
    app.slider(key="alpha").set_value(0.3).run()
    ratings = viewer(app).ratings
    ranking = engine.rank(ratings, engine.query(k=10, alpha=0.3))
    alone = engine.video_ids[engine.rows_without_content(ranking)]
    moved = len(set(ranked(app)) - set(alone))
    assert moved > 0  # at α 0.3 the content side does put some picks there
    said = [c.value for c in app.caption if c.value.startswith("Content understanding (α")]
    assert said == [
        f"Content understanding (α = 0.3) puts {moved} of these 10 picks here: "
        "without its part of the score they would not be in the list."
    ]
    # at α 0 a viewer with fewer than 10 ratings still leans on content a little, and is told
    app.slider(key="alpha").set_value(0.0).run()
    n = len(ratings)
    lean = engine.config.alpha_new * (1 - n / engine.config.popularity_fade)
    assert 0 < lean == pytest.approx(engine.rank(ratings, engine.query(alpha=0.0)).alpha)
    ranking = engine.rank(ratings, engine.query(k=10, alpha=0.0))
    moved = len(set(ranked(app)) - set(engine.video_ids[engine.rows_without_content(ranking)]))
    said = [c.value for c in app.caption if c.value.startswith("Content understanding (α")]
    assert said == [
        f"Content understanding (α = {lean:.2g}) puts {moved} of these 10 picks here: "
        f"without its part of the score they would not be in the list. With {n} ratings your "
        f"list leans on content (α 0 → {lean:.2g}) until you have rated 10 videos."
    ]
    while len(viewer(app).ratings) < engine.config.popularity_fade:  # the lean fades out
        app.feedback(key=f"stars_{ranked(app)[0]}").set_value(4).run()
    assert not [c for c in app.caption if c.value.startswith("Content understanding (α")]


def test_choosing_another_persona_shows_that_personas_list(app, engine):
    before = ranked(app)
    app.selectbox(key="viewer_choice").select("horror-hound").run()
    seed = seed_of(engine, "horror-hound")
    assert viewer(app).key == "horror-hound" and viewer(app).ratings == seed
    assert ranked(app) == expected(engine, seed)
    assert ranked(app) != before


def test_rating_a_card_folds_in_exactly_that_rating_and_reranks(app, engine, built_config):
    before = dict(viewer(app).ratings)
    target = ranked(app)[0]
    app.feedback(key=f"stars_{target}").set_value(0).run()  # one star
    mine = {**before, target: 1.0}
    assert viewer(app).ratings == mine  # that rating, and nothing else changed
    assert saved_ratings(built_config, app) == mine
    after = ranked(app)
    assert target not in after
    assert after == expected(engine, mine)  # the list for the new ratings, not a stale one
    assert any(s.value == f"Your ratings ({len(mine)})" for s in app.subheader)


def test_changing_and_removing_a_rating(app, engine, built_config):
    seed = dict(viewer(app).ratings)
    rated = next(iter(seed))
    stars = int(seed[rated])
    app.feedback(key=f"mine_{rated}_{stars - 1}").set_value(4).run()
    changed = {**seed, rated: 5.0}
    assert viewer(app).ratings == changed and saved_ratings(built_config, app) == changed
    assert ranked(app) == expected(engine, changed)
    app.button(key=f"unrate_{rated}").click().run()
    removed = {v: s for v, s in seed.items() if v != rated}
    assert viewer(app).ratings == removed and saved_ratings(built_config, app) == removed
    assert ranked(app) == expected(engine, removed)


def test_alpha_extremes_are_the_engines_pure_lists(app, engine):
    seed = viewer(app).ratings
    app.slider(key="alpha").set_value(0.0).run()
    collaborative = ranked(app)
    assert collaborative == expected(engine, seed, alpha=0.0)
    # α = 0: no content share on any card (a persona's ≥ 5 ratings also fade popularity out)
    assert all(re.match(r"content [+-]0\.00 · ", c) for c in card_parts(app)), card_parts(app)
    app.slider(key="alpha").set_value(1.0).run()
    content = ranked(app)
    assert content == expected(engine, seed, alpha=1.0)
    assert all(re.search(r" · collaborative [+-]0\.00 · ", c) for c in card_parts(app))
    assert collaborative != content


def test_diversity_knob_reaches_the_engine(app, engine):
    seed = viewer(app).ratings
    plain = ranked(app)
    app.slider(key="diversity").set_value(0.5).run()
    assert ranked(app) == expected(engine, seed, diversity=0.5) != plain


def test_filters_and_size_apply(app, engine):
    seed = viewer(app).ratings
    catalog = engine.catalog
    horror = np.array(["Horror" in g.split("|") for g in catalog["genres"]])
    year = catalog["year"].astype("Float64")
    nineties = ((year >= 1990) & (year <= 1995)).fillna(False).to_numpy(bool)
    app.slider(key="k").set_value(5).run()
    assert ranked(app) == expected(engine, seed, k=5)
    app.multiselect(key="genres").set_value(["Horror"]).run()
    assert ranked(app) == expected(engine, seed, k=5, allowed=horror)
    app.slider(key="years").set_value((1990, 1995)).run()
    shown = ranked(app)
    assert shown == expected(engine, seed, k=5, allowed=horror & nineties)
    genres, years = catalog.set_index("video_id")["genres"], catalog.set_index("video_id")["year"]
    assert shown and all("Horror" in genres[v] and 1990 <= years[v] <= 1995 for v in shown)


def test_new_viewer_and_real_user(app, engine, built_config):
    app.selectbox(key="viewer_choice").select("__new__").run()
    assert viewer(app).ratings == {}
    assert ranked(app) == expected(engine, {}) and len(card_ids(app)) == 10
    app.selectbox(key="viewer_choice").select("__movielens__").run()
    app.number_input(key="movielens_user").set_value(196).run()
    ratings = load_artifacts(built_config).dataset.ratings
    mine = ratings[ratings["user_id"] == 196]
    real = {int(v): float(s) for v, s in zip(mine["video_id"], mine["rating"])}
    assert len(real) == 39  # MovieLens 100K's user 196
    assert viewer(app).key == "196" and viewer(app).ratings == real
    assert ranked(app) == expected(engine, real)
    assert not app.exception


@pytest.mark.parametrize(
    "view", ["Browse & search", "Why these?", "Interest map", "Add a video", "How it works"]
)
def test_every_view_renders(app, view):
    app.segmented_control(key="view").set_value(view).run()
    assert not app.exception and not errors(app)
    if view == "How it works":  # the committed results, in a sentence
        said = " ".join(m.value for m in app.markdown)
        assert "What the content side adds, measured" in said and "3 ratings" in said
    if view in ("Why these?", "Interest map"):
        assert len(app.get("plotly_chart")) >= 2


def test_compare_rating_in_one_column_reranks_all_three(app, engine, built_config):
    app.segmented_control(key="view").set_value("Compare").run()
    assert not app.exception and not errors(app)
    before = dict(viewer(app).ratings)
    methods = [expected(engine, before, alpha=a) for a in (0.0, 1.0, None)]
    assert compare_columns(app) == methods  # collaborative, content, the sidebar's blend
    pairs = app.dataframe[0].value
    assert pairs["lists"].tolist() == ["collaborative · content", "collaborative · blend",
                                       "content · blend"]  # fmt: skip
    shared = len(set(methods[0]) & set(methods[2]))
    assert pairs["shared"].tolist()[1] == shared
    target = compare_columns(app)[1][0]  # content's first pick, rated from its column
    app.feedback(key=f"cmp1_{target}").set_value(4).run()
    mine = {**before, target: 5.0}
    assert viewer(app).ratings == mine and saved_ratings(built_config, app) == mine
    assert compare_columns(app) == [expected(engine, mine, alpha=a) for a in (0.0, 1.0, None)]
    assert not app.exception and not errors(app)


def test_compare_raw_and_trained_readings_are_the_engines_own_lists(app, engine):
    """Issue 24: the same viewer's content-only lists read raw and read by the trained reader."""
    app.segmented_control(key="view").set_value("Compare").run()
    app.segmented_control(key="cmp_mode").set_value("Raw vs trained reading").run()
    assert not app.exception and not errors(app)
    ratings = dict(viewer(app).ratings)
    raw = expected(engine.with_settings(trained_reading=False), ratings, alpha=1.0)
    trained = expected(engine, ratings, alpha=1.0)
    assert compare_columns(app) == [raw, trained, expected(engine, ratings)]
    assert raw != trained  # the reader changes what content alone picks


def test_evaluation_view_renders_the_committed_results(app):
    app.segmented_control(key="view").set_value("Evaluation").run()
    assert not app.exception and not errors(app) and not app.warning
    assert len(app.table) >= 5  # A, B, C, tags; latency; scale (HTML tables: nothing is cut)
    charts = [c.key for c in app.get("plotly_chart")]
    assert charts == ["eval_sweep", "eval_speed", "eval_few"]  # α sweep, speed, few ratings
    captions = " ".join(c.value for c in app.caption)
    assert "python -m vidrec eval --sweep" in captions and "Protocol A" in captions
    assert "chosen on a validation split of the training ratings" in captions
    hybrid = app.table[0].value.set_index("method").loc["hybrid"]
    assert float(hybrid["nDCG@10"]) > 0.4 and hybrid["RMSE"] != "–"


def shown_as(value) -> str:
    """How a results table prints a number: about three significant digits, '–' for a gap."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    size = abs(value)
    return f"{value:,.{0 if size >= 100 else 1 if size >= 10 else 2 if size >= 1 else 3}f}"


@pytest.fixture
def tiny_results(tiny_built, tmp_path, monkeypatch):
    """A real protocol A (with a 3-point α sweep) and B run on the tiny catalog, saved with the
    results writer into a temp folder that the app's Evaluation view then reads."""
    rows = evaluate(tiny_built, alphas=(0.0, 0.5, 1.0), baselines=False)
    arts = load_artifacts(tiny_built)
    predict = vidrec_predictor(arts.dataset, tiny_built)
    rows.append(cross_validate("hybrid", predict, arts.dataset.ratings, folds=2))
    folder = tmp_path / "results"
    results.save("eval", rows, "pytest tiny eval", tiny_built, folder=folder)
    monkeypatch.setattr(results, "RESULTS", folder)
    return rows, json.loads((folder / "eval.json").read_text("utf-8"))


def array_of(data) -> np.ndarray:
    """A plotly figure's array as sent to the browser: a list, or typed bytes in base64."""
    if isinstance(data, dict):
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"])
    return np.asarray(data)


A_COLUMNS = {"nDCG@10": "ndcg@10", "P@10": "precision@10", "R@10": "recall@10",
             "MAP@10": "map@10", "coverage": "coverage", "diversity": "diversity",
             "RMSE": "rmse", "fit s": "fit_seconds"}  # fmt: skip
B_COLUMNS = {"RMSE": "rmse", "MAE": "mae", "fit s / fold": "fit_seconds"}


def test_evaluation_view_shows_the_numbers_the_code_computes(app, tiny_results):
    rows, doc = tiny_results
    app.segmented_control(key="view").set_value("Evaluation").run()
    assert not app.exception and not errors(app) and not app.warning
    a_rows = [r for r in rows if r["protocol"].startswith("A") and "α=" not in r["method"]]
    b_rows = [r for r in rows if r["protocol"].startswith("B")]
    assert len(app.table) == 3  # A, B, C; no tag rows, and bench and scale never ran here
    table_a, table_b, table_c = (d.value for d in app.table)
    assert table_a["method"].tolist() == [r["method"] for r in a_rows]
    for (_, shown), row in zip(table_a.iterrows(), a_rows):
        for header, key in A_COLUMNS.items():
            assert shown[header] == shown_as(row.get(key)), (row["method"], header)
    hybrid = next(r for r in a_rows if r["method"] == "hybrid")
    assert table_a.set_index("method").loc["hybrid", "nDCG@10"] == f"{hybrid['ndcg@10']:.3f}"
    assert table_b["method"].tolist() == ["hybrid"]
    for header, key in B_COLUMNS.items():
        assert table_b.iloc[0][header] == shown_as(b_rows[0][key])
    assert table_c.empty
    sweep = json.loads(app.get("plotly_chart")[0].proto.spec)["data"][0]  # nDCG@10 by α
    points = {r["alpha"]: r["ndcg@10"] for r in rows if "α=" in r["method"]}
    assert array_of(sweep["x"]).tolist() == [0.0, 0.5, 1.0]
    assert array_of(sweep["y"]).tolist() == [points[a] for a in (0.0, 0.5, 1.0)]
    captions = " ".join(c.value for c in app.caption)
    assert f"Generated {doc['generated']}" in captions and "pytest tiny eval" in captions
    missing = [i.value for i in app.info if "Not measured yet" in i.value]
    assert len(missing) == 4  # latency, scale, training scale and many viewers never ran here
    assert any("bench --viewers" in m for m in missing)


def figure(at, key) -> dict:
    """A chart's plotly figure as the browser gets it."""
    return json.loads(next(c for c in at.get("plotly_chart") if c.key == key).proto.spec)


def z_of(trace: dict) -> np.ndarray:
    """A heatmap's z: nested lists, or a typed array (base64 bytes, dtype, shape)."""
    z = trace["z"]
    if isinstance(z, dict):
        shape = [int(n) for n in str(z.get("shape", "-1")).split(",")]
        return array_of(z).reshape(shape)
    return np.asarray(z, dtype=np.float64)


def test_why_these_cells_add_up_to_each_picks_score_and_its_parts(app, engine):
    """Known identities of the exact split, read off the heatmap the viewer sees: a row's cells
    plus the popularity prior are the pick's score; its content and collaborative colourings
    add up to recommend()'s content and collaborative columns."""
    seed = viewer(app).ratings
    recs = engine.recommend(seed, k=10)
    app.segmented_control(key="view").set_value("Why these?").run()
    total = z_of(figure(app, "why_heatmap")["data"][0])
    assert total.shape == (10, len(seed))  # a persona's ≤ 20 ratings: each one a column
    expected_total = recs["score"] - recs["popularity_score"]
    np.testing.assert_allclose(total.sum(1), expected_total, atol=1e-4)
    for show, column in (("content", "content_score"), ("collaborative", "collab_score")):
        app.radio(key="why_show").set_value(show).run()
        assert not app.exception and not errors(app)
        part = z_of(figure(app, "why_heatmap")["data"][0])
        np.testing.assert_allclose(part.sum(1), recs[column], atol=1e-4)


def test_what_if_table_holds_the_rank_after_each_rating_is_taken_away(app, engine):
    """Issue 22: this test used to accept either of two sentences. Its oracle now is the engine
    itself re-run without each rating in turn (200 deep, no diversity, as the view says)."""
    seed = viewer(app).ratings
    pick = ranked(app)[1]
    app.segmented_control(key="view").set_value("Why these?").run()
    app.selectbox(key="what_if_video").select_index(1).run()
    assert not app.exception and not errors(app)

    def rank(ratings) -> int | None:
        ids = expected(engine, ratings, k=200)
        return ids.index(pick) + 1 if pick in ids else None

    title = engine.catalog.set_index("video_id")["title"]
    now = rank(seed)
    without = {title[v]: rank({u: s for u, s in seed.items() if u != v}) for v in seed}
    table = app.dataframe[0].value
    shown = dict(zip(table["without your rating of"], table["rank"]))
    assert shown == {t: f"#{r}" if r else "> 200" for t, r in without.items()}
    falls = {t: (r or 201) - now for t, r in without.items()}
    assert dict(zip(table["without your rating of"], table["falls by"])) == falls
    (said,) = [m.value for m in app.markdown if "this pick" in m.value]
    biggest = max(falls.values())
    if biggest == 0:
        assert said.startswith(f"No single rating moves this pick from #{now}.")
    else:  # the rating whose removal moves the pick most (any of them, when several tie)
        head = re.match(
            r"Without your rating of \*(.+?)\* this pick would move from #(\d+) to (.+?)\.", said
        )
        assert head and falls[head[1]] == biggest and int(head[2]) == now, said
        assert head[3] == (f"#{without[head[1]]}" if without[head[1]] else "below #200")
    out = {t for t, r in without.items() if (r or 201) > 10}  # each of these drops it from view
    if out:
        listed = said.split("takes it out of your top 10: ")[1]
        assert set(re.findall(r"\*(.+?)\*", listed)) == out
    else:
        assert said.endswith("No single rating taken away takes it out of your top 10.")


def test_token_attention_shows_the_encoders_own_weights(app, engine):
    """The heatmap is the chosen layer and head of the encoder's attention, then its rollout."""
    first = ranked(app)[0]  # the view opens on the first pick's text
    app.segmented_control(key="view").set_value("Why these?").run()
    text = engine.catalog.set_index("video_id").loc[first, "text"]
    att = engine.encoder.attentions(text)
    app.selectbox(key="token_head").select(3).run()
    heat = figure(app, "token_heatmap")
    assert heat["layout"]["title"]["text"] == "layer 6, head 3"
    np.testing.assert_allclose(z_of(heat["data"][0]), att.weights[5, 2], atol=1e-5)
    app.radio(key="token_mode").set_value("rollout").run()
    heat = figure(app, "token_heatmap")
    assert heat["layout"]["title"]["text"] == "attention rollout through all layers"
    np.testing.assert_allclose(z_of(heat["data"][0]), att.rollout(), atol=1e-5)
    assert not app.exception and not errors(app)
    # beside it, the trained reader's own pooling weights on the same word pieces
    ids, weights = engine.reading.token_weights(int(engine.videos.rows_of([first])[0]))
    strip = z_of(figure(app, "trained_token_strip")["data"][0]).ravel()
    np.testing.assert_allclose(strip[: len(weights)], weights, atol=1e-6)
    assert engine.encoder.token_strings(ids) == att.tokens  # the words the Transformer read


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


def test_added_video_is_searchable_and_recommended(app, engine):
    add_video(
        app,
        "Robot Star Rebellion (2026)",
        "A rebel pilot and two droids fight an evil galactic empire with lightsabers.",
        ["Sci-Fi", "Adventure", "Action"],
    )
    assert not errors(app), errors(app)
    added = viewer(app).added[0]
    # it says where it stands in the viewer's For you ranking: the engine's own order
    ranking = with_videos(engine, [added]).rank(viewer(app).ratings)
    order = ranking.pool[np.argsort(-ranking.scores, kind="stable")]
    place = 1 + int(np.flatnonzero(order == len(engine.catalog))[0])
    said = [c.value for c in app.caption if " in your For you ranking " in c.value]
    assert len(said) == 1 and f" #{place} of {len(ranking.pool):,} " in said[0], (said, place)
    assert place <= 50  # a Sci-Fi space opera lands in the top 3% of the Sci-fi fan's ranking
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


def test_reset_restores_exactly_the_seed(app, engine, built_config):
    seed = seed_of(engine, PERSONAS[0]["id"])
    app.feedback(key=f"stars_{ranked(app)[0]}").set_value(4).run()
    app.button(key=f"unrate_{next(iter(seed))}").click().run()
    assert viewer(app).ratings != seed
    app.button(key="reset_viewer").click().run()
    assert viewer(app).ratings == seed and saved_ratings(built_config, app) == seed
    assert ranked(app) == expected(engine, seed)
