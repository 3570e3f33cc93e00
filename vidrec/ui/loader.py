"""Load the shared demo once per process, showing build progress to whoever starts it first."""

from __future__ import annotations

import threading
from pathlib import Path

import streamlit as st

from vidrec.config import Config
from vidrec.demo import Demo, load_demo
from vidrec.store import ViewerStore

STORE_FILE = "viewers.sqlite3"


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
    with st.status(
        "Preparing the demo: data, Transformer, index, interest model…", expanded=True
    ) as box:
        bar = st.progress(0.0, text="Starting")

        def progress(stage: str, done: int, total: int) -> None:
            bar.progress(min(done / max(total, 1), 1.0), text=stage)

        demo = load_demo(config, progress)
        box.update(label=f"Ready in {demo.load_seconds:.1f} s", state="complete", expanded=False)
    return demo


@st.cache_resource(show_spinner=False)
def get_store(home: str) -> ViewerStore:
    """The saved viewers under the data home, shared by every session (one connection per call)."""
    return ViewerStore(Path(home) / STORE_FILE)
