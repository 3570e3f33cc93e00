"""Build once, load fast: embeddings, FAISS index and MF model cached by a hash of their inputs.

A cache folder is trusted only when its manifest (written last) names the expected key and every
file's SHA-256 matches; anything else is rebuilt. Builds happen in a temporary folder that is
renamed into place, so an interrupted build never leaves a folder a later start would trust.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from vidrec.config import Config
from vidrec.content import ContentEncoder, TokenStates, resolve_model
from vidrec.data import Dataset, load_dataset
from vidrec.errors import DataError
from vidrec.index import VideoIndex
from vidrec.itemitem import ITEM_ITEM_MAX, ItemItem
from vidrec.mf import BiasedMF
from vidrec.reader import TasteReader, train_reader
from vidrec.recommender import HybridRecommender
from vidrec.tempfiles import remove_dead
from vidrec.verified import file_hash, mismatched, read_manifest, write_manifest

log = logging.getLogger(__name__)
ARTIFACT_VERSION = 4  # bump when the format or the maths of a stage changes
FILES = (
    "embeddings.npy", "tokens.safetensors", "index.faiss", "mf.safetensors",
    "itemitem.safetensors", "reader.safetensors",
)  # fmt: skip

# progress(stage, done, total): stage names are shown to the user as they are
Progress = Callable[[str, int, int], None]


class BuildEngine(Protocol):
    """Where the two heavy build stages run: this process, or a cluster (vidrec.spark).

    Both engines write the same files under the same key, so the app and the CLI load
    whatever was built last; the manifest records which engine built it.
    """

    name: str

    def read(self, texts: list[str], say: Progress) -> tuple[np.ndarray, TokenStates]:
        """Unit-length embeddings (n, dim) float32 of the catalog texts, rows in order, and
        every text's final token states (what the taste-trained reader pools)."""
        ...

    def train_mf(self, dataset: Dataset, config: Config, say: Progress) -> BiasedMF:
        """The interest model fitted on the dataset's ratings (catalog rows as item ids)."""
        ...


@dataclass
class LocalEngine:
    """Both stages in this process: the encoder in batches, MF with the sparse ALS."""

    encoder: ContentEncoder
    name: str = "local"

    def read(self, texts: list[str], say: Progress) -> tuple[np.ndarray, TokenStates]:
        return self.encoder.read(texts, progress=lambda d, n: say("Embedding video texts", d, n))

    def train_mf(self, dataset: Dataset, config: Config, say: Progress) -> BiasedMF:
        return train_mf(dataset, config, lambda e, n, h: say("Training interest model", e, n))


@dataclass
class Artifacts:
    """Everything built from a dataset, plus how long each stage took."""

    dataset: Dataset
    embeddings: np.ndarray  # (n_items, dim), rows aligned with dataset.catalog
    index: VideoIndex
    mf: BiasedMF
    item_item: ItemItem  # empty (0×0) above ITEM_ITEM_MAX videos: MF ranks alone there
    tokens: TokenStates  # every video's final token states, rows as the catalog
    reader: TasteReader  # trained on the MF item side: the feedback loop into the text
    folder: Path
    key: str
    timings: dict[str, float] = field(default_factory=dict)
    loaded_from_cache: bool = False


def artifact_key(dataset: Dataset, config: Config) -> str:
    """Hash of everything that changes the built files: data, model, settings, code version."""
    payload = {
        "version": ARTIFACT_VERSION,
        "data": dataset.fingerprint(),
        "model": _model_identity(config.model),
        "config": {k: str(v) for k, v in config.hash_fields().items()},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _model_identity(model: str) -> str:
    """The model name plus a digest of its config and weights' sizes when it is a folder."""
    path = Path(resolve_model(model))
    if not path.is_dir():
        return model
    parts = [model]
    for f in sorted(path.rglob("*")):
        if f.is_file() and f.suffix in {".json", ".safetensors", ".bin", ".txt"}:
            parts.append(f"{f.relative_to(path)}:{f.stat().st_size}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def load_artifacts(
    config: Config,
    encoder: ContentEncoder | None = None,
    progress: Progress | None = None,
    force: bool = False,
    engine: BuildEngine | None = None,
) -> Artifacts:
    """Load the cached artifacts for this config, building (or rebuilding) them when needed.

    ``engine`` runs embedding and MF training when a build happens (default: this process).
    """
    say = progress or (lambda stage, done, total: None)
    t0 = time.perf_counter()
    say("Loading data", 0, 1)
    dataset = load_dataset(config, progress=lambda msg: say(msg, 0, 1))
    key = artifact_key(dataset, config)
    folder = config.home / "artifacts" / key[:16]
    if not force and _is_valid(folder, key):
        arts = _read(folder, dataset, key)
        arts.timings["load_seconds"] = time.perf_counter() - t0
        return arts
    engine = engine or LocalEngine(encoder or make_encoder(config))
    arts = _build(dataset, config, engine, folder, key, say)
    arts.timings["total_seconds"] = time.perf_counter() - t0
    return arts


def make_encoder(config: Config) -> ContentEncoder:
    """The Transformer named by the config."""
    return ContentEncoder(config.model, max_tokens=config.max_tokens, batch_size=config.embed_batch)


def load_recommender(
    config: Config | None = None,
    progress: Progress | None = None,
    force: bool = False,
    text: bool = True,
) -> HybridRecommender:
    """The ready-to-use recommender for a config (default: MovieLens 100K + bundled MiniLM).

    text=False skips loading the Transformer (seconds) when nothing will read new text: no
    free-text search or added videos then. A build still loads it, since it embeds the catalog.
    """
    config = config or Config.from_env()
    encoder = make_encoder(config) if text else None
    arts = load_artifacts(config, encoder, progress, force)
    return recommender_from(arts, encoder, config)


def recommender_from(arts: Artifacts, encoder: ContentEncoder | None, config: Config):
    """Wire built artifacts into a HybridRecommender."""
    catalog = arts.dataset.catalog
    counts = rating_counts(catalog, arts.dataset.ratings)
    return HybridRecommender(
        catalog,
        arts.embeddings,
        arts.index,
        arts.mf,
        rating_counts=counts,
        config=config,
        encoder=encoder,
        item_item=arts.item_item,
        reading=arts.reader.reading(arts.mf, arts.tokens, catalog),
    )


def _build(dataset, config, engine: BuildEngine, folder: Path, key: str, say: Progress):
    timings: dict[str, float] = {}
    prefix = f".tmp-{key[:16]}-"
    tmp = folder.parent / f"{prefix}{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    remove_dead(folder.parent, prefix)  # builds killed before they could clean up
    try:
        t = time.perf_counter()
        texts = dataset.catalog["text"].tolist()
        emb, tokens = engine.read(texts, say)
        np.save(tmp / "embeddings.npy", emb, allow_pickle=False)
        tokens.save(tmp / "tokens.safetensors")
        timings["embed_seconds"] = time.perf_counter() - t

        t = time.perf_counter()
        say("Building FAISS index", 0, 1)
        index = VideoIndex.build(
            dataset.catalog["video_id"].to_numpy(np.int64),
            emb,
            exact_max=config.exact_index_max,
            hnsw_m=config.hnsw_m,
            ef_search=config.hnsw_ef_search,
        )
        index.save(tmp / "index.faiss")
        timings["index_seconds"] = time.perf_counter() - t

        t = time.perf_counter()
        mf = engine.train_mf(dataset, config, say)
        mf.save(tmp / "mf.safetensors")
        say("Solving item-to-item weights", 0, 1)
        item_item = train_item_item(dataset, config)
        item_item.save(tmp / "itemitem.safetensors")
        timings["train_seconds"] = time.perf_counter() - t

        t = time.perf_counter()
        say("Teaching the reader what viewers watch", 0, 1)
        reader = fit_reader(dataset, tokens, mf, config)
        reader.save(tmp / "reader.safetensors")
        timings["reader_seconds"] = time.perf_counter() - t

        _write_manifest(tmp, key, timings, dataset, index.kind, engine.name)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    say("Ready", 1, 1)
    return Artifacts(dataset, emb, index, mf, item_item, tokens, reader, folder, key, timings)


def rating_counts(catalog, ratings) -> np.ndarray:
    """How many ratings each catalog row has (catalog sorted by video_id)."""
    rows = np.searchsorted(catalog["video_id"].to_numpy(), ratings["video_id"])
    return np.bincount(rows, minlength=len(catalog))


def fit_reader(dataset: Dataset, tokens: TokenStates, mf: BiasedMF, config: Config):
    """The taste-trained reader, taught the item side of ``mf`` (fitted on dataset's ratings)."""
    counts = rating_counts(dataset.catalog, dataset.ratings)
    factors, bias = mf.item_factors.numpy(), mf.item_bias.numpy()
    return train_reader(tokens, dataset.catalog, factors, bias, counts, seed=config.seed)


def train_item_item(dataset: Dataset, config: Config) -> ItemItem:
    """The item-to-item model on a dataset's ratings; empty for catalogs too big for it."""
    if len(dataset.catalog) > ITEM_ITEM_MAX:
        return ItemItem(np.zeros((0, 0), np.float32), 0.0)
    ratings = dataset.ratings
    items = np.searchsorted(dataset.catalog["video_id"].to_numpy(), ratings["video_id"])
    users = np.unique(ratings["user_id"].to_numpy(), return_inverse=True)[1]
    return ItemItem.fit(users, items, len(dataset.catalog), seed=config.seed)


def train_mf(dataset: Dataset, config: Config, progress=None) -> BiasedMF:
    """Fit the interest model on a dataset's ratings (catalog rows as item ids)."""
    ratings = dataset.ratings
    items = np.searchsorted(dataset.catalog["video_id"].to_numpy(), ratings["video_id"])
    user_ids, users = np.unique(ratings["user_id"].to_numpy(), return_inverse=True)
    return BiasedMF(config.mf_params()).fit(
        users,
        items,
        ratings["rating"].to_numpy(),
        len(user_ids),
        len(dataset.catalog),
        progress=progress,
    )


def _write_manifest(
    folder: Path, key: str, timings, dataset: Dataset, index_kind: str, engine: str
) -> None:
    manifest = {
        "key": key,
        "engine": engine,
        "version": ARTIFACT_VERSION,
        "files": {name: file_hash(folder / name) for name in FILES},
        "timings": timings,
        "n_videos": len(dataset.catalog),
        "n_ratings": len(dataset.ratings),
        "index_kind": index_kind,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_manifest(folder, manifest)


def _is_valid(folder: Path, key: str) -> bool:
    """True only for a complete cache of this key whose files are byte-for-byte as written."""
    try:
        manifest = read_manifest(folder)
        if manifest.get("key") != key:
            return False
        bad = mismatched(folder, manifest["files"], FILES)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    if bad:
        log.warning("cache %s is damaged (%s); rebuilding", folder, ", ".join(bad))
    return not bad


def _read(folder: Path, dataset: Dataset, key: str) -> Artifacts:
    try:
        emb = np.load(folder / "embeddings.npy", allow_pickle=False)
        index = VideoIndex.load(folder / "index.faiss")
        mf = BiasedMF.load(folder / "mf.safetensors")
        item_item = ItemItem.load(folder / "itemitem.safetensors")
        tokens = TokenStates.load(folder / "tokens.safetensors")
        reader = TasteReader.load(folder / "reader.safetensors")
        timings = read_manifest(folder).get("timings", {})
    except (OSError, ValueError) as exc:
        raise DataError(f"cache {folder} could not be read ({exc}); run with --force") from exc
    if len(emb) != len(dataset.catalog) or mf.n_items != len(dataset.catalog):
        raise DataError(f"cache {folder} does not match the catalog; run with --force")
    if item_item.weights.shape[0] not in (0, len(dataset.catalog)):
        raise DataError(f"cache {folder} item-item weights do not match the catalog; run --force")
    if len(tokens) != len(dataset.catalog):
        raise DataError(f"cache {folder} token states do not match the catalog; run --force")
    return Artifacts(
        dataset, emb, index, mf, item_item, tokens, reader, folder, key, dict(timings),
        loaded_from_cache=True,
    )  # fmt: skip
