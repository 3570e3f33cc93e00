"""Load a local folder: GroupLens ml-100k, GroupLens ml-latest/ml-25m, or videos.csv+ratings.csv."""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from vidrec.data.schema import (
    GENRES,
    LINE,
    Dataset,
    build_catalog,
    build_ratings,
    clean_text,
    parse_ids,
    parse_numbers,
    parse_years,
    reject_rows,
    validate_ratings,
)
from vidrec.errors import DataError

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 500_000_000  # beyond this pandas needs several GB; refuse before trying
LAYOUTS = {  # detected in this order; ml-latest and our own format both have a ratings.csv
    "ml-100k": ("u.data", "u.item"),
    "ml-latest": ("ratings.csv", "movies.csv"),
    "own": ("videos.csv", "ratings.csv"),
}
U_ITEM_FIELDS = ["movie_id", "title", "release_date", "video_release_date", "imdb_url"]
U_ITEM_FLAGS = ["unknown", *GENRES]  # the 19 genre flag columns, in file order
_BLANK_LINE = re.compile(r"\n[ \t\r]*\n|\n[ \t\r]+\Z")


def load_folder(
    path: Path, rating_range: tuple[float, float] = (0.5, 5.0), max_bytes: int = MAX_FILE_BYTES
) -> Dataset:
    """Load whichever supported layout the folder holds, validated and normalised."""
    path = Path(path).expanduser()
    layout = detect_layout(path)
    log.info("loading %s as a %s folder", path, layout)
    loader = {"ml-100k": load_ml100k, "ml-latest": load_ml_latest, "own": load_own_format}[layout]
    return loader(path, rating_range, max_bytes)


def detect_layout(path: Path) -> str:
    """Which layout a folder holds ("ml-100k", "ml-latest" or "own"), or DataError saying why."""
    if not path.exists():
        raise DataError(f"Dataset folder {path} does not exist. Check VIDREC_DATASET.")
    if not path.is_dir():
        raise DataError(f"Dataset path {path} is a file; point VIDREC_DATASET at its folder.")
    for layout, files in LAYOUTS.items():
        if all((path / name).is_file() for name in files):
            return layout
    found = sorted(p.name for p in path.iterdir())[:10]
    expected = "; ".join(" + ".join(files) for files in LAYOUTS.values())
    raise DataError(
        f"No recognised dataset layout in {path} (found: {', '.join(found) or 'nothing'}). "
        f"Expected one of: {expected} (u.user optional for ml-100k)."
    )


def load_ml100k(
    path: Path, rating_range: tuple[float, float] = (0.5, 5.0), max_bytes: int = MAX_FILE_BYTES
) -> Dataset:
    """Parse GroupLens' ml-100k files (u.data, u.item latin-1, optional u.user)."""
    item_file = path / "u.item"
    items = _read_u(item_file, U_ITEM_FIELDS + U_ITEM_FLAGS, max_bytes)
    flags = items[U_ITEM_FLAGS].apply(lambda col: col.str.strip() == "1").to_numpy()
    raw = items.assign(
        video_id=parse_ids(items["movie_id"], items[LINE], str(item_file), "movie_id"),
        genres=["|".join(np.array(U_ITEM_FLAGS)[row]) for row in flags],
    )
    catalog = build_catalog(raw[["video_id", "title", "genres", LINE]], str(item_file))
    data_file = path / "u.data"
    names = ["user_id", "item_id", "rating", "timestamp"]
    frame = _read_u(data_file, names, max_bytes, sep="\t")
    columns = dict(zip(("user_id", "video_id", "rating", "timestamp"), names, strict=True))
    ratings = ratings_from_frame(frame, data_file, columns, catalog, item_file, rating_range)
    users = None
    if (path / "u.user").is_file():
        names = ["user_id", "age", "gender", "occupation", "zip_code"]
        users = build_users(_read_u(path / "u.user", names, max_bytes), path / "u.user")
    return Dataset(_name(path), catalog, ratings, users)


def _read_u(file: Path, names: list[str], max_bytes: int, sep: str = "|") -> pd.DataFrame:
    # GroupLens wrote the ml-100k files in latin-1 without a header or quoting.
    return read_table(
        file, sep=sep, names=names, encoding="latin-1", dtype=str, max_bytes=max_bytes
    )


def load_ml_latest(
    path: Path, rating_range: tuple[float, float] = (0.5, 5.0), max_bytes: int = MAX_FILE_BYTES
) -> Dataset:
    """Parse GroupLens' ml-latest(-small) / ml-25m CSVs (movies.csv + ratings.csv)."""
    movie_file = path / "movies.csv"
    movies = _read_csv(movie_file, ["movieId", "title", "genres"], max_bytes, dtype=str)
    ids = parse_ids(movies["movieId"], movies[LINE], str(movie_file), "movieId")
    catalog = build_catalog(movies.assign(video_id=ids), str(movie_file))
    columns = {"user_id": "userId", "video_id": "movieId", "rating": "rating"}
    ratings = _ratings_csv(
        path / "ratings.csv", columns, catalog, movie_file, rating_range, max_bytes
    )
    return Dataset(_name(path), catalog, ratings)


def load_own_format(
    path: Path, rating_range: tuple[float, float] = (0.5, 5.0), max_bytes: int = MAX_FILE_BYTES
) -> Dataset:
    """Parse the project's videos.csv + ratings.csv (UTF-8, optional columns may be absent)."""
    video_file = path / "videos.csv"
    videos = _read_csv(video_file, ["video_id", "title"], max_bytes, dtype=str)
    raw = videos.assign(
        video_id=parse_ids(videos["video_id"], videos[LINE], str(video_file), "video_id")
    )
    if "year" in videos:
        raw["year"] = parse_years(videos["year"], videos[LINE], str(video_file))
    catalog = build_catalog(raw, str(video_file))
    columns = {name: name for name in ("user_id", "video_id", "rating")}
    ratings = _ratings_csv(
        path / "ratings.csv", columns, catalog, video_file, rating_range, max_bytes
    )
    return Dataset(_name(path), catalog, ratings)


def _read_csv(file: Path, required: list[str], max_bytes: int, dtype=None) -> pd.DataFrame:
    frame = read_table(file, dtype=dtype, max_bytes=max_bytes)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        found = ", ".join(_clip(c) for c in frame.columns[:20] if c != LINE)
        raise DataError(
            f"{file} is missing the column(s) {', '.join(missing)} (found: {found}). "
            "Rename the header or add the column."
        )
    return frame


def _ratings_csv(file, columns, catalog, catalog_file, rating_range, max_bytes) -> pd.DataFrame:
    # Parsed with type inference: a clean ratings file (maybe millions of rows) never goes
    # through Python strings.
    frame = _read_csv(file, list(columns.values()), max_bytes)
    columns = {**columns, "timestamp": "timestamp"}
    return ratings_from_frame(frame, file, columns, catalog, catalog_file, rating_range)


def build_users(frame: pd.DataFrame, file: Path) -> pd.DataFrame:
    """Normalise a user table (user_id, age, gender, occupation) read with read_table."""
    lines = frame[LINE]
    return pd.DataFrame(
        {
            "user_id": parse_ids(frame["user_id"], lines, str(file), "user_id").to_numpy(),
            "age": parse_ids(frame["age"], lines, str(file), "age").to_numpy(),
            "gender": frame["gender"].map(clean_text).astype(str).to_numpy(),
            "occupation": frame["occupation"].map(clean_text).astype(str).to_numpy(),
        }
    ).sort_values("user_id", ignore_index=True)


def ratings_from_frame(
    frame: pd.DataFrame,
    file: Path,
    columns: dict[str, str],
    catalog: pd.DataFrame,
    catalog_file: Path,
    rating_range: tuple[float, float],
) -> pd.DataFrame:
    """Parse, validate and normalise a ratings table read by read_table."""
    # columns maps our names to the file's own, so error messages quote what the user sees.
    lines = frame[LINE]
    raw = pd.DataFrame({LINE: lines})
    for ours in ("user_id", "video_id"):
        raw[ours] = parse_ids(frame[columns[ours]], lines, str(file), columns[ours])
    raw["rating"] = parse_numbers(frame[columns["rating"]], lines, str(file), columns["rating"])
    raw["timestamp"] = _timestamps(frame.get(columns["timestamp"]), lines, file)
    validate_ratings(raw, catalog, str(file), rating_range, str(catalog_file))
    return build_ratings(raw, str(file))


def _timestamps(raw: pd.Series | None, lines: pd.Series, file: Path) -> pd.Series:
    # Timestamps are optional: a missing column or an empty cell means "unknown", stored as 0.
    if raw is None:
        return pd.Series(0, index=lines.index, dtype="int64")
    if pd.api.types.is_integer_dtype(raw):
        return raw.astype("int64")
    text = raw.astype(str).str.strip()
    values = pd.to_numeric(text, errors="coerce")
    good = (text == "") | ((values.abs() < 2.0**62) & (values == values.round()))
    reject_rows(
        ~good,
        lines,
        f"{file}, column 'timestamp'",
        "expected whole seconds since 1970",
        "Fix the value or leave it empty.",
        raw,
    )
    return values.fillna(0).astype("int64")


def _clip(name: object, limit: int = 40) -> str:
    """A header cell short enough to quote in a message (a pasted row can be 100 KB)."""
    text = str(name)
    return text if len(text) <= limit else text[:limit] + "…"


def _name(path: Path) -> str:
    return path.resolve().name


def read_table(
    file: Path,
    sep: str = ",",
    names: list[str] | None = None,
    encoding: str = "utf-8",
    dtype: type | None = None,
    max_bytes: int = MAX_FILE_BYTES,
    quoting: int | None = None,
) -> pd.DataFrame:
    """Read a delimited file into a frame with a _line column; any defect becomes a DataError."""
    text = _decode(_read_bytes(file, max_bytes), file, encoding)
    if quoting is None:  # headerless GroupLens files never quote; CSVs follow RFC 4180
        quoting = csv.QUOTE_NONE if names else csv.QUOTE_MINIMAL
    try:
        with warnings.catch_warnings():
            # pandas only warns (and drops cells) when the first row is longer than the header.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.StringIO(text),
                sep=sep,
                header=None if names else 0,
                names=names,
                dtype=dtype,
                keep_default_na=False,
                skip_blank_lines=False,
                quoting=quoting,
                index_col=False,
            )
    except pd.errors.ParserWarning:
        fix = (
            f"{file}, line 1: more than {len(names)} {sep!r}-separated fields. This file has "
            f"no header, so every line needs exactly {len(names)}; remove the extra fields."
            if names  # headerless GroupLens files: the field count is fixed
            else f"{file}, line 2: more fields than the header names. Add the missing column "
            "names to line 1 or remove the extra fields."
        )
        raise DataError(fix) from None
    except (pd.errors.ParserError, csv.Error, ValueError) as err:
        raise DataError(
            f"{file} is malformed: {' '.join(str(err).split())}. Every row needs the same "
            f"number of {sep!r}-separated fields as the first; quote fields that contain {sep!r}."
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    frame[LINE] = _line_numbers(text, sep, quoting, len(frame), first=1 if names else 2)
    if _BLANK_LINE.search(text):
        frame = frame[~_blank_rows(frame)]
    if frame.empty:
        raise DataError(f"{file} has no data rows. Add at least one row below the header.")
    return frame.reset_index(drop=True)


def _read_bytes(file: Path, max_bytes: int) -> bytes:
    size = file.stat().st_size
    if size > max_bytes:
        raise DataError(
            f"{file} is {size / 1e6:,.0f} MB, over the {max_bytes / 1e6:,.0f} MB limit. "
            "Use a smaller sample of the data or raise the limit (max_bytes)."
        )
    data = file.read_bytes()
    if not data.strip():
        raise DataError(f"{file} is empty. Put the header and the data rows in it.")
    return data


def _decode(data: bytes, file: Path, encoding: str) -> str:
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[bom:].decode(encoding)
    except UnicodeDecodeError as err:
        offset = bom + err.start
        line = data.count(b"\n", 0, offset) + 1
        raise DataError(
            f"{file} is not valid {encoding}: byte offset {offset} (line {line}) is "
            f"{data[offset : offset + 1]!r}. Re-save the file as UTF-8."
        ) from None


def _line_numbers(text: str, sep: str, quoting: int, rows: int, first: int) -> np.ndarray:
    # Without quoted fields every record is one physical line; otherwise let csv count them.
    simple = np.arange(first, first + rows, dtype="int64")
    if quoting == csv.QUOTE_NONE or '"' not in text:
        return simple
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    starts, previous = [], 0
    try:
        for _ in reader:
            starts.append(previous + 1)
            previous = reader.line_num
    except csv.Error:  # pandas accepted what csv rejects: approximate rather than fail
        return simple
    starts = starts[first - 1 :]  # drop the header record
    if len(starts) != rows:
        log.debug("csv and pandas disagree on the record count of a file; lines approximate")
        return simple
    return np.asarray(starts, dtype="int64")


def _blank_rows(frame: pd.DataFrame) -> pd.Series:
    cells = frame.drop(columns=LINE).astype(str)
    return cells.apply(lambda col: col.str.strip().isin(["", "nan"])).all(axis=1)
