"""Presenter mode: the sidebar out of sight and larger text, for a room watching a projector.

Turned on from the sidebar, or by opening the page with ``?present=1``; the URL keeps it, so a
reload stays in presenter mode. Without the sidebar, a compact header bar carries what a
presenter changes while talking: who is watching, the blend α and the guided start's next step,
beside a button that turns presenter mode off again.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from vidrec.ui.common import CHART_FORMAT

PARAM = "present"
TITLE = "### 🎬 vidrec"
ROOM_CSS = (  # fixed CSS, no user text
    "<style>[data-testid='stSidebar'], [data-testid='stSidebarCollapsedControl'] {display: none}"
    " html {font-size: 18px}"
    # the page header is transparent but still takes clicks over the bar: let them through,
    # except on its own buttons (the ⋮ menu)
    " [data-testid='stHeader'], [data-testid='stHeader'] * {pointer-events: none}"
    " [data-testid='stHeader'] button, [data-testid='stHeader'] a {pointer-events: auto}"
    " .st-key-presenter_bar {padding-right: 2.5rem}"  # clear of the page's ⋮ menu
    " .st-key-presenter_bar h3 {padding: 0; white-space: nowrap}"
    " .st-key-presenter_bar [data-testid='stPopover'] button {justify-content: flex-start}</style>"
)


@dataclass(frozen=True)
class Bar:
    """The header bar's slots, each a container the sidebar's widgets are drawn into instead."""

    viewer: object
    alpha: object
    guide: object


def active() -> bool:
    return st.query_params.get(PARAM) == "1"


def apply() -> Bar | None:
    """On every run: in presenter mode, hide the sidebar, enlarge text, draw the header bar."""
    if not active():
        return None
    st.html(ROOM_CSS)
    with st.container(key="presenter_bar"):
        title, viewer, alpha, guide, leave = st.columns(
            [1.05, 1.6, 1.5, 2.6, 0.55], gap="small", vertical_alignment="center"
        )
    title.markdown(TITLE)
    leave.button("✕ Leave", key="presenter_off", type="tertiary", on_click=_leave)
    return Bar(viewer=viewer, alpha=alpha, guide=guide)


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
