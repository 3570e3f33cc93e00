"""Compare: two or three lists for one viewer side by side, what they share and what they hold."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from vidrec.present.compare import LONG_TAIL_MAX, Comparison, compare
from vidrec.recommender import HybridRecommender, Profile
from vidrec.ui import guide
from vidrec.ui.common import md, run_started, server_time, show_callback_error
from vidrec.ui.foryou import rate_widget
from vidrec.ui.sidebar import Controls
from vidrec.viewer.demo import Demo
from vidrec.viewer.session import ViewerSession

MODES = ("Methods", "Raw vs trained reading", "Two α values", "Two viewers")
MAX_ROWS = 10  # per column: longer lists no longer read side by side
PAIR_HEADS = {  # widths in pixels: the names fit a 1366-wide screen with the sidebar open
    "lists": st.column_config.TextColumn(width=190),
    "shared": st.column_config.NumberColumn(width=60, help="Titles both lists hold"),
    "Jaccard": st.column_config.TextColumn(width=65, help="Shared ÷ titles in either list"),
    "rank shift": st.column_config.TextColumn(
        width=75, help="Mean |rank in one − rank in the other| over the shared titles"
    ),
}
MIX_HEADS = {
    "list": st.column_config.TextColumn(width=110),
    "long tail": st.column_config.TextColumn(
        width=70, help=f"Share of the list's films with {LONG_TAIL_MAX} ratings or fewer"
    ),
    "top genres": st.column_config.TextColumn(
        help="Share of the list's films listing each genre (a film counts for each of its genres)"
    ),
}


@dataclass(frozen=True)
class Source:
    """One column: whose profile, ranked at which α, and how the other columns name it."""

    name: str  # short, in the other columns' "#3 in <name>"
    heading: str  # markdown above the column, already escaped
    profile: Profile
    alpha: float
    engine: HybridRecommender | None = None  # None: the page's engine


@st.fragment
def live(demo: Demo, rec: HybridRecommender, session: ViewerSession, controls: Controls, tags_of):
    """The view as a fragment: a rating in any column reruns the view, so every column moves."""
    guide.keep_current(session)  # a rating that ticked a step redraws the whole page once
    started = run_started()
    show_callback_error()  # this fragment's own callbacks keep their errors for it
    title, picker = st.columns([1, 2], vertical_alignment="center")
    title.markdown(f"**Compare lists for {md(session.label)}**")
    mode = (
        picker.segmented_control("Compare", MODES, default=MODES[0], key="cmp_mode",
                                 label_visibility="collapsed")
        or MODES[0]
    )  # fmt: skip
    sources = _sources(mode, demo, rec, session, controls)
    allowed = controls.allowed(rec.catalog, tags_of)
    k = min(controls.k, MAX_ROWS)
    lists = [
        (s.engine or rec).recommend(
            s.profile, k=k, alpha=s.alpha, diversity=controls.diversity, allowed=allowed
        )
        for s in sources
    ]
    result = compare(lists, _rating_counts(rec, lists))
    _summary(sources, result)
    _columns(sources, lists, result, session)
    server_time(started)


def _sources(mode: str, demo: Demo, rec, session: ViewerSession, controls) -> list[Source]:
    """The columns of a mode; the viewer is folded in once and shared by all of them."""
    mine = rec.profile(session.ratings)
    exact = rec.with_settings(alpha_new=0.0)  # a column named by its α ranks at that α
    if mode == "Two α values":
        a, b = _two_alphas(rec.config.alpha)
        return [Source(f"α {x:g}", f"**α = {x:g}**", mine, x, exact) for x in (a, b)]
    if mode == "Two viewers":
        return _two_viewers(demo, rec, session, mine, controls.alpha)
    if mode == "Raw vs trained reading":
        return _readings(rec, mine, controls.alpha)
    return [
        Source("collaborative", "**Collaborative only** · α = 0", mine, 0.0, exact),
        Source("content", "**Content only** · α = 1", mine, 1.0, exact),
        _blend(rec, mine, controls.alpha),
    ]


def _blend(rec: HybridRecommender, mine: Profile, alpha: float) -> Source:
    """The sidebar's list, its α raised as the For you list raises it for a new viewer."""
    used = rec.alpha_for(mine.n, alpha)
    raised = f", raised to {used:.2g} while you have few ratings" if used > alpha else ""
    return Source("blend", f"**Blend** · α = {alpha:g} (sidebar{raised})", mine, alpha)


def _readings(rec: HybridRecommender, mine: Profile, alpha: float) -> list[Source]:
    """Content-only lists from the raw Transformer reading and from the taste-trained reader."""
    st.caption(
        "Raw: the Transformer's embeddings compared with what you rated. Trained: the same text "
        "read by a head the ratings taught (where viewers' tastes place it). The blend uses the "
        "trained reading."
    )
    raw = rec.with_settings(trained_reading=False)
    return [
        Source("raw reading", "**Raw reading** · content only", mine, 1.0, raw),
        Source("trained reading", "**Trained reading** · content only", mine, 1.0),
        _blend(rec, mine, alpha),
    ]


def _two_alphas(default: float) -> tuple[float, float]:
    left, right, note = st.columns([1, 1, 1], gap="large", vertical_alignment="center")
    a = left.slider("Left column α", 0.0, 1.0, default, 0.05, key="cmp_alpha_a")
    b = right.slider("Right column α", 0.0, 1.0, 0.5, 0.05, key="cmp_alpha_b")
    note.caption("α = 0: only what similar viewers liked; α = 1: only what the content side reads.")
    return a, b


def _two_viewers(demo: Demo, rec, session: ViewerSession, mine: Profile, alpha: float):
    """This viewer beside a persona; stars in the persona's column rate for this viewer."""
    others = [
        p for p in demo.personas if not (session.kind == "persona" and p.id == session.key)
    ] or demo.personas
    names = {p.id: f"{p.icon} {p.name}" for p in others}
    left, note = st.columns([1, 2], gap="large", vertical_alignment="bottom")
    pick = left.selectbox("Compare with", list(names), format_func=names.get, key="cmp_persona")
    persona = next(p for p in others if p.id == pick)
    theirs = rec.profile(demo.persona_ratings[persona.id])  # resolved once, when the demo loaded
    raised = " (raised for whoever has few ratings)" if rec.config.alpha_new else ""
    note.caption(
        f"Both lists at the sidebar's α = {alpha:g}{raised}. Stars in {md(persona.name)}'s "
        "column rate the film for you, not for them: their list stays as their seed ratings "
        "make it."
    )
    return [
        Source("your list", f"**{md(session.label)}** (you)", mine, alpha),
        Source(persona.name, f"**{md(names[pick])}**", theirs, alpha),
    ]


def _rating_counts(rec: HybridRecommender, lists: list[pd.DataFrame]) -> dict[int, int]:
    ids = sorted({int(v) for frame in lists for v in frame["video_id"]})
    return dict(zip(ids, rec.rating_counts[rec.videos.rows_of(ids)].tolist())) if ids else {}


def _summary(sources: list[Source], result: Comparison) -> None:
    """Overlap per pair and mix per list, in two small tables above the columns."""
    pairs, mixes = st.columns([1, 1.25], gap="medium")
    pairs.dataframe(
        _pair_rows(sources, result), hide_index=True, key="cmp_pairs", column_config=PAIR_HEADS
    )
    mixes.dataframe(
        _mix_rows(sources, result), hide_index=True, key="cmp_mix", column_config=MIX_HEADS
    )


def _pair_rows(sources: list[Source], result: Comparison) -> pd.DataFrame:
    rows = [
        {
            "lists": f"{sources[p.first].name} · {sources[p.second].name}",
            "shared": int(p.shared),
            "Jaccard": f"{p.jaccard:.2f}",
            "rank shift": "–" if math.isnan(p.mean_shift) else f"{p.mean_shift:.1f}",
        }
        for p in result.pairs.itertuples(index=False)
    ]
    return pd.DataFrame(rows, columns=list(PAIR_HEADS))


def _mix_rows(sources: list[Source], result: Comparison) -> pd.DataFrame:
    rows = []
    for i, source in enumerate(sources):
        share = result.mix["long_tail"].iloc[i]
        genres = " · ".join(f"{g} {s:.0%}" for g, s in result.top_genres(i))
        rows.append((source.name, "–" if math.isnan(share) else f"{share:.0%}", genres or "–"))
    return pd.DataFrame(rows, columns=list(MIX_HEADS))


def _columns(sources, lists, result: Comparison, session: ViewerSession) -> None:
    """Rank by rank, one row of columns each, so the same rank lines up across the lists."""
    for column, source, recs in zip(st.columns(len(sources)), sources, lists):
        column.markdown(source.heading)
        if recs.empty:
            column.info("No videos match these filters. Widen them in the sidebar.")
    for i in range(max(len(recs) for recs in lists)):
        for c, (column, recs) in enumerate(zip(st.columns(len(sources)), lists)):
            if i < len(recs):
                with column.container(key=f"cmp{c}_row_{recs['video_id'].iat[i]}", gap=None):
                    _row(c, i, recs.iloc[i], result, sources, session)


def _row(c: int, i: int, row, result: Comparison, sources: list[Source], session) -> None:
    """Rank, title, a badge when other columns hold it too, its ranks there, and stars."""
    ranks = result.ranks[c][i]
    shared = int(result.shared(c)[i])
    badge = " :blue-badge[shared]" if shared else ""
    if shared and shared == len(sources) - 1:
        badge = " :green-badge[in both]" if shared == 1 else f" :green-badge[in all {shared + 1}]"
    elsewhere = " · ".join(
        f"#{r} in {md(s.name)}" if r else f"not in {md(s.name)}"
        for j, (r, s) in enumerate(zip(ranks, sources))
        if j != c
    )
    st.markdown(f"**{i + 1}.** {md(row.title)}{badge}  \n:small[:gray[{elsewhere}]]")
    rate_widget(session, row.video_id, f"cmp{c}_{row.video_id}")
