"""Nearest-neighbour search over video embeddings: exact for small catalogs, HNSW for large ones."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Protocol

import faiss
import numpy as np

from vidrec.errors import DataError

log = logging.getLogger(__name__)

HNSW_EF_CONSTRUCTION = 80  # build-time beam width: good recall at modest build cost
KINDS = ("flat", "hnsw")


class Index(Protocol):
    """What ranking needs from a video index: a VideoIndex, or coldstart's OverlayIndex on one."""

    @property
    def kind(self) -> str:
        """How it searches ("flat", "hnsw", ...), as shown to the viewer."""
        ...

    def __len__(self) -> int: ...

    def search(
        self, query: np.ndarray, k: int, exclude: Collection[int] = ()
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k ids and scores for one (dim,) query, best first, excluded ids never returned."""
        ...

    def search_many(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(m, k) ids and scores for m queries; -1 ids (score -inf) pad short rows."""
        ...


class VideoIndex:
    """Inner-product search over L2-normalised video embeddings with stable int64 video ids.

    Videos are only ever added (a catalog change rebuilds the index). A single lock guards every
    operation, because searches read the faiss index that ``add`` changes.
    """

    def __init__(
        self,
        dim: int,
        *,
        exact_max: int = 200_000,
        hnsw_m: int = 32,
        ef_search: int = 128,
        kind: str = "flat",
    ):
        if dim < 1:
            raise DataError(f"embedding dimension must be positive, got {dim}")
        if kind not in KINDS:
            raise DataError(f"index kind must be one of {KINDS}, got {kind!r}")
        self.dim = dim
        self.exact_max = exact_max
        self.hnsw_m = hnsw_m
        self.ef_search = ef_search
        self.kind = kind
        self._index = self._new_faiss_index()
        self._present: set[int] = set()  # every id stored in faiss
        self._lock = threading.Lock()

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, **kw) -> VideoIndex:
        """Index a whole catalog, choosing exact search unless it exceeds exact_max videos."""
        vectors = np.asarray(vectors)
        if vectors.ndim != 2:
            raise DataError(f"vectors must be 2-D (n, dim), got shape {vectors.shape}")
        exact_max = kw.get("exact_max", 200_000)
        kind = "flat" if len(vectors) <= exact_max else "hnsw"
        index = cls(vectors.shape[1], kind=kind, **kw)
        index.add(ids, vectors)
        log.info("built %s index of %d videos (dim %d)", kind, len(index), index.dim)
        return index

    def _new_faiss_index(self) -> faiss.IndexIDMap2:
        """An empty id-mapped faiss index of this index's kind."""
        inner: faiss.Index
        if self.kind == "flat":
            inner = faiss.IndexFlatIP(self.dim)
        else:
            hnsw = faiss.IndexHNSWFlat(self.dim, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            hnsw.hnsw.efSearch = self.ef_search
            inner = hnsw
        return faiss.IndexIDMap2(inner)  # IDMap2: the kind every saved index file holds

    def __len__(self) -> int:
        return self._index.ntotal

    @property
    def ids(self) -> np.ndarray:
        """Ids of the searchable videos, in insertion order."""
        with self._lock:
            return faiss.vector_to_array(self._index.id_map).astype(np.int64)  # (ntotal,)

    def add(self, ids: Iterable[int] | np.ndarray, vectors: np.ndarray) -> None:
        """Add videos; duplicate ids, wrong shapes and non-finite values raise DataError."""
        ids_arr = _as_ids(ids)
        vecs = self._as_vectors(vectors, "vectors")
        if len(ids_arr) != len(vecs):
            raise DataError(f"got {len(ids_arr)} ids but {len(vecs)} vectors")
        unique, counts = np.unique(ids_arr, return_counts=True)
        if (counts > 1).any():
            raise DataError(f"duplicate ids in the batch: {_listing(unique[counts > 1])}")
        with self._lock:
            clash = [int(i) for i in ids_arr if int(i) in self._present]
            if clash:
                raise DataError(f"ids already in the index: {_listing(clash)}")
            self._index.add_with_ids(vecs, ids_arr)
            self._present.update(int(i) for i in ids_arr)

    def search(
        self, query: np.ndarray, k: int, exclude: Collection[int] = ()
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k videos by inner product, best first, never returning excluded ids."""
        q = self._as_vectors(np.asarray(query).reshape(1, -1), "query")  # (1, dim)
        skip = {int(i) for i in exclude}
        with self._lock:
            fetch = min(k + len(skip), self._index.ntotal)
            if k < 1 or fetch < 1:
                return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
            scores, found = self._raw_search(q, fetch)  # (1, fetch) each
        keep = [j for j, vid in enumerate(found[0]) if vid != -1 and int(vid) not in skip][:k]
        return found[0, keep].astype(np.int64), scores[0, keep].astype(np.float32)

    def search_many(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k for many queries at once, (m, k) ids and scores; -1 ids (score -inf) pad rows."""
        qs = self._as_vectors(queries, "queries")  # (m, dim)
        out_ids = np.full((len(qs), max(k, 0)), -1, dtype=np.int64)  # (m, k)
        out_scores = np.full((len(qs), max(k, 0)), -np.inf, dtype=np.float32)  # (m, k)
        with self._lock:
            fetch = min(k, self._index.ntotal)
            if k < 1 or fetch < 1 or len(qs) == 0:
                return out_ids, out_scores
            scores, found = self._raw_search(qs, fetch)  # (m, fetch) each
        for row in range(len(qs)):
            keep = [j for j, vid in enumerate(found[row]) if vid != -1]
            out_ids[row, : len(keep)] = found[row, keep]
            out_scores[row, : len(keep)] = scores[row, keep]
        return out_ids, out_scores

    def _raw_search(self, queries: np.ndarray, fetch: int) -> tuple[np.ndarray, np.ndarray]:
        """faiss search; for HNSW the beam is widened to at least fetch so deep lists stay good."""
        if self.kind == "hnsw":
            # Per-call parameters rather than setting hnsw.efSearch, which is shared state.
            # faiss's bundled stubs omit SearchParametersHNSW, which the library has.
            params = faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
                efSearch=max(self.ef_search, fetch)
            )
            return self._index.search(queries, fetch, params=params)
        return self._index.search(queries, fetch)

    def _as_vectors(self, vectors: np.ndarray, what: str) -> np.ndarray:
        """Validate shape and finiteness; return a C-contiguous float32 copy faiss accepts."""
        arr = np.asarray(vectors)
        if arr.ndim != 2 or arr.shape[1] != self.dim:
            raise DataError(f"{what} must have shape (n, {self.dim}), got {arr.shape}")
        if not np.issubdtype(arr.dtype, np.number):
            raise DataError(f"{what} must be numeric, got dtype {arr.dtype}")
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        if not np.isfinite(arr).all():
            bad = np.flatnonzero(~np.isfinite(arr).all(axis=1))
            raise DataError(f"{what} has NaN or infinite values in rows {_listing(bad)}")
        return arr

    def save(self, path: Path) -> None:
        """Write the index atomically (temp file + rename) with its settings in a .json beside."""
        path = Path(path)
        with self._lock:
            meta = {
                "kind": self.kind,
                "dim": self.dim,
                "exact_max": self.exact_max,
                "hnsw_m": self.hnsw_m,
                "ef_search": self.ef_search,
            }
            _atomic_write(path, lambda tmp: faiss.write_index(self._index, tmp))
            _atomic_write(_meta_path(path), lambda tmp: Path(tmp).write_text(json.dumps(meta)))

    @classmethod
    def load(cls, path: Path) -> VideoIndex:
        """Read an index written by save(); a missing or corrupt file raises DataError naming it."""
        path = Path(path)
        if not path.is_file():
            raise DataError(f"index file {path} does not exist; rebuild the index")
        try:
            raw = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise DataError(f"index file {path} is corrupt or not a faiss index: {exc}") from None
        if not isinstance(raw, faiss.IndexIDMap2):
            raise DataError(
                f"index file {path} holds a {type(raw).__name__}, not an id-mapped index"
            )
        meta = _read_meta(_meta_path(path))
        if meta.get("masked"):  # written by an older version that could hide videos
            raise DataError(f"index file {path} hides removed videos; rebuild the index")
        kind = (
            "hnsw" if isinstance(faiss.downcast_index(raw.index), faiss.IndexHNSWFlat) else "flat"
        )
        index = cls(
            raw.d,
            exact_max=meta.get("exact_max", 200_000),
            hnsw_m=meta.get("hnsw_m", 32),
            ef_search=meta.get("ef_search", 128),
            kind=kind,
        )
        index._index = raw
        index._present = {int(i) for i in faiss.vector_to_array(raw.id_map)}
        return index


class MaxInnerProductIndex:
    """Rows with the largest raw inner product with a query (MF item factors of any norm).

    Each row v gets one more coordinate, sqrt(R² − |v|²) with R the largest norm, so all rows
    share norm R and a query padded with 0 keeps its inner products: the largest inner product
    becomes the smallest angle. An IVF over those rows (k-means lists; trains in seconds) scans
    the ``nprobe`` lists whose centres point most along the query; nprobe = nlist is exact.
    HNSW was measured too and missed far more: a taste vector lies far from every item row.
    """

    def __init__(self, vectors: np.ndarray, *, nlist: int | None = None, nprobe: int = 64):
        v = np.asarray(vectors, dtype=np.float32)  # (n, d)
        if v.ndim != 2 or len(v) == 0 or not np.isfinite(v).all():
            raise DataError(f"vectors must be a finite, non-empty (n, d) array; got {v.shape}")
        norms = np.linalg.norm(v, axis=1)  # (n,)
        pad = np.sqrt(np.maximum(norms.max() ** 2 - norms**2, 0.0))  # (n,)
        rows = np.ascontiguousarray(np.hstack([v, pad[:, None]]), dtype=np.float32)  # (n, d+1)
        self.nlist = nlist or max(1, min(len(v), int(4 * np.sqrt(len(v)))))  # ≈ 4·√n lists
        self.nprobe = nprobe
        quantizer = faiss.IndexFlatIP(rows.shape[1])
        self._index = faiss.IndexIVFFlat(
            quantizer, rows.shape[1], self.nlist, faiss.METRIC_INNER_PRODUCT
        )
        self._index.cp.max_points_per_centroid = 64  # k-means on a sample: seconds at 1M rows
        self._index.train(rows)
        self._index.add(rows)

    def __len__(self) -> int:
        return self._index.ntotal

    def search(self, query: np.ndarray, k: int) -> np.ndarray:
        """Up to k rows with the largest inner product with query, best first."""
        padded = np.append(np.asarray(query, dtype=np.float32).reshape(-1), np.float32(0.0))
        params = faiss.SearchParametersIVF()  # per call: no shared state
        params.nprobe = self.nprobe
        rows = self._index.search(padded.reshape(1, -1), k, params=params)[1][0]
        return rows[rows >= 0]


def _as_ids(ids: Iterable[int] | np.ndarray) -> np.ndarray:
    """Ids as a 1-D int64 array; why: faiss wants int64 labels and floats would round silently."""
    arr = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids)
    if arr.ndim != 1:
        raise DataError(f"ids must be 1-D, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise DataError(f"ids must be integers, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _listing(values: Iterable, limit: int = 10) -> str:
    """A short human-readable list of values, elided after limit items."""
    items = [str(int(v)) for v in values]
    more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _meta_path(path: Path) -> Path:
    """Where the settings of an index file live."""
    return path.with_name(path.name + ".json")


def _read_meta(path: Path) -> dict:
    """Settings saved beside an index; absent means the defaults."""
    if not path.is_file():
        return {}
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"index settings file {path} is unreadable: {exc}") from None
    if not isinstance(meta, dict):
        raise DataError(f"index settings file {path} should hold a JSON object")
    return meta


def _atomic_write(path: Path, write) -> None:
    """Run write(tmp_name) into a temp file in path's folder, then rename it over path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
