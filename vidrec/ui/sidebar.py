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
from vidrec.ui.common import md, plural, safely
from vidrec.ui.loader import SESSION_REC, get_store
from vidrec.viewer.demo import Demo
from vidrec.viewer.session import ViewerSession
from vidrec.viewer.store import ViewerStore, new_viewer_id

NEW_VIEWER, MOVIELENS_USER = "__new__", "__movielens__"
USER_ID, USER_ERROR = "movielens_user", "_movielens_error"  # the id box, and why it was refused
FORGOTTEN = "_viewer_forgotten"  # the note shown once after a viewer was deleted
STORED = (  # what the store keeps, said beside the button that deletes it
    "Your ratings and added videos are saved on this server under the id in this page's link. "
    "The link is the only key: anyone with it can see and change them."
)


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


def viewer(demo: Demo, bar: presenter.Bar | None = None) -> ViewerSession:
    """The viewer picker. The viewer id in the URL brings a saved viewer back on reload; switching
    viewer starts a new saved viewer with a fresh id. In presenter mode the picker and the guided
    start are drawn into the header ``bar``; the rest of the sidebar is hidden there."""
    store = get_store(str(demo.rec.config.home), demo.rec.config.retention_days)
    if "viewer" not in st.session_state:
        _restore(demo, store)
    where = st.sidebar if bar is None else bar.viewer
    options = [p.id for p in demo.personas] + [MOVIELENS_USER, NEW_VIEWER]
    names = {p.id: f"{p.icon} {p.name}" for p in demo.personas}
    names.update(
        {MOVIELENS_USER: "👤 A real MovieLens user", NEW_VIEWER: "✨ New viewer (no ratings)"}
    )
    where.selectbox(
        "Viewer",
        options,
        format_func=names.get,
        key="viewer_choice",
        on_change=safely(_switch),
        args=(demo, store),
        label_visibility="visible" if bar is None else "collapsed",
    )
    if st.session_state.get("viewer_choice") == MOVIELENS_USER and demo.users is not None:
        _movielens_id(demo, store, where)
    session: ViewerSession = st.session_state["viewer"]
    if st.query_params.get("viewer") != session.viewer_id:
        st.query_params["viewer"] = session.viewer_id
    if bar is not None:
        guide.render(session, bar.guide)
        return session
    _describe(demo, session)
    guide.render(session)
    reset, forget = st.sidebar.columns(2, gap="small")
    reset.button(
        "↺ Reset",
        key="reset_viewer",
        use_container_width=True,
        help="Back to this viewer's starting ratings; added videos are removed",
        on_click=safely(session.reset),
    )
    _forget_action(demo, store, session, forget)
    presenter.toggle()
    return session


def _movielens_id(demo: Demo, store: ViewerStore, where) -> None:
    """The user id box: any number can be typed; one that is no user gets a message naming the
    valid range, and the box goes back to the user still shown."""
    lo, hi = _user_range(demo)
    where.number_input(
        "MovieLens user id",
        value=None if USER_ID in st.session_state else lo,
        step=1,
        key=USER_ID,
        on_change=safely(_pick_user),
        args=(demo, store),
        help=f"A real person from MovieLens 100K, by id: {lo} to {hi}",
    )
    message = st.session_state.pop(USER_ERROR, None)
    if message:
        where.error(message, icon="⚠️")


def _user_range(demo: Demo) -> tuple[int, int]:
    ids = demo.users["user_id"]
    return int(ids.min()), int(ids.max())


def _pick_user(demo: Demo, store: ViewerStore) -> None:
    typed = st.session_state.get(USER_ID)
    known = typed is not None and float(typed).is_integer()
    if known and bool((demo.users["user_id"] == int(typed)).any()):
        _switch(demo, store)
        return
    lo, hi = _user_range(demo)
    session: ViewerSession = st.session_state["viewer"]
    st.session_state[USER_ID] = int(session.key) if session.kind == "movielens" else lo
    what = "No id typed" if typed is None else f"There is no MovieLens user {typed:g}"
    st.session_state[USER_ERROR] = (
        f"{what}: ids run from {lo} to {hi}. Still showing {md(session.label)}."
    )


def _forget_action(demo: Demo, store: ViewerStore, session: ViewerSession, where) -> None:
    """Delete this viewer from the server, after a confirmation, and start a new empty one."""
    with where.popover(  # keyed by viewer: the next viewer's confirmation starts closed
        "🗑 Delete…", use_container_width=True, help="Delete this viewer",
        key=f"forget_{session.viewer_id}",
    ):  # fmt: skip
        st.markdown(
            f"Delete **{md(session.label)}** from this server for good: "
            f"{plural(len(session.ratings), 'rating')} and "
            f"{plural(len(session.added), 'added video')}. The link stops working, and a new "
            "viewer with no ratings starts."
        )
        st.button(
            "Delete this viewer",
            key="forget_viewer",
            type="primary",
            on_click=safely(_forget),
            args=(demo, store),
        )
    if note := st.session_state.pop(FORGOTTEN, None):
        st.sidebar.success(note)
    st.sidebar.caption(STORED)


def _forget(demo: Demo, store: ViewerStore) -> None:
    st.session_state["viewer"].forget()
    st.session_state["viewer_choice"] = NEW_VIEWER
    _switch(demo, store)
    st.session_state[FORGOTTEN] = "The viewer was deleted from this server. This is a new viewer."


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
        st.session_state[USER_ID] = int(saved.key)
    else:
        st.session_state["viewer_choice"] = NEW_VIEWER


def _switch(demo: Demo, store: ViewerStore) -> None:
    choice = st.session_state.get("viewer_choice") or (
        demo.personas[0].id if demo.personas else NEW_VIEWER
    )
    if choice == NEW_VIEWER:
        session = ViewerSession.start("new", "", "New viewer", {})
    elif choice == MOVIELENS_USER:
        uid = int(st.session_state.get(USER_ID) or _user_range(demo)[0])
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
                    f"{plural(len(session.seed), 'real rating')}"
                )
            )
    else:
        st.sidebar.caption("No history yet: rate a few videos and watch the list adapt.")


def _lean_help(config) -> str:
    """How a new viewer's α is raised, when it is."""
    if not config.alpha_new:
        return ""
    return (
        f". A viewer with few ratings leans on content: α is at least {config.alpha_new:g} "
        f"at first, less with each rating, until {config.popularity_fade:g} ratings."
    )


def controls(demo: Demo, bar: presenter.Bar | None = None) -> Controls:
    """Blend, size, diversity and filters; in presenter mode the blend is in the header bar."""
    st.sidebar.divider()
    st.sidebar.subheader("Controls")
    alpha = (st.sidebar if bar is None else bar.alpha).slider(
        "Blend: collaborative ← → content",
        0.0,
        1.0,
        demo.rec.config.alpha,
        0.05,
        key="alpha",
        help="0 = only what similar viewers liked (MF); "
        "1 = only what the Transformer reads as similar to your ratings"
        + _lean_help(demo.rec.config),
        format="%.2f" if bar is None else "α = %.2f",
        label_visibility="visible" if bar is None else "collapsed",
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
