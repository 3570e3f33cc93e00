"""Browse & search the catalog (by title or by meaning), and add a brand-new video."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from vidrec.coldstart import new_video, next_video_id
from vidrec.data.schema import GENRES, MAX_DESCRIPTION, MAX_TITLE
from vidrec.errors import DataError
from vidrec.recommender import HybridRecommender, Ranking
from vidrec.ui.common import errors_shown, md, plural
from vidrec.ui.foryou import rate_widget
from vidrec.ui.sidebar import Controls
from vidrec.viewer.session import ViewerSession

MAX_SEARCH_CHARS = 500
SHOWN = 24
# Search by meaning: below this cosine the best hit is no real match. Measured on the bundled
# MiniLM over MovieLens 100K: nonsense ("🚀👽🔥" 0.18, "asdfghjkl" 0.20, "lorem ipsum" 0.26) stays
# under it, and 33 of 35 plain queries ("haunted house horror" 0.61, "dog" 0.36, "pirates" 0.39)
# clear it; the two that do not ("sad", "funny") found nothing that reads like them either.
GOOD_MATCH = 0.30
HIDDEN_TITLES = {"unknown"}  # a MovieLens placeholder entry with no film behind it


def render_browse(
    rec: HybridRecommender, session: ViewerSession, controls: Controls, tags_of
) -> None:
    """Find videos by title or by a plain-language description, and rate them."""
    st.subheader("Browse & search")
    mode = st.radio(
        "Search by", ["Title", "Meaning (Transformer + FAISS)"], horizontal=True, key="search_mode"
    )
    text = st.text_input(  # no max_chars: the browser would cut or drop pasted text unseen
        "Search",
        key="search_text",
        placeholder="e.g. funny space adventure with robots"
        if mode != "Title"
        else "e.g. star wars",
        label_visibility="collapsed",
    )
    if len(text or "") > MAX_SEARCH_CHARS:
        st.error(too_long("Search text", len(text), MAX_SEARCH_CHARS), icon="✂️")
        return
    with errors_shown():
        found = listable(_find(rec, text, mode))
        mask = controls.allowed(rec.catalog, tags_of)
        if mask is not None:
            keep = set(rec.catalog.loc[mask, "video_id"])
            found = found[found["video_id"].isin(keep)]
        shown = found.head(SHOWN)
        weak = "similarity" in shown and not shown.empty and shown["similarity"].iat[0] < GOOD_MATCH
        st.caption(_caption(text, mode, len(shown), len(found)))
        if weak:
            st.warning(
                f"Nothing in the catalog reads much like this: the closest scores "
                f"{shown['similarity'].iat[0]:.2f}, and good matches score {GOOD_MATCH:.2f} or "
                "more. Try a few words about the story, the setting or the mood.",
                icon="🔎",
            )
        where = st.expander("The closest videos anyway") if weak else st.container()
        with where:
            for row in shown.itertuples(index=False):
                _result(row, session, tags_of(row.video_id))


def too_long(what: str, length: int, limit: int) -> str:
    """The message for over-long text, naming the limit; the text stays where it was typed."""
    return (
        f"{what} can be at most {limit:,} characters; this one has {length:,}. Shorten it: "
        "nothing was cut or thrown away."
    )


def listable(found: pd.DataFrame) -> pd.DataFrame:
    """Leave out catalog entries that are no film (MovieLens lists one titled "unknown")."""
    hidden = found["title"].astype(str).str.strip().str.lower().isin(HIDDEN_TITLES)
    return found[~hidden]


def _find(rec: HybridRecommender, text: str, mode: str) -> pd.DataFrame:
    text = (text or "").strip()
    if not text:
        return rec.videos.popular(min(len(rec.videos), 1000))  # filters may take many away
    if mode == "Title":
        hit = rec.catalog["title"].str.contains(text, case=False, regex=False)
        return rec.catalog.loc[hit, ["video_id", "title", "year", "genres"]]
    return rec.videos.search(text, k=SHOWN * 2)  # more than shown: filters may take some away


def _caption(text: str, mode: str, shown: int, found: int) -> str:
    """What the list holds, counting what is shown."""
    if not (text or "").strip():
        return f"The {shown} most-rated videos. Type to search."
    if mode != "Title":
        return f"The {plural(shown, 'video')} nearest by meaning, closest first."
    if shown < found:
        return f"The first {shown} of {found:,} titles containing your text."
    return f"{plural(shown, 'title')} containing your text."


def _result(row, session: ViewerSession, tags: list[str]) -> None:
    with st.container(border=True, key=f"found_{row.video_id}"):
        left, right = st.columns([4, 2])
        sim = f" · similarity {row.similarity:.2f}" if hasattr(row, "similarity") else ""
        genres = md(row.genres.replace("|", " · ")) if row.genres else "no genre listed"
        tag_line = f"  \n🏷️ {md(' · '.join(tags))}" if tags else ""
        left.markdown(f"**{md(row.title)}**  \n{genres}{sim}{tag_line}")
        with right:
            rate_widget(session, row.video_id, f"browse_{row.video_id}")


def render_add(
    base: HybridRecommender,
    rec: HybridRecommender,
    session: ViewerSession,
    tagger,
    ranking: Ranking,
) -> None:
    """Cold start: a new video is embedded, mapped into the collaborative space, recommendable.

    ``ranking`` is the viewer's For you ranking: each added video says where it stands in it.
    """
    st.subheader("Add a video (cold start)")
    st.caption(
        "Nobody has rated it, so where it sits among viewers' tastes is read from its text: "
        "the taste-trained reader, a small head the ratings taught over the Transformer's token "
        "states, turns it into MF factors. It exists only in your session."
    )
    with st.form("add_video", clear_on_submit=False):  # a refused video keeps what was typed
        # no max_chars: the browser would cut or drop pasted text unseen; too long is refused
        title = st.text_input("Title", key="add_title", help=f"At most {MAX_TITLE} characters")
        description = st.text_area(
            "Description",
            key="add_description",
            placeholder="What is it about? Setting, mood, story…",
            help=f"At most {MAX_DESCRIPTION:,} characters",
        )
        genres = st.multiselect("Genres", list(GENRES), key="add_genres")
        submitted = st.form_submit_button("Add to my catalog", type="primary")
    if submitted:
        with errors_shown():
            _check_new(rec, title or "", description or "")
            vid = next_video_id(base, session.added)
            video = new_video(base, title, description, genres, vid, tagger=tagger)
            session.add_video(video)
            st.session_state["added_message"] = (
                f"Added {md(video.title)}: it can now be recommended, searched and rated."
            )
            st.rerun()  # rebuild the session's view so the new video is known everywhere
    if "added_message" in st.session_state:
        st.success(st.session_state.pop("added_message"))
    for video in reversed(session.added):
        _added(video, rec, session, ranking)


def place_in_list(rec: HybridRecommender, ranking: Ranking, video) -> str:
    """Where an added video stands in the viewer's For you ranking, by score."""
    if video.video_id in ranking.profile.ratings:
        return "you have rated it"
    at = ranking.positions(rec.videos.rows_of([video.video_id]))[0]
    if at < 0:
        return "your sidebar filters leave it out of your list"
    place = 1 + int((ranking.scores > ranking.scores[at]).sum())
    return (
        f"#{place:,} of {len(ranking.pool):,} in your For you ranking at α = {ranking.alpha:.2g} "
        f"(the list shows {ranking.query.k})"
    )


def _check_new(rec: HybridRecommender, title: str, description: str) -> None:
    """Refuse, naming the limit or the twin, what would otherwise be cut or doubled."""
    if len(title) > MAX_TITLE:
        raise DataError(too_long("A title", len(title), MAX_TITLE))
    if len(description) > MAX_DESCRIPTION:
        raise DataError(too_long("A description", len(description), MAX_DESCRIPTION))
    wanted = " ".join(title.split()).casefold()
    titles = rec.catalog["title"].astype(str)
    twin = titles[titles.str.split().str.join(" ").str.casefold() == wanted]
    if wanted and len(twin):
        raise DataError(
            f"A video titled “{md(twin.iat[0])}” is already in the catalog. Give the new "
            "video a title of its own, for example with its year: “Title (2024)”."
        )


def _added(video, rec: HybridRecommender, session: ViewerSession, ranking: Ranking) -> None:
    with st.container(border=True, key=f"added_{video.video_id}"):
        st.markdown(f"**{md(video.title)}** · {md(video.genres.replace('|', ' · ') or 'no genre')}")
        if video.tags:
            st.caption(f"🏷️ Generated tags: {md(' · '.join(video.tags))}")
        predicted = rec.predict(session.ratings, [video.video_id])[0]
        st.caption(f"Predicted for you: {predicted:.1f}★ · {place_in_list(rec, ranking, video)}")
        st.caption("The catalog videos it reads most like:")
        st.dataframe(
            video.neighbours.head(8)[["title", "similarity"]],
            hide_index=True,
            use_container_width=True,
            column_config={
                "similarity": st.column_config.ProgressColumn(
                    "content similarity", min_value=0.0, max_value=1.0, format="%.2f"
                )
            },
        )
