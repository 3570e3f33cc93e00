"""Load the shared demo once per process, showing build progress to whoever starts it first."""

from __future__ import annotations

import threading
from pathlib import Path

import streamlit as st

from vidrec.coldstart import with_videos
from vidrec.config import Config
from vidrec.recommender import HybridRecommender
from vidrec.viewer.demo import Demo, load_demo
from vidrec.viewer.session import ViewerSession
from vidrec.viewer.store import ViewerStore

STORE_FILE = "viewers.sqlite3"
READY = "Demo ready in"  # the line that replaces the progress box once the demo has loaded
SESSION_REC = "_session_rec"  # this session's recommender with its added videos, and their ids


@st.cache_resource(show_spinner=False)
def _store() -> dict:
    """Process-wide holder: one Demo per config, one build at a time."""
    return {"lock": threading.Lock()}


def get_demo(config: Config) -> Demo:
    """The shared Demo; the first session builds or loads it with a visible progress bar."""
    store = _store()
    demo = store.get(config)
    if demo is not None:
        return demo
    with store["lock"]:  # other sessions wait here rather than building twice
        demo = store.get(config)
        if demo is None:
            demo = _load_with_progress(config)
            store[config] = demo
    return demo


def _load_with_progress(config: Config) -> Demo:
    """Progress while it loads; then the box shrinks to one line saying how long it took (a
    line in the page, not a toast: a toast covered the view buttons for seconds), and the next
    full run takes that away, so the first screen a presenter shows has the list at the top."""
    slot = st.empty()
    with (
        slot.container(),
        st.status("Preparing the demo: data, Transformer, index, interest model…", expanded=True),
    ):
        bar = st.progress(0.0, text="Starting")

        def progress(stage: str, done: int, total: int) -> None:
            bar.progress(min(done / max(total, 1), 1.0), text=stage)

        demo = load_demo(config, progress)
    slot.caption(f"✓ {READY} {demo.load_seconds:.1f} s", width="content")
    return demo


@st.cache_resource(show_spinner=False)
def get_store(home: str, retention_days: int = 0) -> ViewerStore:
    """The saved viewers under the data home, shared by every session (one connection per call).

    Once per process (the cache), viewers unchanged for ``retention_days`` are erased first.
    """
    store = ViewerStore(Path(home) / STORE_FILE)
    store.forget_idle(retention_days)
    return store


def session_recommender(demo: Demo, session: ViewerSession) -> HybridRecommender:
    """The shared recommender, or a session-local view of it that includes added videos."""
    key = tuple(v.video_id for v in session.added)
    if not key:
        return demo.rec
    cached = st.session_state.get(SESSION_REC)
    if cached is None or cached[0] != key:
        cached = (key, with_videos(demo.rec, session.added))
        st.session_state[SESSION_REC] = cached
    return cached[1]
