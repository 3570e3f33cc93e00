"""Cold start: a video nobody has rated, placed in both spaces from its text alone.

The shared recommender is never changed. A viewer's added videos live in a session-local view
(``with_videos``) that layers them over the shared catalog, embeddings, MF factors and index.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from vidrec.data.schema import GENRES, clean_text, join_genres, video_text, year_from_title
from vidrec.errors import DataError
from vidrec.mapping import ContentToCollab, fit_content_map
from vidrec.mf import BiasedMF
from vidrec.recommender import HybridRecommender

log = logging.getLogger(__name__)
MAX_TITLE, MAX_DESCRIPTION = 300, 5_000
NEIGHBOURS = 10  # nearest catalog videos shown beside a new one
ADDED_ID_START = 10_000_000  # ids for viewer-added videos, far above any catalog id here


@dataclass(frozen=True)
class AddedVideo:
    """A viewer-added video with its content embedding and its mapped collaborative position."""

    video_id: int
    title: str
    genres: str
    description: str
    text: str
    embedding: np.ndarray  # (dim,) unit vector
    factors: np.ndarray  # (d,) item factors predicted from the embedding
    bias: float
    neighbours: pd.DataFrame  # video_id, title, similarity


def new_video(
    rec: HybridRecommender,
    title: str,
    description: str = "",
    genres: Sequence[str] = (),
    video_id: int | None = None,
) -> AddedVideo:
    """Embed a new video's text and predict its collaborative position from that embedding.

    The position comes from a ridge map fitted on the rated catalog (vidrec.mapping); the
    nearest catalog videos by content are kept to show the viewer what it resembles.
    """
    title, description, genre_str = _checked(title, description, genres)
    if rec.encoder is None:
        raise DataError("adding a video needs the content encoder, which was not loaded")
    text = video_text(title, genre_str, description, "")
    emb = rec.encoder.encode([text])[0]  # (dim,)
    ids, sims = rec.index.search(emb, NEIGHBOURS)
    titles = rec.catalog["title"].to_numpy()[rec.rows_of(ids)]
    factors, bias = content_map(rec).predict(emb)
    hood = pd.DataFrame({"video_id": ids, "title": titles, "similarity": sims})
    vid = int(video_id) if video_id is not None else ADDED_ID_START
    return AddedVideo(
        vid, title, genre_str, description, text, emb, factors[0], float(bias[0]), hood
    )


def content_map(rec: HybridRecommender) -> ContentToCollab:
    """The content→collaborative map for this recommender's catalog (fits in milliseconds)."""
    counts = np.expm1(rec.popularity).round()
    return fit_content_map(
        rec.embeddings, rec.mf.item_factors.numpy(), rec.mf.item_bias.numpy(), counts
    )


def _checked(title, description, genres) -> tuple[str, str, str]:
    """Validate user-typed fields: clear messages, control characters removed, lengths capped."""
    title = clean_text(title if isinstance(title, str) else "").strip()
    description = clean_text(description if isinstance(description, str) else "").strip()
    if not title:
        raise DataError("a new video needs a title")
    if len(title) > MAX_TITLE:
        raise DataError(f"the title is {len(title)} characters; the limit is {MAX_TITLE}")
    if len(description) > MAX_DESCRIPTION:
        raise DataError(
            f"the description is {len(description)} characters; the limit is {MAX_DESCRIPTION}"
        )
    unknown = [g for g in genres if g not in GENRES]
    if unknown:
        raise DataError(f"unknown genre(s): {', '.join(map(str, unknown))}")
    return title, description, join_genres(genres)


def next_video_id(rec: HybridRecommender, added: Collection[AddedVideo]) -> int:
    """An id no catalog or added video uses."""
    used = [ADDED_ID_START - 1, int(rec.video_ids.max())] + [v.video_id for v in added]
    return max(used) + 1


def with_videos(rec: HybridRecommender, added: Sequence[AddedVideo]) -> HybridRecommender:
    """A session-local recommender that also knows the added videos; ``rec`` is unchanged."""
    if not added:
        return rec
    extra = pd.DataFrame(
        {
            "video_id": [v.video_id for v in added],
            "title": [v.title for v in added],
            "year": pd.array([year_from_title(v.title) for v in added], dtype="Int64"),
            "genres": [v.genres for v in added],
            "description": [v.description for v in added],
            "tags": "",
            "text": [v.text for v in added],
        }
    )
    catalog = pd.concat([rec.catalog, extra], ignore_index=True)
    emb = np.vstack([rec.embeddings] + [v.embedding[None, :] for v in added]).astype(np.float32)
    mf = _mf_with(rec.mf, added)
    counts = np.concatenate([np.expm1(rec.popularity), np.zeros(len(added))])
    index = OverlayIndex(rec.index, extra["video_id"].to_numpy(np.int64), emb[len(rec.catalog) :])
    return HybridRecommender(catalog, emb, index, mf, rec.encoder, counts, rec.config)


def _mf_with(mf: BiasedMF, added: Sequence[AddedVideo]) -> BiasedMF:
    """A copy of the MF item side with rows appended (the shared model is not touched)."""
    out = BiasedMF(mf.params)
    out.global_mean = mf.global_mean
    factors = torch.as_tensor(np.stack([v.factors for v in added]), dtype=mf.item_factors.dtype)
    biases = torch.as_tensor([v.bias for v in added], dtype=mf.item_bias.dtype)
    out.item_factors = torch.cat([mf.item_factors, factors])
    out.item_bias = torch.cat([mf.item_bias, biases])
    out._refresh_gram()
    return out


class OverlayIndex:
    """The shared FAISS index plus a few session vectors searched exactly, results merged."""

    def __init__(self, base, ids: np.ndarray, vectors: np.ndarray):
        self.base, self.extra_ids, self.extra = base, ids, vectors  # (m,), (m, dim)
        self.kind = f"{base.kind} + {len(ids)} added"

    def __len__(self) -> int:
        return len(self.base) + len(self.extra_ids)

    def search(self, query: np.ndarray, k: int, exclude: Collection[int] = ()):
        """Best k ids and scores from both parts, excluded ids removed."""
        q = np.asarray(query, np.float32).reshape(-1)
        ids, scores = self.base.search(q, k, exclude=exclude)
        keep = ~np.isin(self.extra_ids, list(exclude))
        all_ids = np.concatenate([ids, self.extra_ids[keep]])
        all_scores = np.concatenate([scores, self.extra[keep] @ q])
        order = np.argsort(-all_scores, kind="stable")[:k]
        return all_ids[order], all_scores[order]
