"""Sidebar: who is watching, and the knobs that shape the list."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from vidrec.coldstart import new_video
from vidrec.data.schema import genre_list
from vidrec.recommender import HybridRecommender, Query
from vidrec.ui import guide, presenter
from vidrec.ui.common import md, safely
from vidrec.ui.loader import SESSION_REC, get_store
from vidrec.viewer.demo import Demo
from vidrec.viewer.session import ViewerSession
from vidrec.viewer.store import ViewerStore, new_viewer_id

NEW_VIEWER, MOVIELENS_USER = "__new__", "__movielens__"


@dataclass(frozen=True)
class Controls:
    """The presenter's knobs; ``signature`` lets the list tell what changed."""

    alpha: float
    k: int
    diversity: float
    genres: tuple[str, ...]
    years: tuple[int, int] | None
    tags: tuple[str, ...] = ()

    def query(self, rec: HybridRecommender, tags_of=None) -> Query:
        """The knobs as the engine's validated Query, with the filters' mask made once."""
        allowed = self.allowed(rec.catalog, tags_of)
        return rec.query(k=self.k, alpha=self.alpha, diversity=self.diversity, allowed=allowed)

    def allowed(self, catalog: pd.DataFrame, tags_of=None) -> np.ndarray | None:
        """Boolean mask of catalog rows passing the genre, year and tag filters (None: none)."""
        if not self.genres and self.years is None and not self.tags:
            return None
        mask = np.ones(len(catalog), dtype=bool)
        if self.genres:
            wanted = set(self.genres)
            mask &= catalog["genres"].map(lambda g: bool(wanted & set(genre_list(g)))).to_numpy()
        if self.years is not None:
            year = catalog["year"].astype("Float64").fillna(-1).to_numpy()
            mask &= (year >= self.years[0]) & (year <= self.years[1])
        if self.tags and tags_of is not None:
            wanted = set(self.tags)
            mask &= np.array([bool(wanted & set(tags_of(v))) for v in catalog["video_id"]])
        return mask


def viewer(demo: Demo) -> ViewerSession:
    """The viewer picker. The viewer id in the URL brings a saved viewer back on reload; switching
    viewer starts a new saved viewer with a fresh id."""
    presenter.apply()
    store = get_store(str(demo.rec.config.home))
    if "viewer" not in st.session_state:
        _restore(demo, store)
    options = [p.id for p in demo.personas] + [MOVIELENS_USER, NEW_VIEWER]
    names = {p.id: f"{p.icon} {p.name}" for p in demo.personas}
    names.update(
        {MOVIELENS_USER: "👤 A real MovieLens user", NEW_VIEWER: "✨ New viewer (no ratings)"}
    )
    st.sidebar.selectbox(
        "Viewer",
        options,
        format_func=names.get,
        key="viewer_choice",
        on_change=safely(_switch),
        args=(demo, store),
    )
    if st.session_state.get("viewer_choice") == MOVIELENS_USER and demo.users is not None:
        ids = demo.users["user_id"]
        st.sidebar.number_input(
            "MovieLens user id",
            int(ids.min()),
            int(ids.max()),
            value=int(ids.min()),
            step=1,
            key="movielens_user",
            on_change=safely(_switch),
            args=(demo, store),
        )
    session: ViewerSession = st.session_state["viewer"]
    if st.query_params.get("viewer") != session.viewer_id:
        st.query_params["viewer"] = session.viewer_id
    _describe(demo, session)
    st.sidebar.button(
        "↺ Reset this viewer",
        key="reset_viewer",
        use_container_width=True,
        help="Back to the viewer's starting ratings; added videos are removed",
        on_click=safely(session.reset),
    )
    presenter.toggle()
    guide.render(session)
    return session


def _restore(demo: Demo, store: ViewerStore) -> None:
    """The viewer named in the URL as saved, or (unknown id) a fresh default viewer."""
    viewer_id = st.query_params.get("viewer")
    saved = store.load(viewer_id)
    if saved is None:
        _switch(demo, store)
        return
    added = [
        new_video(demo.rec, v.title, v.description, v.genres, v.video_id, tagger=demo.tagger)
        for v in saved.added
    ]
    st.session_state["viewer"] = ViewerSession.restore(saved, store, viewer_id, added)
    if saved.kind == "persona" and any(p.id == saved.key for p in demo.personas):
        st.session_state["viewer_choice"] = saved.key
    elif saved.kind == "movielens":
        st.session_state["viewer_choice"] = MOVIELENS_USER
        st.session_state["movielens_user"] = int(saved.key)
    else:
        st.session_state["viewer_choice"] = NEW_VIEWER


def _switch(demo: Demo, store: ViewerStore) -> None:
    choice = st.session_state.get("viewer_choice") or (
        demo.personas[0].id if demo.personas else NEW_VIEWER
    )
    if choice == NEW_VIEWER:
        session = ViewerSession.start("new", "", "New viewer", {})
    elif choice == MOVIELENS_USER:
        uid = int(st.session_state.get("movielens_user") or demo.users["user_id"].min())
        session = ViewerSession.start(
            "movielens", str(uid), f"MovieLens user {uid}", demo.user_ratings(uid)
        )
    else:
        persona = next(p for p in demo.personas if p.id == choice)
        session = ViewerSession.start(
            "persona", persona.id, persona.name, demo.persona_ratings[persona.id]
        )
    st.session_state["viewer"] = session.saved_as(store, new_viewer_id())
    st.session_state.pop(SESSION_REC, None)


def _describe(demo: Demo, session: ViewerSession) -> None:
    if session.kind == "persona":
        persona = next(p for p in demo.personas if p.id == session.key)
        st.sidebar.caption(md(persona.bio))
    elif session.kind == "movielens" and demo.users is not None:
        row = demo.users[demo.users["user_id"] == int(session.key)]
        if not row.empty:
            u = row.iloc[0]
            st.sidebar.caption(
                md(
                    f"Age {u['age']} · {u['gender']} · {u['occupation']} · "
                    f"{len(session.seed)} real ratings"
                )
            )
    else:
        st.sidebar.caption("No history yet: rate a few videos and watch the list adapt.")


def controls(demo: Demo) -> Controls:
    """Blend, size, diversity and filters."""
    st.sidebar.divider()
    st.sidebar.subheader("Controls")
    alpha = st.sidebar.slider(
        "Blend: collaborative ← → content",
        0.0,
        1.0,
        demo.rec.config.alpha,
        0.05,
        key="alpha",
        help="0 = only what similar viewers liked (MF); "
        "1 = only what the Transformer reads as similar to your ratings",
    )
    k = st.sidebar.slider("Number of results", 3, 30, 10, key="k")
    diversity = st.sidebar.slider(
        "Diversity (MMR)",
        0.0,
        1.0,
        0.0,
        0.05,
        key="diversity",
        help="Trade a little relevance for variety in the list",
    )
    all_genres, (lo, hi), vocab = demo.filter_options
    genres = st.sidebar.multiselect("Only these genres", all_genres, key="genres")
    span = st.sidebar.slider("Release years", lo, hi, (lo, hi), key="years")
    tags = st.sidebar.multiselect(
        "Only these tags",
        vocab,
        key="tags",
        help="Tags the zero-shot tagger generated from each video's text",
    )
    return Controls(
        alpha,
        int(k),
        diversity,
        tuple(genres),
        None if span == (lo, hi) else tuple(span),
        tuple(tags),
    )


def tag_lookup(demo: Demo, session: ViewerSession):
    """video_id -> generated tags, for catalog videos and this session's added ones."""
    added = {v.video_id: list(v.tags) for v in session.added}
    return lambda video_id: demo.video_tags.get(int(video_id)) or added.get(int(video_id), [])
