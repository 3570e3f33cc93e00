"""Everything the demo shares across viewers, loaded once per process and never mutated."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from vidrec.artifacts import Progress, load_artifacts, make_encoder, recommender_from
from vidrec.config import Config
from vidrec.data.schema import genre_list, user_ratings
from vidrec.errors import DataError
from vidrec.recommender import HybridRecommender, Profile
from vidrec.tags import ZeroShotTagger, load_vocabulary
from vidrec.viewer.personas import Persona, load_personas, resolve_ratings
from vidrec.viewer.projection import Projection, fit_projection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Demo:
    """Shared, read-only state: recommender, personas, the 2-D map and MovieLens users."""

    rec: HybridRecommender
    personas: list[Persona]
    persona_ratings: dict[str, dict[int, float]]  # persona id -> video_id -> stars
    projection: Projection
    coords: np.ndarray  # (n_items, 2) catalog positions on the interest map
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
    encoder = make_encoder(config)
    arts = load_artifacts(config, encoder, progress)
    rec = recommender_from(arts, encoder, config)
    personas, persona_ratings = _personas(rec.catalog)
    projection = fit_projection(arts.embeddings)
    tagger = ZeroShotTagger.from_encoder(encoder, load_vocabulary()).calibrate(arts.embeddings)
    keywords = [k.split("|") if k else [] for k in rec.catalog["tags"].fillna("")]
    tags = tagger.grounded(arts.embeddings, keywords, encoder.encode)
    mean = arts.embeddings.mean(axis=0)  # (dim,)
    return Demo(
        rec=rec,
        personas=personas,
        persona_ratings=persona_ratings,
        projection=projection,
        coords=projection.transform(arts.embeddings),
        users=arts.dataset.users,
        ratings=arts.dataset.ratings,
        genre_centroids=_genre_centroids(rec.catalog, arts.embeddings, mean),
        catalog_mean=mean,
        tagger=tagger,
        video_tags={int(v): [t for t, _ in ts] for v, ts in zip(rec.video_ids, tags)},
        load_seconds=time.perf_counter() - t0,
    )


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
