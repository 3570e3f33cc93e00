"""vidrec: the Streamlit demo. Thin glue; everything it shows is computed by vidrec/."""

import time

import streamlit as st

from vidrec.config import Config
from vidrec.ui import compare, evaluation, explore, foryou, insight, presenter, sidebar
from vidrec.ui.common import (
    RUN_STARTED,
    errors_shown,
    loop_caption,
    run_started,
    server_time,
    show_callback_error,
)
from vidrec.ui.loader import get_demo, session_recommender

VIEWS = [
    "For you",
    "Browse & search",
    "Why these?",
    "Compare",
    "Interest map",
    "Add a video",
    "Evaluation",
    "How it works",
]

st.set_page_config(page_title="vidrec · live video recommendation", page_icon="🎬", layout="wide")


COMPACT = (
    "<style>.block-container {padding-top: 1.6rem; padding-bottom: 1rem}"
    " [data-testid='stHeader'] {background: transparent}"
    " [class*='st-key-card_'] {gap: 0.35rem}</style>"
)


def main() -> None:
    st.session_state[RUN_STARTED] = time.perf_counter()
    config = Config.from_env()
    demo = get_demo(config)
    st.sidebar.header("Who is watching?")
    bar = presenter.apply()  # presenter mode: a header bar instead of the (hidden) sidebar
    session = sidebar.viewer(demo, bar)
    controls = sidebar.controls(demo, bar)
    rec = session_recommender(demo, session)
    tags_of = sidebar.tag_lookup(demo, session)
    st.html(COMPACT)  # fixed CSS, no user text: more of the list fits on a laptop screen
    if bar is None:
        st.markdown(presenter.TITLE)
    show_callback_error()
    view = (
        st.segmented_control(
            "View", VIEWS, default=VIEWS[0], key="view", label_visibility="collapsed"
        )
        or VIEWS[0]
    )
    if view == "For you":  # a fragment: a rating there reruns only the list and the ratings
        foryou.live(rec, session, controls, tags_of)
        return
    if view == "Compare":  # a fragment too: a rating in any column reruns every column
        compare.live(demo, rec, session, controls, tags_of)
        return
    ranking, recs = foryou.recommendations(rec, session, controls.query(rec, tags_of))
    loop_caption(rec, session, recs)
    if view == "Browse & search":
        explore.render_browse(rec, session, controls, tags_of)
    elif view == "Why these?":
        insight.render_why(rec, ranking, recs)
    elif view == "Interest map":
        insight.render_map(demo, rec, ranking.profile, recs)
    elif view == "Add a video":
        explore.render_add(demo.rec, rec, session, demo.tagger, ranking)
    elif view == "Evaluation":
        evaluation.render_eval(config)
    else:
        insight.render_about(demo, rec, session)
    server_time(run_started())


with errors_shown():
    main()
