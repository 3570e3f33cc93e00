"""A guided start for a presenter: five steps through the loop, ticked off as they happen.

It sits in the sidebar, under the viewer picker, so that it never pushes the list down on a
projector; in presenter mode (no sidebar) the header bar shows its next step, with the whole
checklist one click away. Dismissing it writes ``guide=off`` into the page URL, next to the
viewer id, so a reload of that viewer's page keeps it closed.

The For you and Compare views are fragments: a rating there reruns only the view, not the
sidebar or the header bar. ``keep_current`` reruns the whole page when a rating has ticked a
step, so the checklist never lags behind what the presenter just did.
"""

from __future__ import annotations

import streamlit as st

from vidrec.viewer.session import ViewerSession

VISITED = "_guide_visited"  # views this browser session has opened
SHOWN = "_guide_shown"  # the steps' ticks as last drawn, to tell when a fragment made them stale
NBSP = "\u00a0"  # keeps the badges of a step on one line with their words


def steps(session: ViewerSession) -> list[tuple[bool, str]]:
    """(done, text) for each step, in order."""
    visited = st.session_state.get(VISITED, set())
    rated = session.ratings != session.seed
    return [
        (session.kind == "persona", "Pick a persona"),
        (rated, "Rate a film on a card"),
        (rated, f"See what moved:{NBSP}new{NBSP}↑{NBSP}↓"),
        ("Why these?" in visited, "Open **Why these?**"),
        ("Compare" in visited, "Open **Compare**"),
    ]


def dismissed() -> bool:
    return st.query_params.get("guide") == "off"


def render(session: ViewerSession, bar=None) -> None:
    """The checklist in the sidebar, or (presenter mode) its next step in the header bar."""
    if dismissed():
        return
    st.session_state.setdefault(VISITED, set()).add(st.session_state.get("view") or "For you")
    todo = steps(session)
    st.session_state[SHOWN] = tuple(done for done, _ in todo)
    if bar is None:
        with st.sidebar.expander("Guided start", expanded=True):
            _checklist(todo)
        return
    done = sum(d for d, _ in todo)
    following = next((text for d, text in todo if not d), None)
    label = f"Guided start {done}/{len(todo)}" + (
        f" · next: {following}" if following else " · all done ✅"
    )
    with bar.popover(label, use_container_width=True):
        _checklist(todo)


def _checklist(todo: list[tuple[bool, str]]) -> None:
    with st.container(key="guide_steps"):
        st.markdown("  \n".join(f"{'✅' if done else '⬜'} {text}" for done, text in todo))
    st.button("Got it, hide this", key="guide_off", on_click=_dismiss, type="tertiary")


def keep_current(session: ViewerSession) -> None:
    """In a fragment: rerun the whole page when the steps have changed since they were drawn."""
    shown = st.session_state.get(SHOWN)
    if shown is None or dismissed():
        return
    if tuple(done for done, _ in steps(session)) != shown:
        st.rerun(scope="app")


def _dismiss() -> None:
    st.query_params["guide"] = "off"
    st.session_state.pop(SHOWN, None)
