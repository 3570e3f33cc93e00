"""Presenter mode: the sidebar out of sight and larger text, for a room watching a projector.

Turned on from the sidebar, or by opening the page with ``?present=1``; the URL keeps it, so a
reload stays in presenter mode. A small button at the top of the page turns it off again.
"""

from __future__ import annotations

import streamlit as st

from vidrec.ui.common import CHART_FORMAT

PARAM = "present"
ROOM_CSS = (  # fixed CSS, no user text
    "<style>[data-testid='stSidebar'], [data-testid='stSidebarCollapsedControl'] {display: none}"
    " html {font-size: 18px}"
    " .st-key-presenter_off {position: fixed; top: .55rem; right: 4rem; z-index: 999990;"
    " width: auto}</style>"
)


def active() -> bool:
    return st.query_params.get(PARAM) == "1"


def apply() -> None:
    """On every run: hide the sidebar and enlarge text when presenter mode is on."""
    if not active():
        return
    st.html(ROOM_CSS)
    st.button("✕ Leave presenter mode", key="presenter_off", type="tertiary", on_click=_leave)


def toggle() -> None:
    """The sidebar switch that turns presenter mode on, and what charts save for slides."""
    st.sidebar.button(
        "🖥 Presenter mode", key="presenter_on", use_container_width=True, on_click=_enter,
        help="Hide this sidebar and enlarge text for a room (the URL gets ?present=1)",
    )  # fmt: skip
    st.sidebar.radio(
        "Charts save as", ["PNG", "SVG"], key=CHART_FORMAT, horizontal=True,
        help="What the camera button on a chart's toolbar downloads, for a slide",
    )  # fmt: skip


def _enter() -> None:
    st.query_params[PARAM] = "1"


def _leave() -> None:
    del st.query_params[PARAM]
