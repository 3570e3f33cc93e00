"""Browse & search the catalog (by title or by meaning), and add a brand-new video."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from vidrec.coldstart import new_video, next_video_id
from vidrec.data.schema import GENRES, MAX_DESCRIPTION, MAX_TITLE
from vidrec.recommender import HybridRecommender
from vidrec.ui.common import errors_shown, md
from vidrec.ui.foryou import rate_widget
from vidrec.ui.sidebar import Controls
from vidrec.viewer.session import ViewerSession

MAX_SEARCH_CHARS = 500
SHOWN = 24


def render_browse(
    rec: HybridRecommender, session: ViewerSession, controls: Controls, tags_of
) -> None:
    """Find videos by title or by a plain-language description, and rate them."""
    st.subheader("Browse & search")
    mode = st.radio(
        "Search by", ["Title", "Meaning (Transformer + FAISS)"], horizontal=True, key="search_mode"
    )
    text = st.text_input(
        "Search",
        key="search_text",
        max_chars=MAX_SEARCH_CHARS,
        placeholder="e.g. funny space adventure with robots"
        if mode != "Title"
        else "e.g. star wars",
        label_visibility="collapsed",
    )
    with errors_shown():
        found = _find(rec, text, mode)
        mask = controls.allowed(rec.catalog, tags_of)
        if mask is not None:
            keep = set(rec.catalog.loc[mask, "video_id"])
            found = found[found["video_id"].isin(keep)]
        st.caption(_caption(text, mode, len(found)))
        for row in found.head(SHOWN).itertuples(index=False):
            _result(row, session, tags_of(row.video_id))


def _find(rec: HybridRecommender, text: str, mode: str) -> pd.DataFrame:
    text = (text or "").strip()
    if not text:
        return rec.videos.popular(SHOWN)
    if mode == "Title":
        hit = rec.catalog["title"].str.contains(text, case=False, regex=False)
        return rec.catalog.loc[hit, ["video_id", "title", "year", "genres"]]
    return rec.videos.search(text, k=SHOWN * 2)


def _caption(text: str, mode: str, n: int) -> str:
    if not (text or "").strip():
        return "Most-rated videos. Type to search."
    how = "titles containing your text" if mode == "Title" else "nearest videos by meaning"
    return f"{n} result(s): {how}."


def _result(row, session: ViewerSession, tags: list[str]) -> None:
    with st.container(border=True, key=f"found_{row.video_id}"):
        left, right = st.columns([4, 2])
        sim = f" · similarity {row.similarity:.2f}" if hasattr(row, "similarity") else ""
        genres = md(row.genres.replace("|", " · ")) if row.genres else "no genre listed"
        tag_line = f"  \n🏷️ {md(' · '.join(tags))}" if tags else ""
        left.markdown(f"**{md(row.title)}**  \n{genres}{sim}{tag_line}")
        with right:
            rate_widget(session, row.video_id, f"browse_{row.video_id}")


def render_add(
    base: HybridRecommender, rec: HybridRecommender, session: ViewerSession, tagger
) -> None:
    """Cold start: a new video is embedded, mapped into the collaborative space, recommendable."""
    st.subheader("Add a video (cold start)")
    st.caption(
        "Nobody has rated it, so its collaborative position is predicted from its text: a ridge "
        "map learned on the rated films turns its Transformer embedding into MF factors. It "
        "exists only in your session."
    )
    with st.form("add_video", clear_on_submit=False):
        title = st.text_input("Title", max_chars=MAX_TITLE, key="add_title")
        description = st.text_area(
            "Description",
            max_chars=MAX_DESCRIPTION,
            key="add_description",
            placeholder="What is it about? Setting, mood, story…",
        )
        genres = st.multiselect("Genres", list(GENRES), key="add_genres")
        submitted = st.form_submit_button("Add to my catalog", type="primary")
    if submitted:
        with errors_shown():
            vid = next_video_id(base, session.added)
            video = new_video(base, title, description, genres, vid, tagger=tagger)
            session.add_video(video)
            st.session_state["added_message"] = (
                f"Added {md(video.title)}: it can now be recommended, searched and rated."
            )
            st.rerun()  # rebuild the session's view so the new video is known everywhere
    if "added_message" in st.session_state:
        st.success(st.session_state.pop("added_message"))
    for video in reversed(session.added):
        _added(video, rec, session)


def _added(video, rec: HybridRecommender, session: ViewerSession) -> None:
    with st.container(border=True, key=f"added_{video.video_id}"):
        st.markdown(f"**{md(video.title)}** · {md(video.genres.replace('|', ' · ') or 'no genre')}")
        if video.tags:
            st.caption(f"🏷️ Generated tags: {md(' · '.join(video.tags))}")
        predicted = rec.predict(session.ratings, [video.video_id])[0]
        st.caption(f"Predicted for you: {predicted:.1f}★ · the catalog videos it reads most like:")
        st.dataframe(
            video.neighbours.head(8)[["title", "similarity"]],
            hide_index=True,
            use_container_width=True,
            column_config={
                "similarity": st.column_config.ProgressColumn(
                    "content similarity", min_value=0.0, max_value=1.0, format="%.2f"
                )
            },
        )
