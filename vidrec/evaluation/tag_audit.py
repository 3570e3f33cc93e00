"""The displayed-tag audit: are the tags on the cards right about the film?

``audit_sample`` draws AUDIT_FILMS films at random (AUDIT_SEED) from the whole catalog and lists
every tag a card shows for them, one row per (film, tag), or one row with no tag for a film that
shows none. A person (or reviewer) fills ``correct`` (yes / no) from what the film is, and the
table is committed as results/tag_audit.csv; ``summary`` turns it into precision and coverage.
A test regenerates the sample and fails if the cards no longer show what was judged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from vidrec.config import RESULTS

AUDIT_FILE = RESULTS / "tag_audit.csv"
AUDIT_FILMS = 100
AUDIT_SEED = 2026
COLUMNS = ["video_id", "title", "genres", "synopsis", "keywords", "tag", "correct", "note"]


def audit_sample(catalog: pd.DataFrame, video_tags: dict[int, list[str]]) -> pd.DataFrame:
    """The films to judge and the tags their cards show (``correct`` and ``note`` left blank)."""
    rng = np.random.default_rng(AUDIT_SEED)
    films = catalog.iloc[np.sort(rng.choice(len(catalog), AUDIT_FILMS, replace=False))]
    rows = []
    for film in films.itertuples(index=False):
        base = {"video_id": int(film.video_id), "title": film.title, "genres": film.genres,
                "synopsis": film.description, "keywords": film.tags}  # fmt: skip
        for tag in video_tags.get(int(film.video_id)) or [""]:
            rows.append({**base, "tag": tag, "correct": "", "note": ""})
    return pd.DataFrame(rows, columns=COLUMNS)


def load_audit(path: Path = AUDIT_FILE) -> pd.DataFrame:
    """The committed, judged audit table."""
    return pd.read_csv(path, dtype={"tag": str, "correct": str, "note": str}, keep_default_na=False)


def summary(audit: pd.DataFrame) -> dict:
    """Precision of shown tags, overall and with/without a synopsis, and tag coverage."""
    shown = audit[audit["tag"] != ""]
    right = shown["correct"].str.lower().eq("yes")
    with_text = shown["synopsis"] != ""
    per_film = audit.groupby("video_id").agg(
        tags=("tag", lambda t: int((t != "").sum())), text=("synopsis", lambda s: s.iloc[0] != "")
    )
    described = per_film[per_film["text"]]
    return {
        "films": len(per_film),
        "tags_shown": len(shown),
        "precision": float(right.mean()) if len(shown) else float("nan"),
        "precision_with_synopsis": float(right[with_text].mean()) if with_text.any() else None,
        "tags_without_synopsis": int((~with_text).sum()),
        "films_with_synopsis": len(described),
        "share_with_two_or_more": float((described["tags"] >= 2).mean()) if len(described) else 0,
    }
