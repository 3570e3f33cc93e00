"""Everything the demo shares across viewers, loaded once per process and never mutated."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from vidrec.artifacts import Progress, load_artifacts, make_encoder, recommender_from
from vidrec.config import Config
from vidrec.data.schema import genre_list, user_ratings
from vidrec.errors import DataError
from vidrec.present.projection import Projection, fit_projection
from vidrec.recommender import HybridRecommender, Profile
from vidrec.tags import ZeroShotTagger, load_vocabulary, tag_texts
from vidrec.verified import atomic_writer
from vidrec.viewer.personas import Persona, load_personas, resolve_ratings

log = logging.getLogger(__name__)

TRAIL_STEPS = 10  # ratings the taste trail follows: enough for a path, few enough to number
REACH_QUANTILE = 99  # a viewer is drawn as far out as this percentile of item distances


@dataclass(frozen=True)
class TasteTrail:
    """The viewer's preference vector after each of their last ratings, placed on the MF map."""

    xy: np.ndarray  # (k, 2) map positions, oldest first; the last is the viewer now
    steps: list[int]  # ratings folded in at each position: 1 = after the first rating
    rows: list[int]  # catalog row of the rating each step added


@dataclass(frozen=True)
class Demo:
    """Shared, read-only state: recommender, personas, the 2-D map and MovieLens users."""

    rec: HybridRecommender
    personas: list[Persona]
    persona_ratings: dict[str, dict[int, float]]  # persona id -> video_id -> stars
    projection: Projection
    coords: np.ndarray  # (n_items, 2) catalog positions on the interest map
    collab_projection: Projection  # PCA of the MF item factors: the taste trail's map
    collab_coords: np.ndarray  # (n_items, 2) catalog positions on that map
    collab_radius: float  # how far from the items' mean a viewer's direction is drawn (d-dim)
    users: pd.DataFrame | None  # user_id, age, gender, occupation (MovieLens only)
    ratings: pd.DataFrame  # the training ratings, for loading a real user
    genre_centroids: dict[str, np.ndarray]  # genre -> (dim,) unit direction from the catalog mean
    catalog_mean: np.ndarray  # (dim,) mean embedding of the catalog
    tagger: ZeroShotTagger
    video_tags: dict[int, list[str]]  # video_id -> generated tags, best first
    load_seconds: float

    @cached_property
    def filter_options(self) -> tuple[list[str], tuple[int, int], list[str]]:
        """Genres, release-year span and tag vocabulary for the filters: once, not every rerun."""
        catalog = self.rec.catalog
        genres = sorted({g for gs in catalog["genres"] for g in genre_list(gs)})
        years = catalog["year"].dropna()
        span = (int(years.min()), int(years.max())) if len(years) else (1900, 2030)
        return genres, span, sorted({t for ts in self.video_tags.values() for t in ts})

    def user_ratings(self, user_id: int) -> dict[int, float]:
        """A real MovieLens user's ratings, to fold in like any other viewer."""
        return user_ratings(self.ratings, user_id)

    def content_map(self, rec: HybridRecommender) -> np.ndarray:
        """Content-map positions of rec's catalog, the session's added videos placed by the PCA."""
        return _extended(self.coords, self.projection, rec.embeddings)

    def collab_map(self, rec: HybridRecommender) -> np.ndarray:
        """Collaborative-map positions of rec's catalog, added videos by their mapped factors."""
        return _extended(self.collab_coords, self.collab_projection, rec.mf.float_factors())

    def taste_trail(
        self, rec: HybridRecommender, profile: Profile, steps: int = TRAIL_STEPS
    ) -> TasteTrail:
        """The preference vector re-folded after each of the last ratings: what moved it where."""
        counts = list(range(max(profile.n - steps, 0) + 1, profile.n + 1))
        prefs = [
            rec.mf.fold_in(profile.rows[:i], profile.stars[:i], profile.targets[:i]).preference
            for i in counts
        ]
        prefs = np.array(prefs, np.float64).reshape(len(counts), rec.mf.params.factors)  # (k, d)
        return TasteTrail(self.place(prefs), counts, [int(profile.rows[i - 1]) for i in counts])

    def place(self, preferences: np.ndarray) -> np.ndarray:
        """Preference vectors (k, d) as map positions (k, 2), to draw a viewer among the items."""
        # Only the direction of a preference u ranks: score = (v - centre)·u + centre·u, where the
        # last term is one constant for every item and |u| (which the ridge fold-in shrinks
        # while ratings are few) scales all scores alike. So the viewer is drawn along û from
        # the items' centre, at the one distance of the catalog's outer items: the items u ranks
        # highest reach furthest along û, so it lands beside them, not in the middle of the pack.
        norms = np.linalg.norm(preferences, axis=1, keepdims=True)  # (k, 1)
        unit = preferences / np.where(norms > 0, norms, 1.0)  # (k, d)
        centre = self.collab_projection.mean  # (d,)
        return self.collab_projection.transform(centre + self.collab_radius * unit)

    def genre_interest(self, profile: Profile, rec: HybridRecommender) -> pd.DataFrame:
        """Per genre: how many rated, their mean stars, and the profile's affinity (cosine).

        Both directions are taken from the catalog's mean embedding: raw sentence embeddings
        share one dominant direction, which would make every genre look equally liked.
        """
        rows = []
        taste = profile.content - self.catalog_mean
        taste = taste / (np.linalg.norm(taste) or 1.0)
        genres_of = rec.catalog["genres"].to_numpy()
        for genre, centroid in self.genre_centroids.items():
            mine = [
                s for r, s in zip(profile.rows, profile.stars) if genre in genre_list(genres_of[r])
            ]
            rows.append(
                {
                    "genre": genre,
                    "n_rated": len(mine),
                    "mean_stars": float(np.mean(mine)) if mine else float("nan"),
                    "affinity": float(centroid @ taste) if profile.n else 0.0,
                }
            )
        return pd.DataFrame(rows)


def load_demo(config: Config, progress: Progress | None = None) -> Demo:
    """Build or load the artifacts, then all the app shows that does not depend on a viewer."""
    t0 = time.perf_counter()
    encoder = LazyEncoder(config)  # the Transformer loads on first use: search, add, attention
    arts = load_artifacts(config, encoder, progress)
    rec = recommender_from(arts, encoder, config)
    personas, persona_ratings = _personas(rec.catalog)
    projection = fit_projection(arts.embeddings)
    factors = rec.mf.float_factors()  # (n_items, d)
    collab = fit_projection(factors)
    vocabulary = load_vocabulary()
    keywords = [k.split("|") if k else [] for k in rec.catalog["tags"].fillna("")]
    words = sorted({w for ws in keywords for w in ws})
    fixed = tag_texts(vocabulary)
    vectors = cached_vectors(config, encoder, fixed + words)  # (n_fixed + n_words, dim)
    tagger = ZeroShotTagger.from_vectors(vocabulary, vectors[: len(fixed)])
    tagger = tagger.calibrate(arts.embeddings)
    at = {w: i for i, w in enumerate(words, len(fixed))}
    tags = tagger.grounded(arts.embeddings, keywords, lambda ws: vectors[[at[w] for w in ws]])
    mean = arts.embeddings.mean(axis=0)  # (dim,)
    return Demo(
        rec=rec,
        personas=personas,
        persona_ratings=persona_ratings,
        projection=projection,
        coords=projection.transform(arts.embeddings),
        collab_projection=collab,
        collab_coords=collab.transform(factors),
        collab_radius=_reach(factors, collab.mean),
        users=arts.dataset.users,
        ratings=arts.dataset.ratings,
        genre_centroids=_genre_centroids(rec.catalog, arts.embeddings, mean),
        catalog_mean=mean,
        tagger=tagger,
        video_tags={int(v): [t for t, _ in ts] for v, ts in zip(rec.video_ids, tags)},
        load_seconds=time.perf_counter() - t0,
    )


def _reach(factors: np.ndarray, centre: np.ndarray) -> float:
    """How far out the catalog's outer items lie from their centre (a percentile: no outlier)."""
    return float(np.percentile(np.linalg.norm(factors - centre, axis=1), REACH_QUANTILE))


def _extended(coords: np.ndarray, projection: Projection, vectors: np.ndarray) -> np.ndarray:
    """coords (n, 2) for the first n vectors, plus the rest projected (a session's additions)."""
    if len(vectors) <= len(coords):
        return coords
    return np.vstack([coords, projection.transform(vectors[len(coords) :])])


def _personas(catalog: pd.DataFrame):
    """Personas whose titles all exist in this catalog (others are skipped, with a log line)."""
    kept, ratings = [], {}
    for persona in load_personas():
        try:
            ratings[persona.id] = resolve_ratings(persona, catalog)
        except DataError as exc:  # a user's own catalog need not hold MovieLens titles
            log.info("persona %s skipped: %s", persona.id, exc)
            continue
        kept.append(persona)
    return kept, ratings


def _genre_centroids(catalog: pd.DataFrame, embeddings: np.ndarray, mean: np.ndarray):
    """Per genre, the unit direction from the catalog mean to the genre's mean embedding."""
    out = {}
    lists = catalog["genres"].map(genre_list)
    for genre in sorted({g for gs in lists for g in gs}):
        mask = lists.map(lambda gs, g=genre: g in gs).to_numpy()
        centre = embeddings[mask].mean(axis=0) - mean
        out[genre] = centre / (np.linalg.norm(centre) or 1.0)
    return out


class LazyEncoder:
    """The content encoder, loaded on first use (thread-safe): a warm start reads no new text."""

    def __init__(self, config: Config):
        self._config, self._encoder, self._lock = config, None, threading.Lock()

    def __getattr__(self, name: str):
        if self._encoder is None:
            with self._lock:
                if self._encoder is None:
                    self._encoder = make_encoder(self._config)
        return getattr(self._encoder, name)


def cached_vectors(config: Config, encoder, texts: list[str]) -> np.ndarray:
    """Embeddings of fixed texts, kept under home/text-vectors keyed by model and texts."""
    digest = hashlib.sha256(
        json.dumps([config.model, config.max_tokens, texts]).encode("utf-8")
    ).hexdigest()[:16]
    path = config.home / "text-vectors" / f"{digest}.npy"
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):  # none yet, or damaged: embed again
        pass
    vectors = np.asarray(encoder.encode(texts), np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(path) as handle:
        np.save(handle, vectors)
    return vectors
