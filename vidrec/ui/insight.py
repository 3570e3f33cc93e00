"""Why these? (contributions, what-ifs, token attention), the interest map, how it works."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from vidrec.attribution import counterfactual, explain
from vidrec.evaluation import report, tag_audit
from vidrec.present import charts, maps
from vidrec.present.style import signed
from vidrec.present.why import what_if_table, what_if_text
from vidrec.recommender import HybridRecommender, Profile, Ranking
from vidrec.ui import evaluation
from vidrec.ui.common import chart, md, plural
from vidrec.viewer.demo import Demo
from vidrec.viewer.session import ViewerSession

MAX_RATED_COLUMNS = 20  # a long history is cut to the ratings the list attends to most


def render_why(rec: HybridRecommender, ranking: Ranking, recs: pd.DataFrame):
    """What each past rating adds to each pick's score, what-ifs, and what the Transformer read."""
    st.subheader("Why these? Your ratings × your recommendations")
    parts = "content, MF and item-item" if rec.collab_shares()[1] else "content and MF"
    st.caption(
        "Each cell is the exact part of a pick's score that one of your ratings adds (blue lifts, "
        "red lowers; relative to the average unrated video). The cells of a row plus the "
        f"popularity prior add up to the pick's score. Hover for the {parts} parts. A rating "
        "below 3★ pushes the films like it down, so its cells are red where it matters."
    )
    show = st.radio(
        "Colour by", charts.CONTRIBUTION_VIEWS, horizontal=True, key="why_show",
        format_func=lambda v: {"total": "total contribution", "content": "content part",
                               "collaborative": "collaborative part"}[v],
    )  # fmt: skip
    profile = ranking.profile
    if profile.n and not recs.empty:
        att = explain(rec, ranking)
        cols = np.argsort(-np.abs(att.total_by_rating()).sum(0), kind="stable")
        cols = cols[:MAX_RATED_COLUMNS]
        titles = rec.catalog["title"].to_numpy()
        fig = charts.contribution_heatmap(
            att.per_rating[:, cols],
            recs["title"].tolist(),
            [titles[r] for r in profile.rows[cols]],
            profile.stars[cols].tolist(),
            show=show,
        )
    else:
        fig = charts.contribution_heatmap(np.zeros((0, 0, 3)), [], [], [])
    chart(fig, "why_heatmap")
    _what_if(rec, ranking, recs)
    _token_attention(rec, profile, recs)


def _what_if(rec: HybridRecommender, ranking: Ranking, recs: pd.DataFrame):
    """Counterfactuals for one pick: each rating taken away, the viewer re-folded, re-ranked."""
    st.subheader("What if you had not rated…")
    if not ranking.profile.n or recs.empty:
        st.caption("Rate a video to see which of your ratings each pick depends on.")
        return
    titles = dict(zip(recs["video_id"], recs["title"]))
    video = st.selectbox("Pick", list(titles), format_func=lambda v: titles[v], key="what_if_video")
    cf = counterfactual(rec, ranking, video)
    st.markdown(what_if_text(cf, rec, ranking.query.k))
    st.dataframe(
        what_if_table(cf, rec), hide_index=True, key="what_if_table", use_container_width=True
    )


def _token_attention(rec: HybridRecommender, profile: Profile, recs: pd.DataFrame) -> None:
    st.subheader("What the Transformer read")
    ids = list(dict.fromkeys(recs["video_id"].tolist() + rec.video_ids[profile.rows].tolist()))
    if not ids:
        return
    titles = rec.catalog.set_index("video_id")["title"]
    pick, layer_col, head_col, mode_col = st.columns([3, 1.3, 1.3, 1.6])
    video_id = pick.selectbox(
        "Video", ids, format_func=lambda v: titles.get(v, str(v)), key="token_video"
    )
    layer = layer_col.selectbox("Layer", list(range(1, 7)), index=5, key="token_layer")
    head = head_col.selectbox("Head", ["average"] + list(range(1, 13)), key="token_head")
    mode = mode_col.radio("Show", ["layer/head", "rollout"], key="token_mode", horizontal=True)
    text = rec.catalog.loc[rec.catalog["video_id"] == video_id, "text"].iat[0]
    att = _attentions(rec, text)
    if mode == "rollout":
        matrix, what = att.rollout(), "attention rollout through all layers"
    elif head == "average":
        matrix, what = att.head_average(layer - 1), f"layer {layer}, mean of 12 heads"
    else:
        matrix, what = att.weights[layer - 1, int(head) - 1], f"layer {layer}, head {head}"
    st.caption(f"Text read: {md(text)}")
    chart(charts.token_attention_heatmap(att.tokens, matrix, what), "token_heatmap")
    st.caption(
        "Raw reading: each token's share of the pooled video embedding (the Transformer "
        "alone, before any rating):"
    )
    chart(charts.token_strip(att.tokens, att.pooled_token_weights()), "token_strip")
    _trained_weights(rec, video_id)


def _trained_weights(rec: HybridRecommender, video_id: int) -> None:
    """The trained reader's pooling weight on each token: the words the ratings taught it."""
    if rec.reading is None:
        return
    ids, weights = rec.reading.token_weights(int(rec.videos.rows_of([video_id])[0]))
    tokens = rec.encoder.token_strings(ids)
    words = [i for i in np.argsort(-weights, kind="stable") if _is_word(tokens[i])]
    top = [tokens[i] for i in words[:3]]
    st.caption(
        "Trained reading: the weight the taste-trained reader puts on each token, learned from "
        f"the ratings (it weighs most: {', '.join(md(t) for t in top)}):"
    )
    chart(charts.token_strip(tokens, weights), "trained_token_strip")


def _is_word(token: str) -> bool:
    """A word piece worth naming: letters or digits, not [CLS]/[SEP] or punctuation."""
    return any(ch.isalnum() for ch in token) and not token.startswith("[")


def _attentions(rec: HybridRecommender, text: str):
    """Token attentions of a text, kept per session (the encoder forward pass is the cost)."""
    cache = st.session_state.setdefault("_token_attention_cache", {})
    if text not in cache:
        if len(cache) > 32:
            cache.clear()
        cache[text] = rec.encoder.attentions(text)
    return cache[text]


def render_map(demo: Demo, rec: HybridRecommender, profile: Profile, recs: pd.DataFrame) -> None:
    """The catalog in content and collaborative space, with the viewer's taste in each."""
    st.subheader("Interest map")
    titles, genres = rec.catalog["title"].tolist(), rec.catalog["genres"].tolist()
    rated = {int(r): float(s) for r, s in zip(profile.rows, profile.stars)}
    content, collab = st.columns([1.3, 1], gap="medium")  # the first carries the genre legend
    with content:
        st.caption(
            "**What the videos are about.** Each dot is a video, placed by what its text says "
            "(Transformer embedding, PCA to 2-D) and coloured by main genre. Stars: your "
            "ratings. Rings: your picks. ◆ You: your content interest."
        )
        viewer_xy = (
            tuple(demo.projection.transform(profile.content)) if np.any(profile.content) else None
        )
        picks = rec.videos.rows_of(recs["video_id"]).tolist()
        fig = maps.interest_map(demo.content_map(rec), titles, genres, rated, viewer_xy, picks)
        chart(fig, "interest_map")
    with collab:
        st.caption(
            "**Your taste trail: who watches them.** The same videos and colours, placed by who "
            "watches them (collaborative model, PCA to 2-D). Arrow: your collaborative vector. "
            "Pink dots: where it pointed after each of your last ratings, numbered where there "
            "is room (hover any)."
        )
        trail = demo.taste_trail(rec, profile)
        fig = maps.taste_trail(
            demo.collab_map(rec), titles, genres, rated, trail.xy, trail.steps, trail.rows
        )
        chart(fig, "taste_trail")
    _genre_interest(demo, rec, profile)


def _genre_interest(demo: Demo, rec: HybridRecommender, profile: Profile) -> None:
    """Under the content map, as it reads the same content interest (full width is too sparse)."""
    column, _ = st.columns([1.3, 1], gap="medium")
    column.markdown("**Interest by genre**")
    if not profile.n:
        column.caption("Rate a few videos to see your genre profile.")
        return
    column.caption("How far your content interest leans towards each genre (right) or away (left).")
    chart(maps.genre_interest(demo.genre_interest(profile, rec)), "genre_interest", column)


def render_about(demo: Demo, rec: HybridRecommender, session: ViewerSession) -> None:
    """The loop and the live numbers behind this session."""
    st.subheader("How it works")
    n_rated = len(session.ratings)
    ms = f"{session.last_update_ms:.0f} ms" if session.last_update_ms else "on your next rating"
    st.graphviz_chart(
        charts.loop_dot(
            [
                (
                    "Content understanding",
                    f"{len(rec.catalog):,} videos → Transformer → FAISS, reader",
                ),
                ("Interest mapping", f"{plural(n_rated, 'rating')} folded into your vector"),
                ("Recommendation", f"blend α, re-ranked in {ms}"),
                ("Your feedback", "re-folds you; ratings teach the reader"),
            ]
        ),
        use_container_width=True,
    )
    st.markdown(
        "**Content understanding** → **interest mapping** → **recommendation** → "
        "**your feedback** → back to the start.\n\n"
        "1. *Content understanding*: a Transformer reads each video's text (title, year, genres, "
        "description) into a 384-d vector; FAISS indexes them for similarity search. A small "
        "*taste-trained reader* on the Transformer's token states learned from the ratings which "
        "words matter and where each text sits among viewers' tastes (a new video too).\n"
        "2. *Interest mapping*: a matrix-factorisation model trained on real ratings places "
        "every video in a collaborative space; your ratings are folded in by two small ridge "
        "solves, so your vector updates on every click.\n"
        "3. *Recommendation*: the content score (your ratings folded into the trained reading) "
        "and the collaborative preference are z-scored and blended by α, with a popularity "
        f"prior that fades over your first {rec.config.popularity_fade:g} ratings; until then α "
        f"also leans on content (at least {rec.config.alpha_new:g} with no ratings).\n"
        "4. *Feedback*: each rating re-folds your vector and the list re-ranks at once."
    )
    cfg = rec.config
    numbers = {
        "Videos in the catalog": f"{len(rec.catalog):,}",
        "Ratings the model learned from": f"{len(demo.ratings):,}",
        "Transformer": cfg.model.replace("bundled:", "") + f" ({rec.embeddings.shape[1]}-d)",
        "FAISS index": rec.index.kind,
        "MF factors": f"{rec.mf.params.factors}-d, two heads (picks, stars)",
        "Your ratings": f"{len(session.ratings)}",
        "Last re-rank (server)": f"{session.last_update_ms:.1f} ms"
        if session.last_update_ms
        else "–",
        "Demo loaded in": f"{demo.load_seconds:.1f} s",
    }
    st.table(pd.DataFrame({"": list(numbers), "value": list(numbers.values())}).set_index(""))
    _measured()


def _reading_lead(doc: dict) -> str:
    """One sentence on what the trained reading changed, from protocol A's rows."""
    a = {r["method"]: r["ndcg@10"] for r in doc["rows"] if str(r["protocol"]).startswith("A")}
    if not {"content", "content (raw reading)", "popularity"} <= set(a):
        return ""
    return (f"Content alone, with no collaborative vector of yours: {a['content']:.3f} nDCG@10 "
            f"read by the trained reader, {a['content (raw reading)']:.3f} read raw, popularity "
            f"{a['popularity']:.3f}. ")  # fmt: skip


def _measured() -> None:
    """What the content side adds, as the saved evaluation measured it (nothing if none ran)."""
    doc, _ = evaluation.saved()["eval"]  # a damaged file: the Evaluation view says why
    if doc is None:
        return
    spread, few = report.seeds(doc), report.few_ratings(doc)
    if spread.empty or few.empty:
        return
    leads = " / ".join(signed(v) for v in spread["hybrid − collaborative"])
    pairs = zip(few["ratings per viewer"], few["hybrid vs collaborative"])
    by_n = " · ".join(f"{n} rating{'' if n == 1 else 's'} {lead}" for n, lead in pairs)
    st.markdown(
        "**What the content side adds, measured** (held-out MovieLens ratings, blend chosen on "
        f"a validation split): hybrid minus collaborative-only nDCG@10 on three splits {leads}; "
        f"for viewers who have only a few ratings, {by_n}. {_reading_lead(doc)}See the "
        "Evaluation view for every number."
    )
    if tag_audit.AUDIT_FILE.exists():
        s = tag_audit.summary(tag_audit.load_audit())
        st.caption(
            f"Tags on cards: {s['precision']:.0%} of {s['tags_shown']} shown tags were right in "
            f"an audit of {s['films']} random films; films without a synopsis show none."
        )
