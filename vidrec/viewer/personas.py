"""Ready-made viewers: a few seed ratings that give the demo an obvious taste in one click."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vidrec.config import ASSETS
from vidrec.data.schema import parse_stars
from vidrec.errors import DataError

PERSONAS_FILE = ASSETS / "personas.json"
MIN_RATINGS, MAX_RATINGS = 5, 10
STAR_RANGE = (1.0, 5.0)
_TEXT_FIELDS = ("id", "name", "icon", "bio")
_CLOSE_MATCHES = 3  # suggestions offered per unknown title


@dataclass(frozen=True)
class Persona:
    """A named viewer with a handful of seed ratings (catalog title -> stars)."""

    id: str
    name: str
    icon: str
    bio: str
    ratings: dict[str, float]


def load_personas(path: Path = PERSONAS_FILE) -> list[Persona]:
    """Read and validate the personas file, so a typo fails loudly rather than in the UI."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"Could not read personas from {path}: {err}") from None
    if not isinstance(raw, list) or not raw:
        raise DataError(f"{path} must hold a non-empty JSON list of personas")
    personas = [_parse_persona(entry, index, path) for index, entry in enumerate(raw)]
    _reject_duplicate_ids(personas, path)
    return personas


def _parse_persona(entry: object, index: int, path: Path) -> Persona:
    if not isinstance(entry, dict):
        raise DataError(f"{path}: persona #{index + 1} must be a JSON object")
    label = f"persona #{index + 1}"
    if isinstance(entry.get("id"), str) and entry["id"].strip():
        label = f"persona {entry['id']!r}"
    texts = {}
    for field in _TEXT_FIELDS:
        value = entry.get(field)
        if not isinstance(value, str) or not value.strip():
            raise DataError(f"{path}: {label} needs a non-empty text field {field!r}")
        texts[field] = value.strip()
    ratings = _parse_ratings(entry.get("ratings"), f"{path}: {label}")
    return Persona(ratings=ratings, **texts)


def _parse_ratings(raw: object, where: str) -> dict[str, float]:
    if not isinstance(raw, dict):
        raise DataError(f"{where}: field 'ratings' must be an object of title -> stars")
    if not MIN_RATINGS <= len(raw) <= MAX_RATINGS:
        raise DataError(
            f"{where}: field 'ratings' has {len(raw)} entries; give between "
            f"{MIN_RATINGS} and {MAX_RATINGS} so the taste is clear but quick to load"
        )
    low, high = STAR_RANGE
    ratings = {}
    for title, stars in raw.items():
        value = parse_stars(stars, low=low)
        if value is None:
            raise DataError(
                f"{where}: field 'ratings' gives {title!r} {stars!r} stars; "
                f"use a number from {low:g} to {high:g}"
            )
        ratings[title] = value
    return ratings


def _reject_duplicate_ids(personas: list[Persona], path: Path) -> None:
    seen: set[str] = set()
    for persona in personas:
        if persona.id in seen:
            raise DataError(f"{path}: persona {persona.id!r} appears twice; field 'id' is unique")
        seen.add(persona.id)


def resolve_ratings(persona: Persona, catalog: pd.DataFrame) -> dict[int, float]:
    """Map the persona's titles to catalog video ids (exact match), so they can seed a profile."""
    missing_columns = {"video_id", "title"} - set(catalog.columns)
    if missing_columns:
        raise DataError(f"The catalog lacks column(s) {sorted(missing_columns)}")
    # Some catalogs list one title twice; the lowest id keeps the choice stable across runs.
    by_title = catalog.sort_values("video_id").drop_duplicates("title")
    ids = dict(zip(by_title["title"], by_title["video_id"], strict=True))
    unknown = [title for title in persona.ratings if title not in ids]
    if unknown:
        raise DataError(_unknown_titles_message(persona, unknown, list(ids)))
    return {int(ids[title]): stars for title, stars in persona.ratings.items()}


def _unknown_titles_message(persona: Persona, unknown: list[str], known: list[str]) -> str:
    parts = []
    for title in unknown:
        close = difflib.get_close_matches(title, known, n=_CLOSE_MATCHES, cutoff=0.6)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        parts.append(f"{title!r}{hint}")
    return (
        f"Persona {persona.id!r} rates {len(unknown)} title(s) not in the catalog: "
        f"{'; '.join(parts)}. Titles must match the catalog exactly."
    )
