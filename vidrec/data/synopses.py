"""Team-written synopses and keywords for MovieLens films: the text the Transformer reads.

MovieLens 100K gives a film only a title, a year and genres. assets/synopses.json adds a one-
or two-sentence synopsis and a few keywords for the films with enough ratings to matter.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import pandas as pd

from vidrec.config import ASSETS
from vidrec.data.schema import Dataset, video_text
from vidrec.errors import DataError

log = logging.getLogger(__name__)
SYNOPSES_FILE = ASSETS / "synopses.json"
WORDS = (20, 45)
KEYWORDS = (3, 8)


def load_synopses(path: Path = SYNOPSES_FILE) -> pd.DataFrame:
    """video_id, title, synopsis, keywords (list) for every entry, validated."""
    try:
        films = json.loads(Path(path).read_text(encoding="utf-8"))["films"]
        frame = pd.DataFrame(films, columns=["video_id", "title", "synopsis", "keywords"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"cannot read synopses from {path}: {exc}") from exc
    problems = [_problem(row) for row in frame.itertuples(index=False)]
    problems = [p for p in problems if p]
    if frame["video_id"].duplicated().any() or frame["synopsis"].duplicated().any():
        problems.append("duplicate video ids or synopses")
    if problems:
        raise DataError(f"{path}: " + "; ".join(problems[:5]))
    return frame


def _problem(row) -> str:
    words = len(str(row.synopsis).split())
    if not isinstance(row.video_id, int) or not str(row.title).strip():
        return f"entry {row.video_id!r} needs an integer video_id and a title"
    if not WORDS[0] <= words <= WORDS[1]:
        return f"{row.title}: synopsis has {words} words (allowed {WORDS[0]}–{WORDS[1]})"
    if not isinstance(row.keywords, list) or not KEYWORDS[0] <= len(row.keywords) <= KEYWORDS[1]:
        return f"{row.title}: needs {KEYWORDS[0]}–{KEYWORDS[1]} keywords"
    return ""


def with_synopses(dataset: Dataset, synopses: pd.DataFrame) -> Dataset:
    """The dataset with synopses as descriptions and keywords as tags, where id and title match.

    Entries whose title differs from the catalog's are skipped with a warning, so a synopsis
    never lands on the wrong film.
    """
    catalog = dataset.catalog.copy()
    by_id = catalog.set_index("video_id")["title"]
    matched = synopses[synopses["video_id"].map(by_id) == synopses["title"]]
    if len(matched) < len(synopses):
        log.warning("%d synopses do not match the catalog; skipped", len(synopses) - len(matched))
    rows = catalog["video_id"].isin(matched["video_id"]).to_numpy()
    entry = matched.set_index("video_id").loc[catalog.loc[rows, "video_id"]]
    catalog.loc[rows, "description"] = entry["synopsis"].to_numpy()
    catalog.loc[rows, "tags"] = ["|".join(k) for k in entry["keywords"]]
    catalog["text"] = [
        video_text(t, g, d, k)
        for t, g, d, k in zip(
            catalog["title"], catalog["genres"], catalog["description"], catalog["tags"]
        )
    ]
    return replace(dataset, catalog=catalog)
