"""The normalised dataset every loader produces, plus the checks that guard it."""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vidrec.errors import DataError

log = logging.getLogger(__name__)

GENRES = (
    "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
    "War", "Western",
)  # fmt: skip
CATALOG_COLUMNS = ("video_id", "title", "year", "genres", "description", "tags", "text")
RATING_COLUMNS = ("user_id", "video_id", "rating", "timestamp")
MAX_TITLE = 300  # characters, for catalog files and for videos a viewer adds alike
MAX_DESCRIPTION = 5_000
MIN_STARS, MAX_STARS = 0.5, 5.0  # the rating scale every rating is checked against
ADDED_ID_START = 10_000_000  # ids for viewer-added videos, far above any catalog id here
YEAR_RANGE = (1800, 2100)
LINE = "_line"  # helper column: the file line a raw row came from, dropped after validation


# Placeholders GroupLens uses for "no genre"; newer files spell one genre differently.
_NO_GENRE = {"unknown", "(no genres listed)", ""}
_GENRE_ALIASES = {"Children": "Children's"}
# Control characters, line separators and lone surrogates (not encodable, so never storable).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_YEAR_IN_TITLE = re.compile(r"\((\d{4})\)")
_SHOW_AT_MOST = 5  # offending rows quoted in an error message


@dataclass(frozen=True, eq=False)
class Dataset:
    """A catalog of videos and who rated what, in the one shape the rest of vidrec reads."""

    name: str
    catalog: pd.DataFrame
    ratings: pd.DataFrame
    users: pd.DataFrame | None = None

    def fingerprint(self) -> str:
        """SHA-256 over catalog and ratings content; stable across processes, so it keys caches."""
        digest = hashlib.sha256()
        for label, frame in (("catalog", self.catalog), ("ratings", self.ratings)):
            digest.update(f"{label}:{len(frame)}\n".encode())
            for column in frame.columns:
                # hash_pandas_object uses a fixed key, so the bytes do not depend on the process.
                hashes = pd.util.hash_pandas_object(frame[column], index=False).to_numpy()
                digest.update(f"{column}:{frame[column].dtype}\n".encode())
                digest.update(hashes.astype("<u8").tobytes())
        return digest.hexdigest()


def user_ratings(ratings: pd.DataFrame, user_id: int) -> dict[int, float]:
    """One user's ratings as {video_id: stars}, to fold in like any other viewer's."""
    mine = ratings[ratings["user_id"] == int(user_id)]
    if mine.empty:
        raise DataError(
            f"there is no user {user_id} in this dataset "
            f"(ids run {ratings['user_id'].min()}-{ratings['user_id'].max()})"
        )
    return dict(zip(mine["video_id"].astype(int), mine["rating"].astype(float)))


def clean_text(value: object) -> str:
    """A cell as plain one-line text: control characters become spaces, ends are trimmed."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return _CONTROL.sub(" ", str(value)).strip()


def genre_list(genres: str) -> list[str]:
    """The genre names in a "|"-joined genres cell (empty list for "")."""
    return [g for g in genres.split("|") if g]


def join_genres(names: Iterable[str]) -> str:
    """Normalise genre names (old GroupLens spelling, placeholders dropped) and join with "|"."""
    kept: list[str] = []
    for raw in names:
        name = clean_text(raw)
        name = _GENRE_ALIASES.get(name, name)
        if name not in _NO_GENRE and name not in kept:
            kept.append(name)
    return "|".join(kept)


def join_tags(tags: str) -> str:
    """Clean a "|"-separated tag cell: trimmed, empties and repeats dropped."""
    kept: list[str] = []
    for tag in tags.split("|"):
        tag = " ".join(clean_text(tag).split())
        if tag and tag not in kept:
            kept.append(tag)
    return "|".join(kept)


def year_from_title(title: str) -> int | None:
    """The last "(YYYY)" in a GroupLens title, if it is a plausible release year."""
    found = _YEAR_IN_TITLE.findall(title)
    if found and YEAR_RANGE[0] <= int(found[-1]) <= YEAR_RANGE[1]:
        return int(found[-1])
    return None


def video_text(title: str, genres: str, description: str, tags: str) -> str:
    """The one string the text encoder reads for a video; empty parts are left out."""
    parts = [_sentence(title)]
    if genre_list(genres):
        parts.append(_sentence("Genres: " + ", ".join(genre_list(genres))))
    parts.append(_sentence(description))
    if tags:
        parts.append(_sentence("Keywords: " + ", ".join(genre_list(tags))))
    return " ".join(p for p in parts if p)


def _sentence(part: str) -> str:
    # Full stops between parts help the encoder see where the title ends and the genres begin.
    part = " ".join(clean_text(part).split())
    if part and part[-1] not in ".!?":
        part += "."
    return part


def describe_rows(lines: pd.Series, values: pd.Series | None = None) -> str:
    """Name the first few offending rows ("line 4 ('abc'), line 9 ('')") for an error message."""
    shown = []
    for position in range(min(len(lines), _SHOW_AT_MOST)):
        text = f"line {int(lines.iloc[position])}"
        if values is not None:
            text += f" ({str(values.iloc[position])[:40]!r})"
        shown.append(text)
    more = f" and {len(lines) - _SHOW_AT_MOST:,} more" if len(lines) > _SHOW_AT_MOST else ""
    return ", ".join(shown) + more


def reject_rows(bad, lines: pd.Series, where: str, problem: str, fix: str, values=None) -> None:
    """Raise DataError naming the place (file, column), the problem and the first bad lines."""
    bad = np.asarray(bad, dtype=bool)
    if bad.any():
        shown = describe_rows(lines[bad], None if values is None else values[bad])
        raise DataError(f"{where}: {problem} on {shown}. {fix}")


def parse_numbers(raw: pd.Series, lines: pd.Series, file: str, column: str) -> pd.Series:
    """A column as float64; non-numbers, NaN and infinities raise DataError naming the lines."""
    numeric = pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw)
    values = raw if numeric else pd.to_numeric(raw.astype(str).str.strip(), errors="coerce")
    values = values.astype("float64")
    reject_rows(
        ~np.isfinite(values.to_numpy()),
        lines,
        f"{file}, column '{column}'",
        "not a finite number",
        "Fix or remove those rows.",
        raw,
    )
    return values


def parse_ids(raw: pd.Series, lines: pd.Series, file: str, column: str) -> pd.Series:
    """A column of positive integer ids as int64, or DataError naming the bad lines."""
    if pd.api.types.is_integer_dtype(raw):
        values = raw.astype("float64") if raw.dtype == "uint64" else raw
    else:
        values = pd.to_numeric(raw.astype(str).str.strip(), errors="coerce")
    numbers = values.to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        good = (numbers > 0) & (numbers < 2.0**63) & (numbers == np.floor(numbers))
    reject_rows(
        ~good,
        lines,
        f"{file}, column '{column}'",
        "expected a positive integer",
        "Fix or remove those rows.",
        raw,
    )
    return values.astype("int64")


def parse_years(raw: pd.Series, lines: pd.Series, file: str) -> pd.Series:
    """An optional year column as Int64 (empty cells are <NA>); years must be in 1800..2100."""
    text = raw.fillna("").astype(str).str.strip()
    values = pd.to_numeric(text, errors="coerce")
    low, high = YEAR_RANGE
    good = (text == "") | ((values >= low) & (values <= high) & (values == values.round()))
    reject_rows(
        ~good,
        lines,
        f"{file}, column 'year'",
        f"expected a year in {low}..{high}",
        "Fix the year or leave the cell empty.",
        raw,
    )
    return values.astype("Int64")


def build_catalog(raw: pd.DataFrame, file: str) -> pd.DataFrame:
    """Validate a raw catalog (int64 video_id, text columns, _line) and normalise it."""
    lines = raw[LINE]
    title = _checked_text(raw["title"], lines, file, "title", MAX_TITLE, required=True)
    description = _checked_text(
        _column(raw, "description"), lines, file, "description", MAX_DESCRIPTION
    )
    _reject_duplicate_ids(raw["video_id"], lines, file)
    given = raw["year"] if "year" in raw else pd.Series(pd.NA, index=raw.index, dtype="Int64")
    title, year = _titles_with_years(title, given)
    catalog = pd.DataFrame(
        {
            "video_id": raw["video_id"].astype("int64").to_numpy(),
            "title": title,
            "year": pd.array(year, dtype="Int64"),
            "genres": [join_genres(str(g).split("|")) for g in _column(raw, "genres")],
            "description": description.to_numpy(),
            "tags": [join_tags(str(t)) for t in _column(raw, "tags")],
        }
    )
    catalog["text"] = [
        video_text(*row)
        for row in catalog[["title", "genres", "description", "tags"]].itertuples(index=False)
    ]
    catalog = catalog.sort_values("video_id", kind="stable").reset_index(drop=True)
    for column in ("title", "genres", "description", "tags", "text"):
        catalog[column] = catalog[column].astype(str)
    return catalog[list(CATALOG_COLUMNS)]


def _column(raw: pd.DataFrame, name: str) -> pd.Series:
    return raw[name].fillna("") if name in raw else pd.Series("", index=raw.index)


def _titles_with_years(titles: pd.Series, given: pd.Series) -> tuple[list[str], list]:
    # GroupLens titles carry the year; a catalog that lists it separately gets it appended, so
    # titles look the same whichever layout they came from.
    out_titles, out_years = [], []
    for title, year in zip(titles, given, strict=True):
        in_title = year_from_title(title)
        if pd.isna(year):
            year = in_title
        elif in_title is None:
            title = f"{title} ({year})"
        out_titles.append(title)
        out_years.append(pd.NA if year is None else int(year))
    return out_titles, out_years


def _checked_text(
    raw: pd.Series, lines: pd.Series, file: str, column: str, limit: int, required: bool = False
) -> pd.Series:
    text = raw.fillna("").astype(str).str.replace(_CONTROL, " ", regex=True).str.strip()
    where = f"{file}, column '{column}'"
    if required:
        reject_rows(text == "", lines, where, "empty", f"Every video needs a {column}.")
    reject_rows(
        text.str.len() > limit, lines, where, f"longer than {limit:,} characters", "Shorten it."
    )
    return text


def _reject_duplicate_ids(ids: pd.Series, lines: pd.Series, file: str) -> None:
    repeated = ids.duplicated(keep=False)
    if repeated.any():
        first = ids[repeated].iloc[0]
        where = " and ".join(f"line {int(n)}" for n in lines[ids == first].iloc[:2])
        raise DataError(
            f"{file}, column 'video_id': video_id {first} appears more than once ({where}). "
            "Each video must be listed once; merge or renumber the rows."
        )


def validate_ratings(
    raw: pd.DataFrame,
    catalog: pd.DataFrame,
    file: str,
    rating_range: tuple[float, float] = (0.5, 5.0),
    catalog_file: str = "the catalog",
) -> None:
    """Check parsed ratings (with _line) point at catalog videos and sit on the rating scale."""
    lines = raw[LINE] if LINE in raw else pd.Series(np.arange(2, len(raw) + 2), index=raw.index)
    rating, low, high = raw["rating"].to_numpy(dtype="float64"), *rating_range
    where = f"{file}, column 'rating'"
    reject_rows(~np.isfinite(rating), lines, where, "not a finite number", "Fix those rows.")
    reject_rows(
        (rating < low) | (rating > high),
        lines,
        where,
        f"outside the scale {low:g}..{high:g}",
        "Rescale the ratings or pass a different rating_range.",
        raw["rating"],
    )
    unknown = ~raw["video_id"].isin(catalog["video_id"]).to_numpy()
    n = int(unknown.sum())
    reject_rows(
        unknown,
        lines,
        f"{file}, column 'video_id'",
        f"{n:,} {'rating refers' if n == 1 else 'ratings refer'} to videos missing from "
        f"{catalog_file}",
        "Add those videos to the catalog or remove the ratings.",
        raw["video_id"],
    )


def build_ratings(raw: pd.DataFrame, file: str) -> pd.DataFrame:
    """Normalise validated ratings: exact dtypes, one row per (user, video), sorted."""
    ratings = pd.DataFrame(
        {
            "user_id": raw["user_id"].astype("int64").to_numpy(),
            "video_id": raw["video_id"].astype("int64").to_numpy(),
            "rating": raw["rating"].astype("float32").to_numpy(),
            "timestamp": raw["timestamp"].astype("int64").to_numpy(),
        }
    )
    # A re-rating replaces the earlier one; a stable sort keeps file order among equal times.
    ratings = ratings.sort_values("timestamp", kind="stable")
    deduped = ratings.drop_duplicates(["user_id", "video_id"], keep="last")
    if len(deduped) < len(ratings):
        log.warning(
            "%s: %d repeated (user, video) ratings; kept the latest of each",
            file,
            len(ratings) - len(deduped),
        )
    return deduped.sort_values(["user_id", "video_id"]).reset_index(drop=True)[list(RATING_COLUMNS)]


def parse_stars(value: object, *, text: bool = False, low: float = MIN_STARS) -> float | None:
    """Stars as a float when ``value`` is a finite number from ``low`` to 5, else None.

    The one star check every way in shares (engine, saved viewers, files, command line,
    personas). Booleans are never stars (True is an int in Python and a typo in JSON);
    ``text`` also reads numbers written as text ("4.5"), as files and the command line give.
    """
    if isinstance(value, bool):
        return None
    if not text and not isinstance(value, int | float | np.integer | np.floating):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]  # any other type is refused below
    except (TypeError, ValueError, OverflowError):  # 10**400 overflows
        return None
    return number if math.isfinite(number) and low <= number <= MAX_STARS else None
