"""A guided start for a presenter: five steps through the loop, ticked off as they happen.

It sits in the sidebar, under the viewer picker, so that it never pushes the list down on a
projector. Dismissing it writes ``guide=off`` into the page URL, next to the viewer id, so a
reload of that viewer's page keeps it closed.
"""

from __future__ import annotations

import streamlit as st

from vidrec.viewer.session import ViewerSession

VISITED = "_guide_visited"  # views this browser session has opened


def render(session: ViewerSession) -> None:
    """The checklist, or nothing once dismissed."""
    if st.query_params.get("guide") == "off":
        return
    visited = st.session_state.setdefault(VISITED, set())
    visited.add(st.session_state.get("view") or "For you")
    rated = session.ratings != session.seed
    steps = [
        (session.kind == "persona", "Pick a persona"),
        (rated, "Rate a film on a card"),
        (rated, "Watch what moved: new ↑ ↓"),
        ("Why these?" in visited, "Open **Why these?**"),
        ("Compare" in visited, "Open **Compare**"),
    ]
    with st.sidebar.expander("Guided start", expanded=True):
        st.markdown("  \n".join(f"{'✅' if done else '⬜'} {text}" for done, text in steps))
        st.button("Got it, hide this", key="guide_off", on_click=_dismiss, type="tertiary")


def _dismiss() -> None:
    st.query_params["guide"] = "off"
