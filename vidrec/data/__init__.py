"""Datasets: MovieLens 100K or a local folder, normalised into one validated Dataset."""

from __future__ import annotations

import logging
from pathlib import Path

from vidrec.config import Config
from vidrec.data.folder import load_folder
from vidrec.data.movielens import Progress, load_movielens_100k
from vidrec.data.schema import Dataset, genre_list, video_text
from vidrec.data.synopses import SYNOPSES_FILE, load_synopses, with_synopses
from vidrec.errors import DataError

log = logging.getLogger(__name__)

__all__ = [
    "Dataset",
    "genre_list",
    "load_dataset",
    "load_folder",
    "load_movielens_100k",
    "video_text",
]


def load_dataset(config: Config, progress: Progress | None = None) -> Dataset:
    """The dataset config.dataset names: "ml-100k" (downloaded and cached) or a local folder."""
    if config.dataset == "ml-100k":
        dataset = load_movielens_100k(config.home, progress)
        if config.synopses and SYNOPSES_FILE.exists():
            dataset = with_synopses(dataset, load_synopses())
        return dataset
    folder = Path(config.dataset).expanduser()
    if folder.is_dir():
        if progress is not None:
            progress(f"Loading {folder}…")
        return load_folder(folder)
    raise DataError(
        f"Dataset {config.dataset!r} is neither 'ml-100k' nor an existing folder. Set "
        "VIDREC_DATASET to 'ml-100k' or to a folder holding u.data + u.item (GroupLens ml-100k), "
        "ratings.csv + movies.csv (GroupLens ml-latest) or videos.csv + ratings.csv."
    )
