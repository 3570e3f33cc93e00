"""The main view: live recommendation cards you can rate, and the ratings that drive them."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from vidrec.attribution import recommend_with_reasons
from vidrec.present import charts, export, why
from vidrec.recommender import HybridRecommender, Query, Ranking
from vidrec.ui import guide
from vidrec.ui.common import (
    chart,
    loop_caption,
    md,
    plural,
    run_started,
    safely,
    server_time,
    show_callback_error,
    split_bar,
    stars,
)
from vidrec.ui.saving import render_transfer
from vidrec.ui.sidebar import Controls
from vidrec.viewer.session import NEW, ViewerSession

EDITABLE = 12  # newest ratings shown with their own stars; older ones as one line of text
MOVE_COLOURS = {"new": "violet", "↑": "green", "↓": "red", "=": "gray"}


def recommendations(rec: HybridRecommender, session: ViewerSession, query: Query):
    """Fold in the viewer and rank: (ranking, list); the server time is kept for the header."""
    t0 = time.perf_counter()
    ranking = rec.rank(session.ratings, query)
    recs = recommend_with_reasons(rec, ranking)
    session.last_update_ms = (time.perf_counter() - t0) * 1000
    return ranking, recs


@st.fragment
def live(rec: HybridRecommender, session: ViewerSession, controls: Controls, tags_of) -> None:
    """The view as a fragment: rating a card, or in the ratings panel, reruns only this part.

    The sidebar and header stay as they were (nothing a rating here changes shows there), so a
    rating costs the fold-in, the ranking and the cards: the server's work per viewer per click.
    """
    guide.keep_current(session)  # a rating that ticked a step redraws the whole page once
    started = run_started()
    show_callback_error()  # this fragment's own callbacks keep their errors for it
    ranking, recs = recommendations(rec, session, controls.query(rec, tags_of))
    loop_caption(rec, session, recs)
    render(rec, session, ranking, recs, controls, tags_of)
    content_moved(rec, ranking, recs)
    server_time(started)


def content_moved(rec: HybridRecommender, ranking: Ranking, recs: pd.DataFrame) -> None:
    """How many of the picks the content side put there: the list without its content part."""
    alpha = ranking.alpha
    if recs.empty or alpha == 0:
        return
    moved = len(set(ranking.rows.tolist()) - set(rec.rows_without_content(ranking).tolist()))
    lean = ""
    if alpha > ranking.query.alpha:
        lean = (
            f" With {plural(ranking.profile.n, 'rating')} your list leans on content (α "
            f"{ranking.query.alpha:g} → {alpha:.2g}) until you have rated "
            f"{rec.config.popularity_fade:g} videos."
        )
    st.container(key="content_moved").caption(
        f"Content understanding (α = {alpha:.2g}) puts {moved} of these {len(recs)} picks here: "
        f"without its part of the score they would not be in the list.{lean}"
    )


def render(
    rec: HybridRecommender,
    session: ViewerSession,
    ranking: Ranking,
    recs: pd.DataFrame,
    controls: Controls,
    tags_of,
) -> None:
    """The cards across the page, the viewer's own ratings below them.

    Full width so that a 1366×768 projector shows four whole cards before any scrolling.
    """
    signature = (tuple(sorted(session.ratings.items())), controls, len(session.added))
    moves = session.moves(signature, recs["video_id"].tolist())
    st.markdown(f"**Recommended for {md(session.label)}**")
    if recs.empty:
        st.info("No videos match these filters. Widen the genres or years in the sidebar.")
    _cards(recs, moves, session, tags_of)
    # a toggle, not an expander: a collapsed expander still builds its chart every rerun
    if not recs.empty and st.toggle("Score breakdown of the whole list", key="show_breakdown"):
        chart(charts.score_breakdown(recs), "breakdown")
    if not recs.empty:
        _downloads(session, recs, ranking.alpha, controls, tags_of)
    mine, transfer = st.columns([2, 1], gap="large")
    with mine:
        _your_ratings(rec, session)
    with transfer:
        render_transfer(rec, session)


def _downloads(
    session: ViewerSession, recs: pd.DataFrame, alpha: float, controls: Controls, tags_of
) -> None:
    """The list for a slide: CSV for a table, a standalone web page for a screenshot; ``alpha``
    is the one the list was ranked at."""
    table = export.list_table(recs, [tags_of(v) for v in recs["video_id"]])
    picks = plural(len(recs), "pick")
    settings = f"α = {alpha:.2g} · diversity {controls.diversity:g} · {picks}"
    heading = f"Recommended for {session.label}"
    csv_col, html_col, _ = st.columns([1, 1, 2])
    csv_col.download_button(
        "⬇ List as CSV", export.list_csv(table), file_name="vidrec-list.csv", mime="text/csv",
        key="list_csv", on_click="ignore",
    )  # fmt: skip
    html_col.download_button(
        "⬇ List as a web page", export.list_html(table, heading, settings),
        file_name="vidrec-list.html", mime="text/html", key="list_html", on_click="ignore",
    )  # fmt: skip


def _cards(recs: pd.DataFrame, moves: list[str], session: ViewerSession, tags_of) -> None:
    cols = st.columns(2, gap="medium")
    for i, (row, move) in enumerate(zip(recs.itertuples(index=False), moves)):
        with cols[i % 2].container(border=True, key=f"card_{row.video_id}"):
            _card(i + 1, row, move, session, tags_of(row.video_id))


def _card(rank: int, row, move: str, session: ViewerSession, tags: list[str]) -> None:
    badge = ""
    if move:
        colour = MOVE_COLOURS["new"] if move == NEW else MOVE_COLOURS.get(move[0], "gray")
        badge = f" :{colour}-badge[{move.upper() if move == NEW else move}]"
    st.markdown(f"**{rank}. {md(row.title)}**{badge}")
    genres = md(row.genres.replace("|", " · ")) if row.genres else "no genre listed"
    tag_line = f"  \n🏷️ {md(' · '.join(tags))}" if tags else ""
    st.caption(f"{genres} · predicted {stars(row.predicted_rating)}{tag_line}")
    parts = (row.content_score, row.collab_score, row.popularity_score)
    st.html(split_bar(*parts))
    st.caption(f"{why.part_shares(*parts)}  \n{md(row.reason)}", help=why.part_numbers(*parts))
    rate_widget(session, row.video_id, f"stars_{row.video_id}")


def rate_widget(session: ViewerSession, video_id: int, key: str) -> None:
    """Five stars that rate (or re-rate) a video for this viewer; the key includes the current
    rating, so a reset or a rating made elsewhere re-creates the widget with the right value."""
    current = session.ratings.get(int(video_id))
    default = None if current is None else int(round(current)) - 1
    full_key = key if current is None else f"{key}_{default}"
    st.feedback(
        "stars",
        key=full_key,
        default=default,
        on_change=safely(_rated),
        args=(session, int(video_id), full_key),
    )


def _rated(session: ViewerSession, video_id: int, key: str) -> None:
    value = st.session_state.get(key)
    if value is None:
        session.unrate(video_id)
    else:
        session.rate(video_id, value + 1)


def _your_ratings(rec: HybridRecommender, session: ViewerSession) -> None:
    st.subheader(f"Your ratings ({len(session.ratings)})")
    if not session.ratings:
        st.caption("Nothing rated yet. Rate a card, or find a video in Browse & search.")
        return
    titles = rec.catalog.set_index("video_id")["title"]
    newest = list(session.ratings.items())[::-1]
    shown, older = newest[:EDITABLE], newest[EDITABLE:]  # widgets are what a rerun costs
    for video_id, value in shown:
        with st.container(key=f"mine_row_{video_id}"):
            half = f" · {value:g}★" if value != int(value) else ""  # stars show whole ones only
            st.markdown(md(titles.get(video_id, f"video {video_id}")) + half)
            stars_col, drop = st.columns([3, 1.2], vertical_alignment="center")
            with stars_col:
                rate_widget(session, video_id, f"mine_{video_id}")
            drop.button(
                "remove",
                key=f"unrate_{video_id}",
                type="tertiary",
                help="Forget this rating",
                on_click=safely(session.unrate),
                args=(video_id,),
            )
    if older:  # one text element: a table or more widgets would cost every rerun
        with st.expander(f"{plural(len(older), 'older rating')}"):
            st.markdown(
                "  \n".join(f"{md(titles.get(v, f'video {v}'))} · {s:g}★" for v, s in older)
            )
