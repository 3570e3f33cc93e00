"""The Evaluation view: saved quality and speed results, with how and when they were made."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from vidrec.config import Config
from vidrec.errors import DataError
from vidrec.evaluation import charts as evalcharts
from vidrec.evaluation import report, results, tag_audit
from vidrec.ui.common import chart

SPEED = {  # kind -> (title, table maker, the command that makes it)
    "bench": ("Latency of the online paths", report.latency_frame, "bench --app --build"),
    "scale": (
        "Scale: synthetic catalogs clustered around the real embeddings",
        report.scale_frame,
        "bench --scale 100000,1000000",
    ),
    "train": (
        "Training scale: synthetic MovieLens-shaped rating sets",
        report.train_frame,
        "bench --train-scale 100000,1000000",
    ),
    "viewers": (
        "Many viewers: websocket clients rating at once on one server (no browser)",
        report.viewer_frame,
        "bench --viewers 1,4,8",
    ),
}
TARGETS = "Targets: nDCG@10 ≥ 0.50 and P@10 ≥ 0.43 on protocol A; RMSE ≤ 0.90 on protocol B."


@st.cache_data(show_spinner=False)
def _docs(stamp: tuple) -> tuple:
    """Results documents, re-read only when a file changes (stamp = modification times)."""
    out = []
    for kind in results.KINDS:
        try:
            out.append((results.load(kind), None))
        except DataError as exc:
            out.append((None, str(exc)))
    return tuple(out)


def _stamp() -> tuple:
    files = (results.RESULTS / f"{k}.json" for k in results.KINDS)
    return tuple(f.stat().st_mtime if f.exists() else 0 for f in files)


def saved() -> dict[str, tuple[dict | None, str | None]]:
    """kind -> (results document or None, the error reading it or None), re-read on change."""
    return dict(zip(results.KINDS, _docs(_stamp())))


def render_eval(config: Config) -> None:
    """Results tables and charts as saved by the eval and bench commands."""
    st.subheader("Evaluation: how good, how fast")
    loaded = saved()
    for _, err in loaded.values():
        if err:
            st.warning(err)
    tab_q, tab_s = st.tabs(["Quality", "Speed"])
    with tab_q:
        _quality(loaded["eval"][0], config)
    with tab_s:
        for kind, (title, frame, command) in SPEED.items():
            _speed(loaded[kind][0], title, frame, command)


def _quality(doc: dict | None, config: Config) -> None:
    if doc is None:
        st.info("No saved evaluation yet. Run `python -m vidrec eval --sweep` to make one.")
        return
    _provenance(doc)
    st.caption(
        "Protocol A (microsoft/recommenders' MovieLens-100K benchmark): random 75/25 split "
        "stratified by film, seed 42; every held-out rating is relevant; top-10 after removing "
        "training films. Protocol B (Surprise's): 5-fold cross-validation of star error. "
        "Protocol C: 10% of films held out whole (cold items); C-synopsis draws them only among "
        "films with a synopsis (leak-free), C-all ranks them among all films (its nDCG@10: "
        "every viewer's list; the × s rows, on validation, show what lifting cold films costs "
        "it). Content rows "
        "read with the taste-trained reader unless marked raw. " + TARGETS
    )
    tables = report.eval_tables(doc)
    st.markdown(
        "**Protocol A: top-10 ranking** (highlighted: the hybrid with the blend chosen on "
        "validation, which is the app's default)"
    )
    _table(tables["A"])
    left, right = st.columns(2)
    if len(report.sweep(doc)):
        chart(evalcharts.alpha_sweep(doc, config.alpha), "eval_sweep", left)
    chart(evalcharts.quality_vs_speed(doc), "eval_speed", right)
    _slices(doc)
    st.markdown("**Protocol B: predicted stars (5-fold CV)**")
    _table(tables["B"])
    st.markdown(
        "**Protocol C: cold videos nobody has rated** (placed by the trained reader or "
        "by the attribute map of Gantner et al. 2010)"
    )
    _table(tables["C"])
    if len(tables["tags"]):
        st.markdown("**Zero-shot tags: genre F1**")
        _table(tables["tags"])
    if tag_audit.AUDIT_FILE.exists():
        st.markdown(report.audit_text(tag_audit.summary(tag_audit.load_audit())))


def _slices(doc: dict) -> None:
    """The validation choice, few-ratings viewers and the seed spread, where eval made them."""
    best, few, spread = report.chosen(doc), report.few_ratings(doc), report.seeds(doc)
    if best:
        st.caption(
            f"α = {best['alpha']:g} and item-item share = {best['item_item_weight']:g}"
            f"{report.new_viewer(doc)} were chosen on a validation split of the training "
            f"ratings, never the test (validation nDCG@10 {best['ndcg@10']:.4f})."
        )
    if len(few):
        st.markdown("**Viewers with few ratings: nDCG@10 by ratings kept**")
        left, _ = st.columns(2)
        chart(evalcharts.few_ratings_curve(doc), "eval_few", left)
        _table(few)  # full width: six methods and the lead do not fit beside the chart
    if len(spread):
        st.markdown("**Protocol A on three split seeds: nDCG@10**")
        _table(spread)
    if len(faithful := report.fidelity(doc)):
        st.markdown(report.FIDELITY_TITLE)
        _table(faithful)


def _table(frame) -> None:
    """Every row and every word shown: an HTML table, which wraps a long name where a data grid
    cut it ("hybrid, app defaults (tune"). Numbers are right-aligned, text left; hybrid shaded."""
    text = frame.map(cell)  # "–" for a gap, where a table would print "None"
    styler = text.style.hide(axis="index").apply(_highlight, axis=1)
    heads = {}
    for column in frame.columns:  # !important: the table sets each cell's alignment inline
        align = f"{_alignment(frame[column])} !important"
        styler = styler.set_properties(subset=[column], **{"text-align": align})
        heads[column] = [{"selector": "th", "props": [("text-align", align)]}]
    styler = styler.set_table_styles(heads, overwrite=False)
    st.table(styler)


MINUS_ZERO = re.compile(r"^[-−](0[.,]?0*)$")  # "-0.000": a tiny difference that rounds to 0


def cell(value) -> str:
    """A value as the tables show it (report.cell), and 0.000 where it would say "-0.000"."""
    return MINUS_ZERO.sub(r"\1", report.cell(value))


NUMBER = re.compile(r"^[-+−±]?[\d,.]+%?$|^–$|^> ?[\d,]+$")  # "0.497", "1,682", "+1.2%", "–"


def _alignment(column) -> str:
    """Right for a column of numbers (read as shown), left for text: a name must read from
    its start, a right-aligned long name lost its beginning ("…d top-10, exact retrieval")."""
    if pd.api.types.is_numeric_dtype(column.dtype):
        return "right"
    shown = column.map(cell).astype(str)
    return "right" if shown.str.match(NUMBER).all() else "left"


def _highlight(row):
    colour = "background-color: rgba(0, 114, 178, 0.12)" if row.iloc[0] == "hybrid" else ""
    return [colour] * len(row)


def _speed(doc: dict | None, title: str, frame, command: str) -> None:
    st.markdown(f"**{title}**")
    if doc is None:
        st.info(f"Not measured yet. Run `python -m vidrec {command}`.")
        return
    _provenance(doc)
    _table(frame(doc))


def _provenance(doc: dict) -> None:
    st.caption(
        f"Generated {doc['generated']} on {doc.get('machine', 'unknown machine')} · "
        f"regenerate with `{doc['command']}`"
    )
