"""Export a viewer's ratings and import them back: a presenter's setup survives any machine."""

from __future__ import annotations

import streamlit as st

from vidrec.recommender import HybridRecommender
from vidrec.ui.common import errors_shown, plural
from vidrec.viewer.ratings_file import MAX_BYTES, export_csv, export_json, parse_import
from vidrec.viewer.session import ViewerSession


def render_transfer(rec: HybridRecommender, session: ViewerSession) -> None:
    """Download buttons, and an upload that replaces the ratings only when every row is valid."""
    done = st.session_state.get("import_done")  # (message, ratings it left), kept until changed
    if done and done[1] == session.ratings:  # shown outside the expander, which a rerun closes
        st.success(done[0])
    with st.expander("Export / import ratings"):
        st.caption(
            "This viewer is saved as you rate: the link in the address bar brings it back "
            "after a reload or a server restart."
        )
        # Made every run (a few ms): a deferred callable sometimes never delivered its file
        # when a rerun raced the click. "ignore": a download needs no rerun.
        left, right = st.columns(2)
        left.download_button(
            "CSV",
            export_csv(session.ratings, rec.catalog),
            "ratings.csv",
            "text/csv",
            key="export_csv",
            on_click="ignore",
            use_container_width=True,
        )
        right.download_button(
            "JSON",
            export_json(session.ratings, rec.catalog),
            "ratings.json",
            "application/json",
            key="export_json",
            on_click="ignore",
            use_container_width=True,
        )
        upload = st.file_uploader(
            f"Import a CSV or JSON export (≤ {MAX_BYTES // 1000:,} KB)",
            type=["csv", "json"],
            key="import_file",
        )
        if upload is not None and st.button(
            "Replace my ratings with this file", key="import_go", use_container_width=True
        ):
            with errors_shown():
                imported = parse_import(upload.getvalue(), upload.name, rec.catalog)
                session.replace(imported)
                message = f"Imported {plural(len(imported), 'rating')}."
                st.session_state["import_done"] = (message, dict(session.ratings))
                st.rerun()
