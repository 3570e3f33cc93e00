"""The catalog: every look-up that needs no viewer, by id, title, popularity or meaning.

Rows are positions in the catalog frame; ids are the videos' own ids. Search by meaning embeds
the text with the Transformer and asks the FAISS index, so it lives here beside the other
look-ups rather than in the ranking.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from vidrec.errors import DataError, UnknownVideoError, shown, video_id_of
from vidrec.index import Index

if TYPE_CHECKING:  # only a type here: importing content would load torch for nothing
    from vidrec.content import ContentEncoder

MAX_QUERY = 1_000  # characters of a title query; longer cannot match any title
HIT_COLUMNS = ["video_id", "title", "year", "genres"]


def check_k(k: object) -> int:
    """A list length: a whole number from 1 to 1000."""
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 1 <= k <= 1000:
        raise DataError(f"k must be a whole number from 1 to 1000, got {k!r}")
    return int(k)


def popularity(rating_counts: np.ndarray, unseen: np.ndarray | None = None) -> np.ndarray:
    """log(1 + ratings); a new upload gets the catalog's mean: its audience is unknown, not
    absent, so the popularity prior neither lifts nor sinks it (its text places it)."""
    pop = np.log1p(rating_counts).astype(np.float32)
    if unseen is not None and unseen.any() and not unseen.all():
        pop[unseen] = pop[~unseen].mean()
    return pop


class Catalog:
    """The videos (a frame aligned with the embeddings) and their look-ups."""

    def __init__(
        self,
        frame: pd.DataFrame,
        rating_counts: np.ndarray,
        embeddings: np.ndarray,
        index: Index,
        encoder: ContentEncoder | None = None,  # None: no search by meaning
        unseen: np.ndarray | None = None,  # (n_items,) bool: new uploads, audience not yet known
    ):
        self.frame = frame.reset_index(drop=True)
        self.video_ids = self.frame["video_id"].to_numpy(np.int64)
        self.rating_counts = np.asarray(rating_counts)  # (n_items,)
        self.popularity = popularity(self.rating_counts, unseen)  # (n_items,)
        self.popular_rows = np.argsort(-self.popularity, kind="stable")  # most rated first
        self.embeddings, self.index, self.encoder = embeddings, index, encoder
        self._row = {int(v): r for r, v in enumerate(self.video_ids)}
        self._id_order = np.argsort(self.video_ids, kind="stable")  # for vectorised id -> row

    def __len__(self) -> int:
        return len(self.video_ids)

    def __contains__(self, video_id: object) -> bool:
        return video_id in self._row

    def rows_of(self, video_ids) -> np.ndarray:
        """Catalog rows of video ids; unknown ids raise UnknownVideoError naming them."""
        given = np.asarray(video_ids, dtype=object)
        if given.ndim > 1:
            raise DataError(f"video ids must be a flat list, got shape {given.shape}")
        ids = [video_id_of(v) for v in np.atleast_1d(given).tolist()]
        missing = [v for v in ids if v not in self._row]
        if missing:
            raise UnknownVideoError(f"unknown video id(s): {', '.join(map(str, missing[:10]))}")
        return np.array([self._row[v] for v in ids], dtype=np.int64)

    def rows_of_found(self, ids: np.ndarray) -> np.ndarray:
        """Rows of ids an index returned (all in the catalog): one searchsorted, no dict walk."""
        return self._id_order[np.searchsorted(self.video_ids, ids, sorter=self._id_order)]

    def popular(self, n: int = 20) -> pd.DataFrame:
        """The most-rated videos: what a catalog browser shows before any search."""
        rows = self.popular_rows[: check_k(n)]
        return self.frame.iloc[rows][HIT_COLUMNS].reset_index(drop=True)

    def similar(self, video_id: int, k: int = 10) -> pd.DataFrame:
        """Videos whose content embedding is nearest to this one's (FAISS)."""
        row = self.rows_of([video_id])[0]
        ids, scores = self.index.search(self.embeddings[row], check_k(k), exclude=[video_id])
        return self.hits(ids, scores)

    def search(self, text: str, k: int = 10) -> pd.DataFrame:
        """Plain-language search: the Transformer embeds the text, FAISS finds the videos."""
        if self.encoder is None:
            raise DataError("search needs the content encoder, which was not loaded")
        ids, scores = self.index.search(self.encoder.encode_query(text), check_k(k))
        return self.hits(ids, scores)

    def hits(self, ids: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
        """Search results as a frame: the videos' id, title, year, genres and similarity."""
        cat = self.frame.iloc[self.rows_of(ids)] if len(ids) else self.frame.iloc[[]]
        out = cat[HIT_COLUMNS].reset_index(drop=True)
        return out.assign(similarity=np.asarray(scores, np.float32))

    def find_title(self, text: str) -> int:
        """A video id from a title: exact, then case-insensitive, then a unique substring."""
        titles = self.frame["title"]
        # lone surrogates cannot be encoded for pandas' string arrays, and no title has one
        query = str(text).strip().encode("utf-8", "replace").decode("utf-8")
        if len(query) > MAX_QUERY:
            raise UnknownVideoError(f"no video titled {shown(query)} (titles are shorter)")
        for mask in (titles == query, titles.str.lower() == query.lower()):
            if mask.sum() == 1:
                return int(self.frame.loc[mask, "video_id"].iat[0])
        sub = (
            titles.str.lower().str.contains(query.lower(), regex=False)
            if query
            else titles != titles
        )
        if sub.sum() == 1:
            return int(self.frame.loc[sub, "video_id"].iat[0])
        if sub.sum() > 1:
            found = self.frame.loc[sub].head(8)
            options = "; ".join(f"{t} [id {v}]" for t, v in zip(found["title"], found["video_id"]))
            raise UnknownVideoError(f"{shown(query)} matches {sub.sum()} titles, e.g. {options}")
        close = difflib.get_close_matches(query, titles.tolist(), n=5, cutoff=0.5)
        hint = f" Did you mean: {'; '.join(close)}?" if close else ""
        raise UnknownVideoError(f"no video titled {shown(query)}.{hint}")
