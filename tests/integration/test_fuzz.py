"""Property-based fuzzing of every user-facing input path, each call held to an oracle.

The contract: for any input a function returns a valid result or raises a ``VidrecError``
subclass whose message a person can read; no other exception type escapes. On top of it, every
fuzz test carries an oracle written here that decides from the generated input alone whether the
call must be refused (which error class, what the message says) or accepted (and what comes
back). File loaders, where a full oracle would be a second parser, get inputs classified by
construction instead: known-valid folders, folders with exactly one known defect, and random
noise, where only the contract holds. Each test feeds a valid-by-construction strategy and an
anything-goes one (``fuzz``) and counts the verdicts (``Tally``): at least a quarter of the calls
must be valid inputs, so a function that refuses everything fails. Every test is derandomised,
so CI sees the same cases on every run.
"""

from __future__ import annotations

import codecs
import copy
import csv
import io
import json
import math
import os
import pwd
import re
import tempfile
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_VIDEOS
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st

from vidrec.artifacts import load_recommender
from vidrec.coldstart import new_video, with_videos
from vidrec.config import Config
from vidrec.data.folder import load_folder
from vidrec.data.schema import (
    CATALOG_COLUMNS,
    GENRES,
    MAX_TITLE,
    RATING_COLUMNS,
    clean_text,
    join_genres,
    join_tags,
    video_text,
)
from vidrec.errors import ConfigError, DataError, UnknownVideoError, VidrecError
from vidrec.viewer.ratings_file import export_csv, export_json, parse_import
from vidrec.viewer.session import ViewerSession
from vidrec.viewer.store import SavedVideo, SavedViewer, ViewerStore, new_viewer_id

FUZZ = settings(
    derandomize=True,  # the same cases on every run and every machine
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)
SCALE = int(os.environ.get("VIDREC_FUZZ_SCALE", "1"))  # e.g. 20 for a deeper local run
TYPED = (DataError, ConfigError, UnknownVideoError)
MAX_MESSAGE = 3_000  # an error quoting a 100 KB input back in full is not readable
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
HUGE = 100_000  # characters: "100 KB strings"


def encodable(text: str) -> bool:
    """Whether text has no lone surrogates, so UTF-8 can encode it."""
    return not any("\ud800" <= ch <= "\udfff" for ch in text)


# ---- strategies ----------------------------------------------------------------------------
PRINTABLE = st.text(max_size=40)  # any code point UTF-8 can encode: controls, RTL, emoji, NUL
SURROGATES = st.text(st.one_of(st.characters(), st.characters(categories=["Cs"])), max_size=40)
ANY_TEXT = st.one_of(PRINTABLE, SURROGATES)  # lone surrogates too: not encodable at all
TRICKY = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\t\r\n",
        "a\rb",  # a lone carriage return inside a cell
        "\u202e\u05e9\u05dc\u05d5\u05dd",  # RTL override + Hebrew
        "\u0645\u0631\u062d\u0628\u0627",  # Arabic
        "\U0001f3ac\U0001f916\u200d\U0001f680",  # emoji with a zero-width joiner
        "e\u0301\u0301\u0301",  # stacked combining marks
        "\ufeff",  # BOM inside a cell
        "\u2028\u2029",
        "\ud800",  # lone surrogate
        "=cmd|' /C calc'!A0",
        "'; DROP TABLE viewers; --",
        "NaN",
        "nan",
        "inf",
        "-Infinity",
        "1e400",
        "None",
        "null",
        "NA",
        "True",
        "0x1F",
        "1_000",
        "\u0663",  # Arabic-Indic digit three
        "\uff11\uff12",  # full-width 12
        "9" * 40,
    ]
)
TEXT = st.one_of(ANY_TEXT, TRICKY)
NUMBER_TEXT = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats().map(repr),
    st.sampled_from(["0", "0.5", "1", "2.5", "3", "4.5", "5", "5.5", "-1", "1.0", " 3 ", "3,5"]),
)
TRICKY_UTF8 = TRICKY.filter(encodable)
CELL = st.one_of(NUMBER_TEXT, PRINTABLE, TRICKY_UTF8)
SMALL_ID = st.integers(1, 6).map(str)


def readable(err: VidrecError) -> str:
    """The message of a typed error, checked to be something a person can read."""
    assert isinstance(err, TYPED), f"untyped {type(err).__name__}: {err}"
    message = str(err)
    assert message.strip(), f"{type(err).__name__} with an empty message"
    size = len(message)
    assert size <= MAX_MESSAGE, f"{size:,}-character message: {message[:200]}…"
    return message


# ---- oracles: what a call must do with an input ----------------------------------------------
@dataclass(frozen=True)
class Refusal:
    """An oracle's verdict that a call must fail: this exact error class, its message matching
    ``says`` (a regular expression, searched with re.S)."""

    error: type[VidrecError]
    says: str


NOISE = "noise"  # a loader input classified neither way: only the contract holds
MIN_VALID, MIN_INVALID = 0.25, 0.10  # least shares of a run's calls, see Tally


def says(*phrases: str) -> str:
    """A regular expression matching a message that contains every phrase, in any order."""
    return "^" + "".join(f"(?=.*{re.escape(p)})" for p in phrases)


def settle(verdict, fn, *args, **kwargs):
    """fn(*args, **kwargs) held to an oracle's verdict; its result, or None after a refusal.

    ``None``: the call must succeed. A ``Refusal``: it must raise exactly that class, saying so.
    ``NOISE``: it must only keep the contract (a result, or a readable typed error).
    """
    try:
        result = fn(*args, **kwargs)
    except VidrecError as err:
        message = readable(err)
        assert verdict is not None, f"refused a valid input: {type(err).__name__}: {message[:300]}"
        if verdict is not NOISE:
            assert type(err) is verdict.error, (
                f"{type(err).__name__} ({message[:300]}), expected {verdict.error.__name__}"
            )
            assert re.search(verdict.says, message, re.S), f"{message[:300]!r} !~ {verdict.says!r}"
        return None
    assert verdict is None or verdict is NOISE, f"accepted: {repr(result)[:200]}; wanted {verdict}"
    return result


class Tally:
    """The verdicts of one test's runs. Valid inputs must be common enough that a function
    refusing every input fails the test, invalid ones common enough that refusals stay fuzzed."""

    def __init__(self):
        self.counts: Counter[str] = Counter()

    def settle(self, verdict, fn, *args, **kwargs):
        """settle(), counted."""
        self.counts["valid" if verdict is None else NOISE if verdict is NOISE else "invalid"] += 1
        return settle(verdict, fn, *args, **kwargs)

    def check(self, **least: float) -> None:
        """Each kind of verdict (default: valid, invalid) made at least its share of the calls."""
        total = self.counts.total()
        for kind, share in (least or {"valid": MIN_VALID, "invalid": MIN_INVALID}).items():
            got = self.counts[kind] / max(total, 1)
            assert got >= share, f"{got:.0%} {kind} calls, {share:.0%} needed: {dict(self.counts)}"


def fuzz(examples: int, check, *parts: tuple[int, st.SearchStrategy], **least: float) -> None:
    """check(tally, value) on ``examples`` generated values shared among weighted parts (say a
    valid-by-construction strategy and an anything-goes one), then the tally's shares.

    Each part is a run of its own: within one run hypothesis mutates earlier examples, so the
    share of a branch there swings from seed to seed (4 of 50 or 22 of 50 for the same weight).
    """
    tally, total = Tally(), sum(weight for weight, _ in parts)
    for weight, strategy in parts:

        @settings(FUZZ, max_examples=max(1, round(examples * SCALE * weight / total)))
        @given(strategy)
        def run(value):
            check(tally, value)

        run()
    tally.check(**least)


CONTROL_OR_SURROGATE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def cleaned(text: str) -> str:
    """Text as every user-typed field is kept: controls and lone surrogates blanked, trimmed."""
    return CONTROL_OR_SURROGATE.sub(" ", text).strip()


def api_id(value: object) -> int | None:
    """A video id as the API takes one: an int or numpy int (no bool) from 0 to 2**63 - 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        return None
    return int(value) if 0 <= value < 2**63 else None


def real_number(value: object) -> float | None:
    """A finite int, float or numpy number as float; never a bool or text (knobs, API stars)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return None
    try:
        number = float(value)
    except OverflowError:  # 10**400
        return None
    return number if math.isfinite(number) else None


def text_stars(value: object) -> float | None:
    """Stars where text is allowed (store, session, imports): what float() reads, 0.5 to 5."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 0.5 <= number <= 5 else None  # NaN and infinities fail the range


WRONG_ID = "a video id must be a non-negative whole number"


# ---- 1. loaders ------------------------------------------------------------------------------
def csv_bytes(rows: list[list[str]], bom: bool, crlf: bool) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n" if crlf else "\n").writerows(rows)
    return (codecs.BOM_UTF8 if bom else b"") + out.getvalue().encode()


def cells(valid: st.SearchStrategy, noisy: bool) -> st.SearchStrategy:
    """A valid cell; in a noisy file junk one time in eight, so checks and happy path both run."""
    if not noisy:
        return valid
    return st.integers(0, 7).flatmap(lambda n: CELL if n == 0 else valid)


COLUMN_CELLS = {
    "user_id": st.integers(1, 4).map(str),
    "rating": st.sampled_from(["0.5", "1", "3", "4.5", "5", " 2 ", "4.0"]),
    "title": st.one_of(PRINTABLE.filter(str.strip), TRICKY_UTF8),
    "year": st.sampled_from(["", "1995", "2001", "1800", "2100"]),
    "genres": st.sampled_from(["", "Action", "Drama|Comedy", "Children", "(no genres listed)"]),
    "description": PRINTABLE,
    "tags": PRINTABLE,
    "timestamp": st.one_of(st.just(""), st.integers(0, 2**40).map(str)),
}
# Cells known to load. A bare "\r" would end the row (csv.writer quotes it only when it ends
# lines), so text gets "\n" instead, which is always quoted; a title must keep a character once
# controls are blanked and ends trimmed.
FREE_TEXT = PRINTABLE.map(lambda t: t.replace("\r", "\n"))
VALID_CELLS = {
    **COLUMN_CELLS,
    "title": st.one_of(FREE_TEXT, TRICKY_UTF8.filter(lambda t: "\r" not in t)).filter(cleaned),
    "year": st.sampled_from(["", "1995", "2001", "1800", "2100", " 1999 "]),
    "description": FREE_TEXT,
    "tags": FREE_TEXT,
}


@st.composite
def table(draw, required: list[str], optional: list[str], ids: list[str] | None, noisy: bool):
    """A header and mostly plausible rows; a noisy table also has junk cells and columns.

    ``ids`` None makes a catalog numbered 1, 2, …; otherwise the video ids ratings point at.
    """
    header = required + draw(st.lists(st.sampled_from(optional), unique=True)) if optional else []
    header = header or list(required)
    if noisy and not draw(st.integers(0, 3)):  # columns missing, doubled or unknown
        header = draw(st.lists(st.sampled_from([*required, *optional, "junk"]), max_size=6))
    header = draw(st.permutations(header))
    rows = []
    for number in range(1, draw(st.integers(1, 5 if ids is None else 8)) + 1):
        id_cell = st.just(str(number)) if ids is None else st.sampled_from(ids)
        row = [draw(cells(COLUMN_CELLS.get(_plain(c), id_cell), noisy)) for c in header]
        if noisy and not draw(st.integers(0, 9)):
            row.append(draw(CELL))  # one field too many
        rows.append(row)
    return [header, *rows]


def _plain(column: str) -> str:
    """GroupLens' names for our columns; any id column other than user ids is a video id."""
    return {"userId": "user_id"}.get(column, column)


@st.composite
def catalog_and_ratings(draw, catalog_columns, optional, rating_columns, noisy):
    """Two tables that fit together (ratings point at catalog ids) unless noise breaks them."""
    videos = draw(table(catalog_columns, optional, None, noisy))
    ids = [str(n) for n in range(1, len(videos))] or ["1"]
    ratings = draw(table(rating_columns, ["timestamp"], ids, noisy))
    return videos, ratings


def check_dataset(dataset, rating_range=(0.5, 5.0)) -> None:
    """Invariants of every loaded dataset, whatever layout it came from."""
    catalog, ratings = dataset.catalog, dataset.ratings
    assert tuple(catalog.columns) == CATALOG_COLUMNS
    assert tuple(ratings.columns) == RATING_COLUMNS
    ids = catalog["video_id"]
    assert (
        ids.dtype == "int64" and ids.is_unique and (ids > 0).all() and ids.is_monotonic_increasing
    )
    for column in ("title", "genres", "description", "tags", "text"):
        assert not catalog[column].str.contains(CONTROL).any(), column
    assert (catalog["title"].str.strip() != "").all()
    assert (catalog["title"].str.len() <= MAX_TITLE + len(" (2000)")).all()
    stars = ratings["rating"].to_numpy()
    assert np.isfinite(stars).all()
    assert ((stars >= rating_range[0]) & (stars <= rating_range[1])).all()
    assert ratings["video_id"].isin(ids).all() and (ratings["user_id"] > 0).all()
    assert not ratings.duplicated(["user_id", "video_id"]).any()


@dataclass(frozen=True)
class Folder:
    """Generated dataset files and what loading them must give.

    ``verdict``: None (valid), a Refusal (one defect injected) or NOISE. A valid folder also
    knows its catalog size and its ratings after de-duplication.
    """

    files: dict[str, bytes]
    verdict: object
    videos: int = 0
    ratings: dict[tuple[int, int], float] = field(default_factory=dict)


def load_files(folder: Folder, tally: Tally | None = None):
    """Write a folder's files and load them, holding the result to the folder's verdict."""
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in folder.files.items():
            (Path(tmp) / name).write_bytes(data)
        run = tally.settle if tally is not None else settle
        dataset = run(folder.verdict, load_folder, Path(tmp))
    if currently_in_test_context():  # shown by --hypothesis-show-statistics
        event("loaded" if dataset is not None else "DataError")
    if dataset is None:
        return None
    check_dataset(dataset)
    if folder.verdict is None and folder.videos:  # a generated valid folder: its exact content
        assert dataset.catalog["video_id"].tolist() == list(range(1, folder.videos + 1))
        got = dataset.ratings[["user_id", "video_id", "rating"]].itertuples(index=False)
        assert {(u, v): float(r) for u, v, r in got} == folder.ratings
    return dataset


def latest_ratings(rows: list[list[str]], stamped: bool) -> dict[tuple[int, int], float]:
    """(user, video) -> stars of [user, video, stars, timestamp] rows: a re-rating replaces an
    earlier one (the later timestamp wins, then the later line; no timestamp counts as 0)."""
    best: dict[tuple[int, int], tuple[int, float]] = {}
    for user, video, stars, stamp in rows:
        key, when = (int(user), int(video)), int(stamp or 0) if stamped else 0
        if key not in best or when >= best[key][0]:
            best[key] = (when, float(stars))
    return {key: stars for key, (_, stars) in best.items()}


@dataclass
class Sheet:
    """A CSV table under construction: its header, rows of column -> cell, cells too many."""

    header: list[str]
    rows: list[dict[str, str]]
    extra: dict[int, str] = field(default_factory=dict)  # row number -> one more field

    def records(self) -> list[list[str]]:
        body = [
            [row.get(c, "") for c in self.header] + ([self.extra[i]] if i in self.extra else [])
            for i, row in enumerate(self.rows)
        ]
        return [list(self.header), *body]


@dataclass(frozen=True)
class Layout:
    """A CSV folder layout: file names, id column names, catalog columns."""

    catalog: str
    ratings: str
    video_id: str
    user_id: str
    required: tuple[str, ...]
    optional: tuple[str, ...]


OWN = Layout(
    "videos.csv", "ratings.csv", "video_id", "user_id", ("video_id", "title"),
    ("year", "genres", "description", "tags"),
)  # fmt: skip
ML_LATEST = Layout(
    "movies.csv", "ratings.csv", "movieId", "userId", ("movieId", "title", "genres"), ()
)
BAD_IDS = st.sampled_from(["0", "-1", "1.5", "abc", "", "9" * 20])  # 9…9 is over 2**63
BAD_STARS = st.sampled_from(["abc", "nan", "inf", "-inf", ""])
OFF_SCALE = st.sampled_from(["0.4", "5.5", "-1", "10", "0"])
BAD_STAMPS = st.sampled_from(["x", "1.5", "-", "1e300"])


def refused_in(file: str, message: str) -> Refusal:
    """The DataError a defect in ``file`` must raise (its message starts with the file)."""
    return Refusal(DataError, re.escape(file) + message)


@st.composite
def csv_folder(draw, layout: Layout, mode: str) -> Folder:
    """An own-format or ml-latest folder: "valid", with one known "defect", or "noise"."""
    bom, crlf = draw(st.booleans()), draw(st.booleans())
    vid, uid = layout.video_id, layout.user_id
    columns = list(layout.required)
    if mode == "noise":
        videos, ratings = draw(
            catalog_and_ratings(columns, list(layout.optional), [uid, vid, "rating"], True)
        )
        files = {layout.catalog: csv_bytes(videos, bom, crlf)}
        return Folder({**files, layout.ratings: csv_bytes(ratings, bom, crlf)}, NOISE)
    n = draw(st.integers(1, 5))
    optional = (
        draw(st.lists(st.sampled_from(layout.optional), unique=True)) if layout.optional else []
    )
    catalog = Sheet(draw(st.permutations([*columns, *optional])), [])
    for number in range(1, n + 1):
        row = {c: draw(VALID_CELLS[c]) for c in catalog.header if c != vid}
        catalog.rows.append({**row, vid: str(number)})
    stamped = draw(st.booleans())
    ratings = Sheet(draw(st.permutations([uid, vid, "rating", *["timestamp"] * stamped])), [])
    for _ in range(draw(st.integers(1, 8))):
        cell = {c: draw(VALID_CELLS[c]) for c in ("user_id", "rating", "timestamp")}
        row = {uid: cell["user_id"], vid: str(draw(st.integers(1, n)))}
        ratings.rows.append({**row, "rating": cell["rating"], "timestamp": cell["timestamp"]})
    overrides, verdict = {}, None
    if mode == "defect":
        verdict, overrides = csv_defect(draw, layout, catalog, ratings, (bom, crlf))
    files = {
        layout.catalog: csv_bytes(catalog.records(), bom, crlf),
        layout.ratings: csv_bytes(ratings.records(), bom, crlf),
        **overrides,
    }
    if verdict is not None:
        return Folder(files, verdict)
    rows = [[r[uid], r[vid], r["rating"], r["timestamp"]] for r in ratings.rows]
    return Folder(files, None, n, latest_ratings(rows, "timestamp" in ratings.header))


CSV_DEFECTS = [
    "missing-column", "bad-id", "duplicate-id", "blank-title", "long-title", "bad-year",
    "ratings-missing-column", "bad-stars", "stars-off-scale", "unknown-video", "bad-user",
    "bad-timestamp", "extra-field", "empty-file", "header-only", "not-utf8",
]  # fmt: skip


def csv_defect(draw, layout: Layout, catalog: Sheet, ratings: Sheet, style) -> tuple:
    """Break a valid CSV folder in exactly one way: the DataError that must follow, and the
    files to overwrite for defects below the CSV level."""
    cat, rat, vid, uid = layout.catalog, layout.ratings, layout.video_id, layout.user_id
    kinds = [
        k
        for k in CSV_DEFECTS
        if (k != "bad-year" or "year" in layout.optional)
        and (k != "duplicate-id" or len(catalog.rows) > 1)
    ]
    kind = draw(st.sampled_from(kinds))
    row = catalog.rows[draw(st.integers(0, len(catalog.rows) - 1))]
    rated = ratings.rows[draw(st.integers(0, len(ratings.rows) - 1))]
    if kind == "missing-column":
        column = draw(st.sampled_from(layout.required))
        catalog.header.remove(column)
        return refused_in(cat, rf" is missing the column\(s\) {column} \(found"), {}
    if kind == "bad-id":
        row[vid] = draw(BAD_IDS)
        return refused_in(cat, f", column '{vid}': expected a positive integer"), {}
    if kind == "duplicate-id":
        row[vid] = catalog.rows[0][vid] if row is not catalog.rows[0] else catalog.rows[1][vid]
        return refused_in(cat, ", column 'video_id': video_id .* appears more than once"), {}
    if kind == "blank-title":
        row["title"] = draw(st.sampled_from(["", " ", "\x00", "\t\x1f "]))
        return refused_in(cat, ", column 'title': empty"), {}
    if kind == "long-title":
        row["title"] = "x" * (MAX_TITLE + 1)
        return refused_in(cat, f", column 'title': longer than {MAX_TITLE}"), {}
    if kind == "bad-year":
        catalog.header += [] if "year" in catalog.header else ["year"]
        row["year"] = draw(st.sampled_from(["1799", "2101", "abc", "1995.5"]))
        return refused_in(cat, ", column 'year': expected a year in 1800..2100"), {}
    if kind == "ratings-missing-column":
        column = draw(st.sampled_from([uid, vid, "rating"]))
        ratings.header.remove(column)
        return refused_in(rat, rf" is missing the column\(s\) {column} \(found"), {}
    if kind in ("bad-stars", "stars-off-scale"):
        rated["rating"] = draw(BAD_STARS if kind == "bad-stars" else OFF_SCALE)
        problem = "not a finite number" if kind == "bad-stars" else r"outside the scale 0\.5\.\.5"
        return refused_in(rat, f", column 'rating': {problem}"), {}
    if kind == "unknown-video":
        rated[vid] = str(len(catalog.rows) + draw(st.integers(1, 9)))
        return refused_in(rat, ", column '[^']+': 1 rating refers to videos missing from"), {}
    if kind == "bad-user":
        rated[uid] = draw(st.sampled_from(["0", "-2", "x", "1.5"]))
        return refused_in(rat, f", column '{uid}': expected a positive integer"), {}
    if kind == "bad-timestamp":
        ratings.header += [] if "timestamp" in ratings.header else ["timestamp"]
        rated["timestamp"] = draw(BAD_STAMPS)
        return refused_in(rat, ", column 'timestamp': expected whole seconds"), {}
    sheet, file = draw(st.sampled_from([(catalog, cat), (ratings, rat)]))
    if kind == "extra-field":
        sheet.extra[draw(st.integers(0, len(sheet.rows) - 1))] = draw(st.sampled_from("x3"))
        return refused_in(file, "(, line 2: more fields than the header| is malformed)"), {}
    if kind == "empty-file":
        blank = draw(st.sampled_from([b"", b" \n", b"\r\n\n"]))
        return refused_in(file, " is empty"), {file: blank}
    if kind == "header-only":
        return refused_in(file, " has no data rows"), {file: csv_bytes([sheet.header], *style)}
    broken = csv_bytes(sheet.records(), *style) + b"\xff\n"  # not-utf8
    return refused_in(file, " is not valid utf-8"), {file: broken}


def fuzz_folders(folder, examples: int) -> None:
    """Load generated folders, each held to its verdict: 2/5 valid, 2/5 with a defect, 1/5 noise."""
    parts = [(2, folder("valid")), (2, folder("defect")), (1, folder("noise"))]
    fuzz(examples, lambda tally, generated: load_files(generated, tally), *parts)


def test_own_format_random_tables_load_or_raise_data_error():
    fuzz_folders(lambda mode: csv_folder(OWN, mode), 150)


def test_ml_latest_random_tables_load_or_raise_data_error():
    fuzz_folders(lambda mode: csv_folder(ML_LATEST, mode), 60)


def separated(rows: list[list[str]], sep: str) -> bytes:
    return "".join(sep.join(row) + "\n" for row in rows).encode("latin-1", "replace")


@st.composite
def ml100k_noise(draw) -> dict[str, bytes]:
    """u.item, u.data and maybe u.user in GroupLens' layout with junk cells and field counts."""

    def row(valid: list) -> list[str]:
        out = [
            draw(cells(v if isinstance(v, st.SearchStrategy) else st.just(v), True)) for v in valid
        ]
        if not draw(st.integers(0, 9)):
            out = out[:-1] if draw(st.booleans()) else [*out, draw(CELL)]
        return out

    n = draw(st.integers(1, 5))
    flag = st.sampled_from(["0", "1"])
    items = [
        row([str(v), COLUMN_CELLS["title"], "01-Jan-1995", "", "http://x", *[flag] * 19])
        for v in range(1, n + 1)
    ]
    video = st.integers(1, n).map(str)
    ratings = [
        row([COLUMN_CELLS["user_id"], video, COLUMN_CELLS["rating"], COLUMN_CELLS["timestamp"]])
        for _ in range(draw(st.integers(1, 8)))
    ]
    files = {"u.item": separated(items, "|"), "u.data": separated(ratings, "\t")}
    if draw(st.booleans()):
        users = [
            row([str(u), st.integers(1, 99).map(str), st.sampled_from("MF"), PRINTABLE, "12345"])
            for u in range(1, 5)
        ]
        files["u.user"] = separated(users, "|")
    return files


def latin1(text: str) -> str:
    """Text as it reads back from a latin-1 GroupLens file written with '?' for the rest."""
    return text.encode("latin-1", "replace").decode("latin-1")


# Unquoted '|'-separated fields: a valid title has no '|' and no line break, and keeps a
# character after the latin-1 round trip and the loader's cleaning.
TITLE_100K = st.text(
    st.characters(exclude_categories=["Cc", "Cs"], exclude_characters="|"), min_size=1, max_size=30
).filter(lambda t: cleaned(latin1(t)))
ML100K_DEFECTS = [
    "bad-id", "duplicate-id", "blank-title", "extra-field", "bad-stars", "stars-off-scale",
    "unknown-video", "bad-user", "bad-timestamp", "bad-age", "empty-file",
]  # fmt: skip


@st.composite
def ml100k_folder(draw, mode: str) -> Folder:
    """u.item, u.data and maybe u.user: "valid", with one known "defect", or "noise"."""
    if mode == "noise":
        return Folder(draw(ml100k_noise()), NOISE)
    n = draw(st.integers(1, 5))
    flags = st.lists(st.sampled_from(["0", "1"]), min_size=19, max_size=19)
    items = [
        [str(v), draw(TITLE_100K), "01-Jan-1995", "", "http://x", *draw(flags)]
        for v in range(1, n + 1)
    ]
    cell = {**VALID_CELLS, "video_id": st.integers(1, n).map(str)}
    ratings = [
        [draw(cell[c]) for c in ("user_id", "video_id", "rating", "timestamp")]
        for _ in range(draw(st.integers(1, 8)))
    ]
    occupation = st.text("abcdefghij ", max_size=10)
    users = [
        [str(u), str(draw(st.integers(1, 99))), draw(st.sampled_from("MF")), draw(occupation), "1"]
        for u in range(1, 5)
    ]
    files = {"u.item": items, "u.data": ratings, "u.user": users if draw(st.booleans()) else None}
    expected = latest_ratings(ratings, stamped=True)  # before a defect changes a row
    verdict = ml100k_defect(draw, files, n) if mode == "defect" else None
    written = {
        name: rows
        if isinstance(rows, bytes)
        else separated(rows, "\t" if name == "u.data" else "|")
        for name, rows in files.items()
        if rows is not None
    }
    return Folder(written, verdict, n, expected)


def ml100k_defect(draw, files: dict, n: int) -> Refusal:
    """Break a valid ml-100k folder (rows by file name) in one way: the DataError that follows."""
    kinds = [k for k in ML100K_DEFECTS if k != "duplicate-id" or n > 1]
    kind = draw(st.sampled_from(kinds))
    items, ratings = files["u.item"], files["u.data"]
    item = items[draw(st.integers(0, n - 1))]
    rating = ratings[draw(st.integers(0, len(ratings) - 1))]
    if kind == "bad-id":
        item[0] = draw(BAD_IDS)
        return refused_in("u.item", ", column 'movie_id': expected a positive integer")
    if kind == "duplicate-id":
        item[0] = items[0][0] if item is not items[0] else items[1][0]
        return refused_in("u.item", ", column 'video_id': video_id .* appears more than once")
    if kind == "blank-title":
        item[1] = draw(st.sampled_from(["", " ", "\t"]))
        return refused_in("u.item", ", column 'title': empty")
    if kind == "extra-field":
        name, row = draw(st.sampled_from([("u.item", item), ("u.data", rating)]))
        row.append("x")
        return refused_in(name, "(, line 1: more than .* fields| is malformed)")
    if kind in ("bad-stars", "stars-off-scale"):
        rating[2] = draw(BAD_STARS if kind == "bad-stars" else OFF_SCALE)
        problem = "not a finite number" if kind == "bad-stars" else r"outside the scale 0\.5\.\.5"
        return refused_in("u.data", f", column 'rating': {problem}")
    if kind == "unknown-video":
        rating[1] = str(n + draw(st.integers(1, 9)))
        return refused_in("u.data", ", column '[^']+': 1 rating refers to videos missing from")
    if kind == "bad-user":
        rating[0] = draw(st.sampled_from(["0", "-2", "x", "1.5"]))
        return refused_in("u.data", ", column 'user_id': expected a positive integer")
    if kind == "bad-timestamp":
        rating[3] = draw(BAD_STAMPS)
        return refused_in("u.data", ", column 'timestamp': expected whole seconds")
    if kind == "bad-age":
        users = files["u.user"] = files["u.user"] or [[str(u), "30", "F", "", "1"] for u in (1, 2)]
        users[draw(st.integers(0, len(users) - 1))][1] = draw(st.sampled_from(["0", "x", "2.5"]))
        return refused_in("u.user", ", column 'age': expected a positive integer")
    name = draw(st.sampled_from(["u.item", "u.data"]))  # empty-file
    files[name] = draw(st.sampled_from([b"", b"\n \n"]))
    return refused_in(name, " is empty")


def test_ml100k_random_files_load_or_raise_data_error():
    fuzz_folders(ml100k_folder, 60)


VIDEO_HEADS = [b"", b"video_id,title\n", b"video_id,title\n1,"]
RATING_HEADS = [b"", b"user_id,video_id,rating\n", b"user_id,video_id,rating\n1,1,"]
SAFE_TITLE = st.text(  # needs no CSV quoting and keeps a character once trimmed
    st.characters(exclude_categories=["Cc", "Cs", "Zl", "Zp"], exclude_characters=',"'),
    min_size=1,
    max_size=20,
).filter(str.strip)
JUNK = st.tuples(
    st.sampled_from(VIDEO_HEADS),
    st.binary(max_size=80),
    st.sampled_from(RATING_HEADS),
    st.binary(max_size=80),
).map(lambda t: (t[0] + t[1], t[2] + t[3], False))
COMPLETED = st.tuples(  # the heads' last rows completed, maybe with a row more
    st.tuples(SAFE_TITLE, st.sampled_from(["\n", "\r\n"]), st.sampled_from(["", "2,B\n"])),
    st.tuples(st.sampled_from(["3", "4.5", "0.5", " 2 "]), st.sampled_from(["", "1,1,4\n"])),
).map(
    lambda t: (
        VIDEO_HEADS[2] + "".join(t[0]).encode(),
        RATING_HEADS[2] + f"{t[1][0]}\n{t[1][1]}".encode(),
        True,
    )
)


def junk_verdict(videos: bytes, ratings: bytes, completed: bool):
    """What loading videos.csv and ratings.csv of junk must do, as far as can be known: a blank
    or non-UTF-8 file is refused saying so; files completed by construction load."""
    for name, data in (("videos.csv", videos), ("ratings.csv", ratings)):  # read in this order
        if not data.strip():
            return refused_in(name, " is empty")
        try:
            data.removeprefix(codecs.BOM_UTF8).decode("utf-8")
        except UnicodeDecodeError:
            return refused_in(name, " is not valid utf-8")
        if not completed:
            return NOISE
    return None


def test_binary_junk_loads_or_raises_data_error():
    def check(tally, generated):
        videos, ratings, completed = generated
        verdict = junk_verdict(videos, ratings, completed)
        dataset = load_files(Folder({"videos.csv": videos, "ratings.csv": ratings}, verdict), tally)
        if completed:  # video 1 (and maybe 2), rated by user 1
            assert dataset.ratings[["user_id", "video_id"]].values.tolist() == [[1, 1]]

    fuzz(100, check, (1, COMPLETED), (3, JUNK))


@pytest.mark.parametrize(
    "videos, ratings, message",
    [
        (b"", b"", "videos.csv is empty"),
        (codecs.BOM_UTF8, codecs.BOM_UTF8, "videos.csv is malformed: No columns to parse"),
        (b"video_id,title\n", b"user_id,video_id,rating\n", "videos.csv has no data rows"),
        (b"\n\n\n", b" \r\n\t", "videos.csv is empty"),
        (b"\x00" * 64, b"\xff\xfe" * 32, "videos.csv has no data rows"),
        (
            b"video_id,title\n" + b"1," + b"x" * HUGE + b"\n",
            b"user_id,video_id,rating\n1,1,3\n",
            "videos.csv, column 'title': longer than 300 characters",
        ),
        (
            b"video_id," + b"t" * HUGE + b"\n1,A\n",
            b"user_id,video_id,rating\n1,1,3\n",
            "videos.csv is missing the column(s) title",
        ),
        (
            b"video_id,title\n" + b"9" * HUGE + b",A\n",
            b"user_id,video_id,rating\n1,1,3\n",
            "videos.csv, column 'video_id': expected a positive integer",
        ),
        (
            b"video_id,title\n1,A\n1,B\n",
            b"user_id,video_id,rating\n1,1,3\n",
            "video_id 1 appears more than once (line 2 and line 3)",
        ),
        (
            b"video_id,title\n1,A\n",
            b"user_id,video_id,rating\n1,1,nan\n1,1,-inf\n",
            "ratings.csv, column 'rating': not a finite number on line 2 ('nan'), line 3",
        ),
        (
            b"video_id,title\n1,A\n",
            b"user_id,video_id,rating\n1,1,3\n1,1,4\n2,1,1e308\n",
            "ratings.csv, column 'rating': outside the scale 0.5..5 on line 4",
        ),
        (
            b'video_id,title\n1,"A\n',
            b"user_id,video_id,rating\n1,1,3\n",
            "videos.csv is malformed",
        ),
        (
            b"video_id,title\n1,A\n",
            b"user_id,video_id,rating,timestamp\n1,1,3,1e300\n",
            "ratings.csv, column 'timestamp': expected whole seconds",
        ),
    ],
    ids=[
        "empty",
        "bom-only",
        "header-only",
        "blank-lines",
        "nul-and-utf16",
        "100k-title",
        "100k-header",
        "100k-digit-id",
        "duplicate-ids",
        "nan-inf-ratings",
        "huge-rating",
        "open-quote",
        "huge-timestamp",
    ],
)
def test_edge_files_are_refused_saying_why(videos, ratings, message):
    files = {"videos.csv": videos, "ratings.csv": ratings}
    load_files(Folder(files, Refusal(DataError, re.escape(message))))


def test_file_over_the_size_limit_is_refused_before_parsing(tmp_path):
    (tmp_path / "videos.csv").write_bytes(b"video_id,title\n1,A\n")
    (tmp_path / "ratings.csv").write_bytes(b"user_id,video_id,rating\n1,1,3\n")
    with pytest.raises(DataError, match="limit"):
        load_folder(tmp_path, max_bytes=10)


# ---- 2. import path: ratings files and the viewer store ----------------------------------------
IMPORT_CATALOG = pd.DataFrame(
    {
        "video_id": [1, 2, 3, 10**12],
        "title": ["Heat (1995)", "=SUM(A1)", "\u05e9\u05dc\u05d5\u05dd \U0001f3ac", "Heat (1995)"],
    }
)
IMPORT_IDS = {1, 2, 3, 10**12}
# The catalog's titles as imports match them (spacing and case ignored): Heat names two videos.
IMPORT_BY_TITLE = {
    "heat (1995)": [1, 10**12],
    "=sum(a1)": [2],
    "\u05e9\u05dc\u05d5\u05dd \U0001f3ac": [3],
}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what an export defuses with a leading quote
FILENAMES = st.one_of(
    st.sampled_from(["r.csv", "r.json", "R.JSON", "ratings", "r.txt", ".csv", "", "a.b.json"]),
    ANY_TEXT,
)
JSON_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),  # NaN and infinities: Python's json writes and reads them
    TEXT.filter(encodable),
    st.sampled_from([1, 2, 3, "1", " 2 ", "Heat (1995)", "heat  (1995)", 4.5, "4.5", 0.5, 5]),
)
JSON_VALUE = st.recursive(
    JSON_SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
JSON_ITEM = st.dictionaries(
    st.sampled_from(["video_id", "title", "stars", " Stars ", "VIDEO_ID", "other"]),
    JSON_VALUE,
    max_size=4,
)
JSON_DOC = st.one_of(
    st.lists(st.one_of(JSON_ITEM, JSON_VALUE), max_size=6),
    st.fixed_dictionaries(
        {"ratings": st.lists(JSON_ITEM, max_size=6)},
        optional={
            "format": st.one_of(st.just("vidrec-ratings"), JSON_VALUE),
            "version": st.one_of(st.just(1), JSON_VALUE),
        },
    ),
    JSON_VALUE,
)


def title_key(title: str) -> str:
    """A title as imports match it: an export's defusing quote dropped, spacing and case ignored."""
    if title.startswith("'") and title[1:].startswith(FORMULA_START):
        title = title[1:]
    return " ".join(title.split()).casefold()


def blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def import_id(value: object) -> int | None:
    """A video id in an upload: a JSON integer, or a cell of 1 to 18 ASCII digits."""
    if type(value) is int:
        return value if 0 <= value < 2**63 else None
    if isinstance(value, str) and re.fullmatch("[0-9]{1,18}", value.strip()):
        return int(value.strip())
    return None


def import_verdict(data: bytes, filename: str) -> tuple[Refusal | None, dict | None]:
    """What parse_import must do with an upload: its refusal, or the ratings it must return.

    CSV and JSON are read with Python's own csv and json modules, as the import promises; what
    is judged here is everything after that: the layout, each row, and the file as a whole.
    """
    if len(data) > 1_000_000:
        return Refusal(DataError, "bytes; the limit is 1,000,000"), None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return Refusal(DataError, "is not UTF-8 text"), None
    suffix = str(filename).lower().rsplit(".", 1)[-1]  # by extension, else by the first character
    as_json = suffix == "json" if suffix in ("json", "csv") else text.lstrip()[:1] in ("{", "[")
    rows = json_rows(text) if as_json else csv_rows(text)
    if isinstance(rows, Refusal):
        return rows, None
    if not rows:
        return Refusal(DataError, "has no ratings in it"), None
    return matched_rows(rows)


def json_rows(text: str) -> list[tuple] | Refusal:
    """(video_id, title, stars) of each item of a JSON upload, or why the layout is refused."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return Refusal(DataError, "is not valid JSON")
    if isinstance(doc, list):
        items = doc
    elif not isinstance(doc, dict) or not isinstance(doc.get("ratings"), list):
        return Refusal(DataError, says('should hold {"format": "vidrec-ratings"'))
    elif doc.get("format", "vidrec-ratings") != "vidrec-ratings":
        return Refusal(DataError, "is in format .*, not vidrec-ratings")
    elif type(doc.get("version", 1)) is not int or doc.get("version", 1) != 1:
        return Refusal(DataError, "is format version .*; this app reads 1")
    else:
        items = doc["ratings"]
    if len(items) > 20_000:
        return Refusal(DataError, "has more than 20,000 ratings")
    rows = []
    for item in items:
        if not isinstance(item, dict):
            return Refusal(DataError, says('is not like {"video_id": 1, "stars": 4}'))
        fields = {str(k).strip().lower(): v for k, v in item.items()}
        rows.append((fields.get("video_id"), fields.get("title"), fields.get("stars")))
    return rows


def csv_rows(text: str) -> list[tuple] | Refusal:
    """(video_id, title, stars) of each non-blank CSV record, or why the layout is refused."""
    columns = ("video_id", "title", "stars")
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        if any(header.count(c) > 1 for c in columns):
            return Refusal(DataError, "appear more than once")
        if "stars" not in header or not {"video_id", "title"} & set(header):
            return Refusal(DataError, "needs a header row with a stars column")
        where = [header.index(c) if c in header else None for c in columns]
        for record in reader:
            if any(cell.strip() for cell in record):
                rows.append(
                    tuple(None if i is None or i >= len(record) else record[i] for i in where)
                )
                if len(rows) > 20_000:
                    return Refusal(DataError, "has more than 20,000 ratings")
    except csv.Error:
        return Refusal(DataError, "is not readable CSV")
    return rows


def matched_rows(rows: list[tuple]) -> tuple[Refusal | None, dict | None]:
    """The ratings the rows name, or the refusal listing every kind of problem among them."""
    problems, out = set(), {}
    for video_id, title, stars in rows:
        vid = None
        if not blank(video_id):
            vid = import_id(video_id)
            if vid is None:
                problems.add("video ids that are not whole numbers")
            elif vid not in IMPORT_IDS:
                problems.add("unknown video ids")
                vid = None
        elif blank(title):
            problems.add("rows with neither a video_id nor a title")
        else:
            found = IMPORT_BY_TITLE.get(title_key(str(title)), [])
            if len(found) == 1:
                vid = found[0]
            else:
                problems.add("titles of several videos" if found else "unknown titles")
        value = text_stars(stars)
        if value is None:
            problems.add("stars not a number from 0.5 to 5")
        if vid is not None and value is not None and out.setdefault(vid, value) != value:
            problems.add("videos rated twice with different stars")
    if problems:
        return Refusal(DataError, says("nothing was imported", *problems)), None
    return None, out


# Ways a valid row can name each catalog video; Heat (1995) names two, so only by id.
BY_TITLE = {
    2: ["=SUM(A1)", "'=SUM(A1)", " =sum(a1) "],
    3: ["\u05e9\u05dc\u05d5\u05dd \U0001f3ac", "  \u05e9\u05dc\u05d5\u05dd \t\U0001f3ac "],
}
STAR_VALUES = st.one_of(st.floats(0.5, 5.0), st.sampled_from([1, 3, 5, "4", " 3.5 ", "0.5"]))


@st.composite
def valid_rows(draw) -> list[tuple]:
    """(video_id, title, stars) rows naming distinct catalog videos by id or by title."""
    rows = []
    for vid in draw(
        st.lists(st.sampled_from(sorted(IMPORT_IDS)), min_size=1, max_size=4, unique=True)
    ):
        stars = draw(STAR_VALUES)
        if vid in BY_TITLE and draw(st.booleans()):
            rows.append((None, draw(st.sampled_from(BY_TITLE[vid])), stars))
        else:
            rows.append((draw(st.sampled_from([vid, str(vid), f" {vid} "])), None, stars))
    return rows


@st.composite
def valid_json_doc(draw):
    """An export-like JSON document (or a bare list) of valid rows."""
    items = [
        {k: v for k, v in zip(("video_id", "title", "stars"), row) if v is not None}
        for row in draw(valid_rows())
    ]
    if draw(st.booleans()):
        return items
    return {"format": "vidrec-ratings", "version": 1, "ratings": items}


@st.composite
def valid_csv_table(draw) -> tuple[list[str], list[list[str]]]:
    """A header with stars, video_id and title in any order, and valid rows as text cells."""
    header = draw(st.permutations(["video_id", "title", "stars"]))
    rows = []
    for row in draw(valid_rows()):
        cell = dict(zip(("video_id", "title", "stars"), ("" if v is None else str(v) for v in row)))
        rows.append([cell[c] for c in header])
    return header, rows


@st.composite
def valid_upload(draw) -> tuple[bytes, str]:
    """A valid JSON or CSV upload with a name that makes it read as such."""
    if draw(st.booleans()):
        data = json.dumps(draw(valid_json_doc()), ensure_ascii=draw(st.booleans())).encode()
        return data, draw(st.sampled_from(["r.json", "R.JSON", "ratings", "", "a.b.json"]))
    header, rows = draw(valid_csv_table())
    return csv_bytes([header, *rows], draw(st.booleans()), False), draw(
        st.sampled_from(["r.csv", "X.CSV", ".csv"])
    )


def check_import(tally: Tally, upload: tuple[bytes, str]) -> None:
    """parse_import on an upload, held to the import oracle."""
    data, filename = upload
    refusal, expected = import_verdict(data, filename)
    got = tally.settle(refusal, parse_import, data, filename, IMPORT_CATALOG)
    if refusal is None:
        assert got == expected and all(type(s) is float for s in got.values())


def test_import_of_arbitrary_bytes():
    fuzz(150, check_import, (1, valid_upload()), (1, st.tuples(st.binary(max_size=200), FILENAMES)))


def as_json(doc_and_name: tuple) -> tuple[bytes, str]:
    return json.dumps(doc_and_name[0]).encode(), doc_and_name[1]


def test_import_of_arbitrary_json():
    valid = st.tuples(valid_json_doc(), st.sampled_from(["r.json", "r"]))
    anything = st.tuples(JSON_DOC, st.sampled_from(["r.json", "r", "r.csv"]))
    fuzz(150, check_import, (1, valid.map(as_json)), (1, anything.map(as_json)))


def as_csv(table_and_bom: tuple) -> tuple[bytes, str]:
    (header, rows), bom = table_and_bom
    return csv_bytes([header, *rows], bom, crlf=False), "r.csv"


def test_import_of_arbitrary_csv():
    anything = st.tuples(
        st.lists(st.sampled_from(["video_id", "title", "stars", "Stars", "x", ""]), max_size=4),
        st.lists(st.lists(st.one_of(SMALL_ID, NUMBER_TEXT, CELL), max_size=4), max_size=6),
    )
    fuzz(
        150,
        check_import,
        (1, st.tuples(valid_csv_table(), st.booleans()).map(as_csv)),
        (1, st.tuples(anything, st.booleans()).map(as_csv)),
    )


@pytest.mark.parametrize(
    "data, refused",
    [
        (b"[" * 100_000, "is not valid JSON"),
        (b'{"ratings": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", "is not valid JSON"),
        (b"video_id,stars\n1," + b"9" * HUGE + b"\n", "stars not a number from 0.5 to 5 (1)"),
        (b"title,stars\n" + b"x" * HUGE + b",3\n", "unknown titles (1): line 2: 'xxx"),
        (b"stars," + b"h" * HUGE + b"\n3,x\n", "needs a header row with a stars column"),
        (b"video_id,stars\n" + b"1,3\n" * 30_000, "has more than 20,000 ratings"),
        (b"\x00" * 1_000, "needs a header row with a stars column"),
        (b'video_id,stars\n1,"3\n', None),  # csv reads the open quote to the end: 3 stars
        (b"\xef\xbb\xbf[]", "has no ratings in it"),
        (
            b'[{"video_id": 1e999, "stars": NaN}, {"video_id": -1, "stars": Infinity}]',
            "video ids that are not whole numbers (2)",
        ),
        (b"x" * 1_000_001, "is 1,000,001 bytes; the limit is 1,000,000"),
    ],
    ids=[
        "deep-json",
        "deep-ratings",
        "100k-digit-id",
        "100k-title",
        "100k-header",
        "too-many-rows",
        "nul-bytes",
        "open-quote",
        "bom-empty-list",
        "nan-inf-json",
        "over-1mb",
    ],
)
def test_import_edge_files(data, refused):
    filename = "r.json" if data.lstrip(b"\xef\xbb\xbf")[:1] in b"[{" else "r.csv"
    got = settle(
        refused and Refusal(DataError, re.escape(refused)),
        parse_import,
        data,
        filename,
        IMPORT_CATALOG,
    )
    if refused is None:
        assert got == {1: 3.0}


@settings(FUZZ, max_examples=80 * SCALE)
@given(
    st.lists(TEXT.filter(encodable), min_size=1, max_size=6),
    st.data(),
    st.sampled_from(["csv", "json"]),
)
def test_export_then_import_round_trips(titles, data, kind):
    catalog = pd.DataFrame({"video_id": range(1, len(titles) + 1), "title": titles})
    ids = data.draw(st.lists(st.sampled_from(list(catalog["video_id"])), min_size=1, unique=True))
    stars = st.floats(0.5, 5.0, allow_subnormal=False)
    ratings = {int(v): data.draw(stars) for v in ids}
    export = export_csv if kind == "csv" else export_json
    text = export(ratings, catalog)
    assert parse_import(text.encode(), f"mine.{kind}", catalog) == ratings


VIDEO_IDS = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, 1, 2**63 - 1, 2**63, np.int64(7), True, None, 1.0, float("nan"), "1"]),
    TEXT,
)
STARS = st.one_of(
    st.floats(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0.5, 1, 3, 4.5, 5, "4", " 3.5 ", "nan", "inf", "1e400", True, None, b"3"]),
    TEXT,
)
STORE_TEXT = st.one_of(TEXT, st.just("k" * HUGE))
# Values the store takes, for the valid half of each run.
VIDEO_ID_OK = st.one_of(
    st.integers(0, 2**63 - 1), st.integers(1, 99), st.integers(0, 2**63 - 1).map(np.int64)
)
STARS_OK_TEXT = st.one_of(
    st.floats(0.5, 5.0), st.sampled_from([1, 3, 5, "4", " 3.5 ", "0.5", np.float32(2.5)])
)
VIEWER_ID = re.compile("[A-Za-z0-9_-]{22}")  # secrets.token_urlsafe(16)


def storable(value: object, limit: int) -> bool:
    """Text SQLite can keep (no lone surrogates) of at most ``limit`` characters."""
    return isinstance(value, str) and len(value) <= limit and encodable(value)


def viewer_id_ok(value: object) -> bool:
    return isinstance(value, str) and VIEWER_ID.fullmatch(value) is not None


def ratings_refusal(ratings: dict) -> Refusal | None:
    """The store checks each (video, stars) pair in order, the id before the stars."""
    for video_id, stars in ratings.items():
        if api_id(video_id) is None:
            return Refusal(DataError, WRONG_ID)
        if text_stars(stars) is None:
            return Refusal(DataError, "stars go from 0.5 to 5")
    return None


def start_refusal(viewer_id, kind, key, label, seed) -> Refusal | None:
    """What ViewerStore.start must refuse: who the viewer is, then the seed, then the id."""
    if kind not in ("persona", "movielens", "new"):
        return Refusal(DataError, "viewer kind must be one of persona, movielens, new")
    for name, value, limit in (("key", key, 100), ("label", label, 200)):
        if not storable(value, limit):
            return Refusal(DataError, f"a viewer {name} must be text of at most {limit}")
    refusal = ratings_refusal(seed)
    if refusal is None and not viewer_id_ok(viewer_id):
        return Refusal(DataError, "that is not a viewer id")
    return refusal


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return ViewerStore(tmp_path_factory.mktemp("store") / "viewers.sqlite3")


def test_store_start_saves_exactly_what_it_accepts(store):
    anything = st.tuples(
        st.one_of(st.builds(new_viewer_id), TEXT, st.sampled_from([None, 7, b"x" * 22, "A" * 22])),
        st.one_of(st.sampled_from(["persona", "movielens", "new"]), TEXT),
        STORE_TEXT,
        STORE_TEXT,
        st.dictionaries(VIDEO_IDS, STARS, max_size=4),
    )
    valid = st.tuples(
        st.builds(new_viewer_id),
        st.sampled_from(["persona", "movielens", "new"]),
        PRINTABLE,
        PRINTABLE,
        st.dictionaries(VIDEO_ID_OK, STARS_OK_TEXT, max_size=4),
    )

    def check(tally, args):
        viewer_id, kind, key, label, seed = args
        refusal = start_refusal(viewer_id, kind, key, label, seed)
        tally.settle(refusal, store.start, viewer_id, kind, key, label, seed)
        if refusal is None:
            expected = {api_id(v): text_stars(s) for v, s in seed.items()}
            assert store.load(viewer_id) == SavedViewer(kind, key, label, expected, expected, ())

    fuzz(100, check, (1, valid), (1, anything))


def test_store_rating_changes_apply_or_raise_data_error(store):
    def check(tally, args):
        video_id, stars, removed = args
        viewer = new_viewer_id()
        store.start(viewer, "new", "", "New viewer", {})
        pair = {video_id: stars}
        tally.settle(ratings_refusal(pair), store.set_rating, viewer, video_id, stars)
        now = {} if ratings_refusal(pair) else {api_id(video_id): text_stars(stars)}
        assert store.load(viewer).ratings == now
        gone = None if api_id(removed) is not None else Refusal(DataError, WRONG_ID)
        tally.settle(gone, store.remove_rating, viewer, removed)
        now = now if gone else {v: s for v, s in now.items() if v != api_id(removed)}
        assert store.load(viewer).ratings == now
        both = {video_id: stars, removed: stars}  # one pair when the two ids are equal keys
        tally.settle(ratings_refusal(both), store.replace_ratings, viewer, both)
        if ratings_refusal(both) is None:
            now = {api_id(v): text_stars(s) for v, s in both.items()}
        assert store.load(viewer).ratings == now  # all of them, or on a refusal none

    valid = st.tuples(VIDEO_ID_OK, STARS_OK_TEXT, VIDEO_ID_OK)
    fuzz(100, check, (1, valid), (1, st.tuples(VIDEO_IDS, STARS, VIDEO_IDS)))


def added_refusal(video_id, title, description, genres) -> Refusal | None:
    """What ViewerStore.add_video must refuse, in the order it checks."""
    vid = api_id(video_id)
    if vid is None:
        return Refusal(DataError, WRONG_ID)
    if vid < 10_000_000:
        return Refusal(DataError, f"added video ids start at 10000000, got {vid}")
    if not storable(title, 300) or not title.strip():
        return Refusal(DataError, "an added video needs a title of 1 to 300 characters")
    if not storable(description, 5_000):
        return Refusal(DataError, "a description must be text of at most 5000 characters")
    if not isinstance(genres, (str, bytes, list, tuple)):
        return Refusal(DataError, "genres must be names like 'Drama'")
    if any(g not in GENRES for g in genre_names(genres)):
        return Refusal(DataError, "unknown genre")
    return None


def genre_names(genres) -> list:
    """Genres as given: a list or tuple as is, text as its '|'-separated names."""
    return [g for g in genres.split("|") if g] if isinstance(genres, str) else list(genres)


def test_store_add_video_keeps_what_it_accepts(store):
    anything = st.tuples(
        st.one_of(st.integers(10_000_000, 10_000_010), VIDEO_IDS),
        STORE_TEXT,
        st.one_of(TEXT, st.just("d" * HUGE)),
        st.one_of(
            st.lists(st.sampled_from(["Action", "Drama", "Sci-Fi"]), max_size=3),
            st.lists(TEXT, max_size=3),
            TEXT,
            st.sampled_from([None, 3, b"Drama", ("Drama", None), [["Drama"]]]),
        ),
    )
    valid = st.tuples(
        st.integers(10_000_000, 2**63 - 1),
        PRINTABLE.filter(str.strip),
        PRINTABLE,
        st.one_of(
            st.lists(st.sampled_from(GENRES), max_size=3),
            st.lists(st.sampled_from(GENRES), max_size=3).map("|".join),
        ),
    )

    def check(tally, args):
        video_id, title, description, genres = args
        viewer = new_viewer_id()
        store.start(viewer, "new", "", "New viewer", {})
        refusal = added_refusal(video_id, title, description, genres)
        tally.settle(refusal, store.add_video, viewer, video_id, title, description, genres)
        names = () if refusal else tuple(genre_names(genres))
        added = () if refusal else (SavedVideo(api_id(video_id), title, description, names),)
        assert store.load(viewer).added == added

    fuzz(100, check, (1, valid), (1, anything))


WELL_FORMED_ID = st.text(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", min_size=22, max_size=22
)


def test_store_load_of_any_value_is_none_or_a_viewer(tmp_path):
    """load never raises: a saved viewer for its id, None for any other value."""
    store, saved = ViewerStore(tmp_path / "viewers.sqlite3"), {}
    others = st.one_of(TEXT, VIDEO_IDS, WELL_FORMED_ID, st.just("x" * HUGE))

    def check(tally, args):
        save, value = args
        if save:  # a viewer saved under a generated id
            store.start(value, "persona", value[:4], "Saved viewer", {1: 4.0})
            saved[value] = SavedViewer("persona", value[:4], "Saved viewer", {1: 4.0}, {1: 4.0}, ())
        expected = saved.get(value) if isinstance(value, str) else None
        tally.counts["absent" if expected is None else "found"] += 1
        assert settle(None, store.load, value) == expected

    saving, looking = st.tuples(st.just(True), WELL_FORMED_ID), st.tuples(st.just(False), others)
    fuzz(60, check, (1, saving), (1, looking), found=MIN_VALID, absent=MIN_INVALID)


def rate_refusal(video_id, stars) -> Refusal | None:
    """ViewerSession.rate takes whole stars' range only: 1 to 5 (text allowed)."""
    if api_id(video_id) is None:
        return Refusal(DataError, WRONG_ID)
    value = text_stars(stars)
    if value is None or value < 1:
        return Refusal(DataError, "stars must be from 1 to 5")
    return None


def test_session_rate_stores_a_valid_rating_or_raises_data_error():
    def check(tally, args):
        video_id, stars = args
        session = ViewerSession.start("new", "", "New viewer", {})
        refusal = rate_refusal(video_id, stars)
        tally.settle(refusal, session.rate, video_id, stars)
        assert session.ratings == ({} if refusal else {api_id(video_id): text_stars(stars)})
        assert all(type(v) is int for v in session.ratings)
        gone = None if api_id(video_id) is not None else Refusal(DataError, WRONG_ID)
        tally.settle(gone, session.unrate, video_id)
        assert session.ratings == {}

    valid = st.tuples(VIDEO_ID_OK, STARS_OK_TEXT.filter(lambda s: float(s) >= 1))
    fuzz(100, check, (1, valid), (1, st.tuples(VIDEO_IDS, STARS)))


# ---- 3. config ---------------------------------------------------------------------------------
ENV_NAMES = [f"VIDREC_{name.upper()}" for name in Config.__dataclass_fields__]
ENV_VALUES = st.one_of(
    TEXT,
    NUMBER_TEXT,
    st.sampled_from(
        [
            "~",
            "~/x",
            "yes",
            "off",
            "-1",
            "0",
            "1e9",
            "nan",
            "-inf",
            "\x00",
            "ml-100k",
        ]
    ),
)
INT_SETTINGS = (
    "max_tokens", "embed_batch", "exact_index_max", "hnsw_m", "hnsw_ef_search", "factors",
    "mf_epochs", "mf_patience", "seed", "retention_days",
)  # fmt: skip
NON_NEGATIVE = (
    "mf_reg", "mf_rating_reg", "mf_bias_reg", "mf_observed_weight", "mf_unobserved_weight",
    "mf_rating_weight", "popularity_weight", "dislike_weight",
)  # fmt: skip
SHARES = ("alpha", "alpha_new", "item_item_weight", "null_similarity")
DIVISORS = ("popularity_fade", "temperature")
FLOAT_SETTINGS = (*NON_NEGATIVE, *SHARES, *DIVISORS)
BOOL_SETTINGS = ("synopses", "trained_reading")
TEXT_SETTINGS = ("home", *BOOL_SETTINGS, "dataset", "model")  # read apart: see parsed_setting
RANGES = {  # setting -> (what its ConfigError says, whether a value is in range)
    **{n: ("must be between 0 and 1", lambda x: 0 <= x <= 1) for n in SHARES},
    **{
        n: ("must be a positive integer", lambda x: x >= 1)
        for n in INT_SETTINGS
        if n not in ("seed", "retention_days")
    },
    "retention_days": ("must be zero or more", lambda x: x >= 0),
    **{n: ("must be a positive number", lambda x: 0 < x < math.inf) for n in DIVISORS},
    **{n: ("must be zero or more", lambda x: 0 <= x < math.inf) for n in NON_NEGATIVE},
}


def home_expands(raw: str) -> bool:
    """Whether a leading ~ or ~user can be expanded here (a ~user this machine lacks cannot)."""
    first = Path(raw).parts[:1]
    if not first or not first[0].startswith("~") or first[0] == "~":
        return True
    try:
        pwd.getpwnam(first[0][1:])
    except (KeyError, ValueError):  # no such user; a NUL byte or a lone surrogate in the name
        return False
    return True


def parsed_setting(name: str, raw: str) -> tuple[object, str | None]:
    """(value, None) as VIDREC_<NAME>=raw must be read, or (None, what its ConfigError says)."""
    wrong = f"VIDREC_{name.upper()}=.* is not a valid "
    if name == "home":
        return (Path(raw).expanduser(), None) if home_expands(raw) else (None, "cannot expand '~'")
    if name in BOOL_SETTINGS:
        word = raw.strip().lower()
        if word in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return word in ("1", "true", "yes", "on"), None
        return None, wrong + "bool"
    for kind, parse in (("int", int), ("float", float)):
        if name in (INT_SETTINGS if kind == "int" else FLOAT_SETTINGS):
            try:
                return parse(raw), None
            except ValueError:
                return None, wrong + kind
    return raw, None  # dataset, model: any text


def config_verdict(env: dict[str, str]) -> tuple[Refusal | None, dict]:
    """What Config.from_env must do: refuse an unreadable value (any of them may be named
    first), else one out of range, else give a config holding every value set."""
    values, unreadable = {}, []
    for variable, raw in env.items():
        if raw == "":
            continue  # unset
        name = variable.removeprefix("VIDREC_").lower()
        value, problem = parsed_setting(name, raw)
        if problem:
            unreadable.append(f"(?:{problem})")
        values[name] = value
    if unreadable:
        return Refusal(ConfigError, "|".join(unreadable)), {}
    out = [f"{n} {RANGES[n][0]}" for n, v in values.items() if n in RANGES and not RANGES[n][1](v)]
    if out:
        return Refusal(ConfigError, "^(?:" + "|".join(out) + "), got "), {}
    return None, values


@st.composite
def valid_env(draw) -> dict[str, str]:
    """A few settings set to values in their range (as text, maybe padded)."""
    env = {}
    for name in draw(st.lists(st.sampled_from(list(Config.__dataclass_fields__)), max_size=4)):
        if name in INT_SETTINGS:
            raw = str(draw(st.integers(1, 10**6)))
        elif name in FLOAT_SETTINGS:
            raw = repr(draw(st.floats(0.0, 1.0, exclude_min=name in DIVISORS)))
        elif name in BOOL_SETTINGS:
            raw = draw(st.sampled_from(["1", "0", "true", " Yes ", "OFF"]))
        else:
            raw = draw(st.sampled_from(["ml-100k", "~", "/tmp/x", "some-model"]))
        env[f"VIDREC_{name.upper()}"] = raw
    return env


def test_every_setting_has_a_rule_in_the_config_oracle():
    """A new Config field must be taught to the oracle below, or its fuzzing judges it wrong."""
    ruled = {*INT_SETTINGS, *FLOAT_SETTINGS, *TEXT_SETTINGS}
    assert ruled == set(Config.__dataclass_fields__)


def test_config_from_env_gives_a_config_or_raises_config_error():
    def check(tally, env):
        refusal, values = config_verdict(env)
        config = tally.settle(refusal, Config.from_env, env=env)
        for name, value in values.items():
            assert getattr(config, name) == value, name

    anything = st.dictionaries(st.sampled_from(ENV_NAMES), ENV_VALUES, max_size=4)
    fuzz(200, check, (1, valid_env()), (1, anything))


# ---- 4. text paths -----------------------------------------------------------------------------
def assert_one_clean_line(text: str) -> None:
    assert isinstance(text, str)
    assert not CONTROL.search(text), repr(text)
    assert text == text.strip() and "  " not in text, repr(text)


@settings(FUZZ, max_examples=200 * SCALE)
@given(st.one_of(TEXT, st.none(), st.floats(), st.integers()))
def test_clean_text_is_one_trimmed_line(value):
    """Never refuses: controls and lone surrogates become spaces, the ends are trimmed."""
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    assert clean_text(value) == ("" if missing else cleaned(str(value)))


@settings(FUZZ, max_examples=200 * SCALE)
@given(TEXT, TEXT, TEXT, TEXT)
def test_video_text_is_one_clean_line_of_its_parts(title, genres, description, tags):
    text = video_text(title, genres, description, tags)
    assert_one_clean_line(text)
    for word in clean_text(title).split():
        assert word in text
    for joined in (join_genres(genres.split("|")), join_tags(tags)):
        parts = joined.split("|") if joined else []
        assert len(parts) == len(set(parts)) and all(p and not CONTROL.search(p) for p in parts)


def test_video_text_of_100_kb_strings_stays_one_line():
    text = video_text("t\n" * HUGE, "Drama|" * HUGE, "\u202e\x00" * HUGE, "a|" * HUGE)
    assert_one_clean_line(text)


# ---- 5. the recommender API on a real (tiny) build ---------------------------------------------
@pytest.fixture(scope="module")
def rec(tiny_built):
    """conftest's tiny catalog (eight videos, real MiniLM), built once per session."""
    return load_recommender(tiny_built)


TINY_IDS = [v[0] for v in TINY_VIDEOS]  # 1..8
TINY_TITLES = {v[0]: v[1] for v in TINY_VIDEOS}
KNOWN = st.sampled_from(TINY_IDS)
STARS_OK = st.floats(0.5, 5.0)
RATING_KEYS = st.one_of(
    KNOWN,
    st.integers(-(2**70), 2**70),
    TEXT,
    st.floats(),
    st.sampled_from([None, "1", " 2 ", "1.0", np.int64(3), 0, -1, 2**63, True, 1.0, 1.5]),
)
RATING_VALUES = st.one_of(
    STARS_OK,
    st.floats(),
    st.integers(-(2**70), 2**70),
    TEXT,
    st.sampled_from([None, "4", " 3.5 ", "nan", "inf", np.float32(4.5), 0.49, 5.01, True]),
    st.just(10**400),
)
VIEWER = st.dictionaries(KNOWN, STARS_OK, max_size=8)
UNKNOWN_ONLY = st.dictionaries(st.integers(9, 2**63 - 1), STARS_OK, min_size=1, max_size=3)


def unknown_ids(ids) -> Refusal | None:
    """The refusal for whole-number ids the tiny catalog lacks, naming them in order."""
    unknown = [str(api_id(v)) for v in ids if api_id(v) not in TINY_TITLES]
    if unknown:
        return Refusal(UnknownVideoError, re.escape(f"unknown video id(s): {', '.join(unknown)}"))
    return None


def ratings_verdict(ratings: dict) -> Refusal | None:
    """check_ratings: ids must be whole numbers and the stars of known videos real numbers from
    0.5 to 5 (a DataError names either); then every id must be in the catalog."""
    wrong = []
    if any(api_id(v) is None for v in ratings):
        wrong.append(re.escape(WRONG_ID))
    stars = [s for v, s in ratings.items() if api_id(v) in TINY_TITLES]
    if any(real_number(s) is None or not 0.5 <= real_number(s) <= 5 for s in stars):
        wrong.append("stars go from 0.5 to 5")
    if wrong:
        return Refusal(DataError, "|".join(wrong))
    return unknown_ids(ratings)


def test_check_ratings_accepts_only_known_ids_and_valid_stars(rec):
    def check(tally, ratings):
        refusal = ratings_verdict(ratings)
        clean = tally.settle(refusal, rec.check_ratings, ratings)
        if refusal is None:
            assert clean == {api_id(v): real_number(s) for v, s in ratings.items()}
            assert all(type(v) is int and type(s) is float for v, s in clean.items())

    anything = st.dictionaries(RATING_KEYS, RATING_VALUES, max_size=6)
    fuzz(200, check, (2, VIEWER), (1, UNKNOWN_ONLY), (2, anything))


def whole_k(k: object) -> bool:
    """A list length the API takes: an int or numpy int (no bool) from 1 to 1000."""
    return isinstance(k, (int, np.integer)) and not isinstance(k, bool) and 1 <= k <= 1000


def share_ok(value: object) -> bool:
    return real_number(value) is not None and 0 <= real_number(value) <= 1


def recommend_verdict(viewer, k, alpha, diversity, mask) -> Refusal | None:
    """recommend checks the viewer's ratings, then alpha, diversity, k and the filter mask."""
    refusal = ratings_verdict(viewer)
    if refusal is not None:
        return refusal
    for name, value in (("alpha", alpha), ("diversity", diversity)):
        if not (value is None and name == "alpha") and not share_ok(value):
            return Refusal(DataError, f"{name} must be a number from 0 to 1")
    if not whole_k(k):
        return Refusal(DataError, "k must be a whole number from 1 to 1000")
    if mask is not None and (mask.dtype != bool or mask.shape != (len(TINY_IDS),)):
        return Refusal(DataError, f"the filter mask must be {len(TINY_IDS)} booleans")
    return None


MASK_OK = st.one_of(st.none(), st.lists(st.booleans(), min_size=8, max_size=8).map(np.array))
RECOMMEND_VALID = st.tuples(
    VIEWER,
    st.one_of(st.integers(1, 12), st.just(np.int8(4))),
    st.one_of(st.none(), st.floats(0, 1)),
    st.floats(0, 1),
    MASK_OK,
)
RECOMMEND_ANY = st.tuples(
    st.one_of(VIEWER, st.dictionaries(RATING_KEYS, RATING_VALUES, max_size=3)),
    st.one_of(
        st.integers(1, 12),
        st.sampled_from([0, -1, 1001, 10**30, 3.0, "5", None, True, np.int8(4)]),
    ),
    st.one_of(st.none(), st.floats(0, 1), st.floats(), st.sampled_from(["x", True, 2])),
    st.one_of(st.floats(0, 1), st.floats(), st.sampled_from(["x", None, True])),
    st.one_of(
        MASK_OK,
        st.lists(st.booleans(), max_size=12).map(np.array),  # most of the wrong length
        st.lists(st.integers(0, 1), min_size=8, max_size=8).map(np.array),  # not booleans
    ),
)


def test_recommend_returns_at_most_k_unrated_distinct_videos(rec):
    def check(tally, args):
        viewer, k, alpha, diversity, mask = args
        refusal = recommend_verdict(viewer, k, alpha, diversity, mask)
        got = tally.settle(
            refusal, rec.recommend, viewer, k=k, alpha=alpha, diversity=diversity, allowed=mask
        )
        if refusal is not None:
            return
        ids = got["video_id"].tolist()
        rated = {api_id(v) for v in viewer}
        candidates = set(rec.video_ids if mask is None else rec.video_ids[mask]) - rated
        assert len(ids) == min(int(k), len(candidates)) and len(set(ids)) == len(ids)
        assert set(ids) <= candidates  # never a rated video, never one the filter hides
        parts = got[["content_score", "collab_score", "popularity_score"]].to_numpy()
        assert np.isfinite(got["score"]).all() and np.isfinite(parts).all()
        np.testing.assert_allclose(parts.sum(axis=1), got["score"], atol=1e-4)
        assert got["predicted_rating"].between(1, 5).all()

    fuzz(150, check, (1, RECOMMEND_VALID), (1, RECOMMEND_ANY))


IDS = st.one_of(KNOWN, st.integers(-(2**70), 2**70), st.sampled_from([np.int64(2), 0, -5]))


def ids_verdict(video_ids: list) -> Refusal | None:
    """Look-ups by id: every id a whole number (DataError), then every one known."""
    if any(api_id(v) is None for v in video_ids):
        return Refusal(DataError, re.escape(WRONG_ID))
    return unknown_ids(video_ids)


def test_predict_gives_stars_for_known_ids_or_names_the_unknown(rec):
    def check(tally, args):
        viewer, video_ids = args
        refusal = ids_verdict(video_ids)
        stars = tally.settle(refusal, rec.predict, viewer, video_ids)
        if refusal is None:
            assert stars.shape == (len(video_ids),)
            assert np.isfinite(stars).all() and ((stars >= 1) & (stars <= 5)).all()

    known = st.lists(KNOWN, max_size=5)
    fuzz(
        100, check, (1, st.tuples(VIEWER, known)), (1, st.tuples(VIEWER, st.lists(IDS, max_size=5)))
    )


def test_similar_never_returns_the_video_itself(rec):
    some_k = st.one_of(st.integers(1, 10), st.sampled_from([0, 1001, 2.5, None, True]))

    def check(tally, args):
        video_id, k = args
        refusal = ids_verdict([video_id])
        if refusal is None and not whole_k(k):
            refusal = Refusal(DataError, "k must be a whole number from 1 to 1000")
        got = tally.settle(refusal, rec.videos.similar, video_id, k)
        if refusal is None:
            ids = got["video_id"].tolist()
            assert len(ids) == min(k, len(TINY_IDS) - 1) and len(set(ids)) == len(ids)
            assert api_id(video_id) not in ids and set(ids) <= set(TINY_IDS)
            sims = got["similarity"].to_numpy()
            assert np.isfinite(sims).all() and (np.diff(sims) <= 1e-6).all()

    fuzz(100, check, (1, st.tuples(KNOWN, st.integers(1, 1000))), (1, st.tuples(IDS, some_k)))


SEARCHABLE = st.one_of(
    PRINTABLE.filter(str.strip),
    st.sampled_from(
        [
            "space robots",
            "r\u00f6b\u00f6ts \U0001f916 \u202e\u05d0\u05d1",
            "\ud83d!",  # half an emoji
            "robot " * (HUGE // 6),
            "\U0001f3ac" * HUGE,
            "e" + "\u0301" * HUGE,
        ]
    ),
)
UNSEARCHABLE = st.one_of(  # mostly: blank once cleaned, or not text
    TEXT,
    st.sampled_from(["\x00" * 50, "\ud83d", "\u2028 \x85", "\t" * HUGE, None, 3, b"space"]),
)


def search_verdict(text: object) -> Refusal | None:
    """Search takes any string with something left once controls and lone surrogates in its
    first 10,000 characters are blanked."""
    if not isinstance(text, str):
        return Refusal(DataError, "search text must be a string")
    kept = "".join(" " if unicodedata.category(c) in ("Cc", "Cs") else c for c in text[:10_000])
    return None if kept.strip() else Refusal(DataError, "search text is empty")


def test_search_of_any_text_ranks_catalog_videos(rec):
    def check(tally, args):
        text, k = args
        refusal = search_verdict(text)
        got = tally.settle(refusal, rec.videos.search, text, k)
        if refusal is None:
            ids = got["video_id"].tolist()
            assert len(ids) == min(k, len(TINY_IDS)) and len(set(ids)) == len(ids)
            assert set(ids) <= set(TINY_IDS)
            sims = got["similarity"].to_numpy()
            assert np.isfinite(sims).all() and (np.abs(sims) <= 1.001).all()

    k = st.integers(1, 10)
    fuzz(30, check, (1, st.tuples(SEARCHABLE, k)), (1, st.tuples(UNSEARCHABLE, k)))  # Transformer


def title_answer(text: str) -> tuple[Refusal | None, int | None]:
    """find_title: one exact title, else one ignoring case, else one containing the text."""
    query = re.sub("[\ud800-\udfff]", "?", text.strip())
    if len(query) > 1_000:
        return Refusal(UnknownVideoError, "titles are shorter"), None
    matches = (
        lambda title: title == query,
        lambda title: title.lower() == query.lower(),
        lambda title: bool(query) and query.lower() in title.lower(),
    )
    hits = []
    for match in matches:
        hits = [vid for vid, title in TINY_TITLES.items() if match(title)]
        if len(hits) == 1:
            return None, hits[0]
    if hits:
        return Refusal(UnknownVideoError, f"matches {len(hits)} titles"), None
    return Refusal(UnknownVideoError, "no video titled"), None


@st.composite
def title_queries(draw) -> str:
    """A catalog title (two times in three) or a piece of one, in any case, maybe padded."""
    title = draw(st.sampled_from(list(TINY_TITLES.values())))
    if not draw(st.integers(0, 2)):
        start = draw(st.integers(0, len(title) - 1))
        title = title[start : draw(st.integers(start + 1, len(title)))]
    cases = draw(st.lists(st.booleans(), min_size=len(title), max_size=len(title)))
    title = "".join(c.upper() if up else c.lower() for c, up in zip(title, cases))
    pad = draw(st.sampled_from(["", " ", "\t", " \n "]))
    return pad + title + pad


def test_find_title_returns_a_catalog_id_or_unknown_video_error(rec):
    def check(tally, text):
        refusal, expected = title_answer(text)
        assert tally.settle(refusal, rec.videos.find_title, text) == expected

    anything = st.one_of(PRINTABLE, TRICKY_UTF8, st.sampled_from(["space", " Horror", "o"]))
    fuzz(100, check, (1, title_queries()), (1, anything))


GENRE_LISTS = st.one_of(
    st.lists(st.sampled_from(["Drama", "Sci-Fi", "Horror", "Comedy"]), max_size=4),
    st.lists(TEXT, max_size=2),
    TEXT,
)


def new_video_verdict(title, description, genres) -> Refusal | None:
    """new_video: a title left once cleaned, of at most 300 characters; a description of at most
    5,000; genres (None for none) all from the catalog's genre list."""
    title = cleaned(title) if isinstance(title, str) else ""
    description = cleaned(description) if isinstance(description, str) else ""
    if not title:
        return Refusal(DataError, "a new video needs a title")
    if len(title) > 300:
        return Refusal(DataError, f"the title is {len(title)} characters; the limit is 300")
    if len(description) > 5_000:
        return Refusal(DataError, f"the description is {len(description)} characters")
    if any(g not in GENRES for g in ([] if genres is None else list(genres))):
        return Refusal(DataError, "unknown genre")
    return None


def test_new_video_from_any_text_is_embedded_or_refused(rec):
    valid = st.tuples(
        PRINTABLE.filter(cleaned),
        st.one_of(PRINTABLE, st.none()),
        st.one_of(st.none(), st.lists(st.sampled_from(GENRES), max_size=3)),
    )
    anything = st.tuples(
        st.one_of(TEXT, st.just("T" * HUGE), st.sampled_from([None, 5])),
        st.one_of(TEXT, st.just("\u202e" * HUGE), st.sampled_from([None, 5])),
        GENRE_LISTS,
    )

    def check(tally, args):
        title, description, genres = args
        refusal = new_video_verdict(title, description, genres)
        video = tally.settle(refusal, new_video, rec, title, description, genres)
        if refusal is not None:
            return
        assert video.title == cleaned(title)
        assert video.description == (cleaned(description) if isinstance(description, str) else "")
        assert video.genres == "|".join(dict.fromkeys(genres or []))
        assert_one_clean_line(video.text)
        assert np.isclose(np.linalg.norm(video.embedding), 1, atol=1e-4)
        assert np.isfinite(video.factors).all() and math.isfinite(video.bias)

    fuzz(50, check, (1, valid), (4, anything))  # each valid one runs the Transformer


# ---- 6. regressions: inputs this suite found crashing or silently misread --------------------
def bug(file: str, problem: str, call, name: str, *, refused=None, says_=None, check=None):
    """A case that once failed in ``file`` as ``problem`` says, with the one outcome it must now
    have: refused with exactly the class ``refused``, its message containing ``says_``; or
    accepted, ``check`` holding for the result. call(rec) runs on the tiny rec."""
    assert (refused is None) != (check is None), name
    verdict = None if refused is None else Refusal(refused, re.escape(says_))
    return pytest.param(call, verdict, check, id=name)


def recommender_with(rec, **changes):
    """A shallow copy of the shared recommender with some settings changed."""
    view = copy.copy(rec)
    view.config = rec.config.replace(**changes)
    return view


def lists_the_added_video(top: pd.DataFrame) -> bool:
    """Eight unrated videos of nine (the eight plus Robot Opera), the new one among them."""
    ids = top["video_id"].tolist()
    return len(ids) == 8 and 10_000_000 in ids and 1 not in ids


FOUND_BUGS = [
    bug("recommender.py", "check_ratings: int(inf) raises OverflowError",
        lambda rec: rec.check_ratings({math.inf: 3.0}), "check_ratings-inf-id",
        refused=DataError, says_=f"{WRONG_ID}, got inf"),
    bug("recommender.py", "check_ratings: float(10**400) raises OverflowError",
        lambda rec: rec.check_ratings({1: 10**400}), "check_ratings-huge-stars",
        refused=DataError, says_="stars go from 0.5 to 5"),
    bug("recommender.py", "check_ratings: int(1.5) silently rates video 1",
        lambda rec: rec.check_ratings({1.5: 4.0}), "check_ratings-fractional-id",
        refused=DataError, says_=f"{WRONG_ID}, got 1.5"),
    bug("recommender.py", "check_ratings: True is taken as video 1",
        lambda rec: rec.check_ratings({True: 4.0}), "check_ratings-bool-id",
        refused=DataError, says_=f"{WRONG_ID}, got True"),
    bug("recommender.py", "check_ratings: stars True is taken as 1 star",
        lambda rec: rec.check_ratings({1: True}), "check_ratings-bool-stars",
        refused=DataError, says_="rating for video 1 is True; stars go from 0.5 to 5"),
    bug("recommender.py", "recommend: float('x') raises ValueError",
        lambda rec: rec.recommend({1: 5.0}, alpha="x"), "recommend-text-alpha",
        refused=DataError, says_="alpha must be a number from 0 to 1, got 'x'"),
    bug("recommender.py", "recommend: diversity unchecked; max('x', 0.3) raises TypeError",
        lambda rec: rec.recommend({}, diversity="x"), "recommend-text-diversity",
        refused=DataError, says_="diversity must be a number from 0 to 1, got 'x'"),
    bug("recommender.py", "recommend: diversity=inf makes MMR gains NaN; video 5 listed 5 times",
        lambda rec: rec.recommend({1: 5.0}, diversity=math.inf), "recommend-inf-diversity",
        refused=DataError, says_="diversity must be a number from 0 to 1, got inf"),
    bug("recommender.py", "recommend: an allowed mask of the wrong length is used silently",
        lambda rec: rec.recommend({1: 5.0}, allowed=np.ones(3, bool)), "recommend-short-mask",
        refused=DataError, says_="the filter mask must be 8 booleans"),
    bug("recommender.py", "rows_of: int(nan) raises ValueError",
        lambda rec: rec.predict({}, [math.nan]), "predict-nan-id",
        refused=DataError, says_=f"{WRONG_ID}, got nan"),
    bug("recommender.py", "rows_of: int('abc') raises ValueError",
        lambda rec: rec.predict({}, ["abc"]), "predict-text-id",
        refused=DataError, says_=f"{WRONG_ID}, got 'abc'"),
    bug("recommender.py", "rows_of: a nested list reaches int() and raises TypeError",
        lambda rec: rec.predict({}, [[1, 2], [3, 4]]), "predict-2d-ids",
        refused=DataError, says_="video ids must be a flat list, got shape (2, 2)"),
    bug("recommender.py", "rows_of: int(None) raises TypeError",
        lambda rec: rec.videos.similar(None), "similar-none-id",
        refused=DataError, says_=f"{WRONG_ID}, got None"),
    bug("recommender.py", "rows_of: int(1.5) silently finds video 1",
        lambda rec: rec.videos.similar(1.5), "similar-fractional-id",
        refused=DataError, says_=f"{WRONG_ID}, got 1.5"),
    bug("recommender.py", "find_title: pandas cannot encode a lone surrogate (UnicodeEncodeError)",
        lambda rec: rec.videos.find_title("\ud800"), "find_title-surrogate",
        refused=UnknownVideoError, says_="no video titled '?'"),
    bug("recommender.py", "find_title: the message quotes a 100 KB query in full",
        lambda rec: rec.videos.find_title("x" * HUGE), "find_title-100k-message",
        refused=UnknownVideoError, says_="(titles are shorter)"),
    bug("recommender.py + config.py", "popularity_weight divides by popularity_fade "
        "(ZeroDivisionError); Config accepts VIDREC_POPULARITY_FADE=0",
        lambda rec: recommender_with(rec, popularity_fade=0.0).recommend({1: 5.0}),
        "recommend-zero-popularity-fade",
        refused=ConfigError, says_="popularity_fade must be a positive number, got 0.0"),
    bug("coldstart.py", "_checked: iterating genres=None raises TypeError",
        lambda rec: new_video(rec, "Robot Opera", "", None), "new_video-none-genres",
        check=lambda video: (video.title, video.genres) == ("Robot Opera", "")),
    bug("coldstart.py", "new_video: int('abc') raises ValueError",
        lambda rec: new_video(rec, "Robot Opera", video_id="abc"), "new_video-text-id",
        refused=DataError, says_=f"{WRONG_ID}, got 'abc'"),
    bug("coldstart.py", "_checked: the message quotes a 100 KB unknown genre in full",
        lambda rec: new_video(rec, "Robot Opera", "", ["x" * HUGE]), "new_video-100k-genre",
        refused=DataError, says_="unknown genre(s): 'xxxxxxxx"),
    bug("coldstart.py", "with_videos passes the 8x8 item-item weights to a 9-video recommender: "
        "DataError('item-item weights cover 8 videos') for any added video",
        lambda rec: with_videos(rec, [new_video(rec, "Robot Opera")]).recommend({1: 5.0}),
        "with_videos-item-item", check=lists_the_added_video),
    bug("config.py", "Path('~nobody-here').expanduser() raises RuntimeError",
        lambda rec: Config.from_env(env={"VIDREC_HOME": "~nobody-here"}),
        "config-unknown-user-home", refused=ConfigError, says_="home '~nobody-here'"),
    bug("config.py", "the message quotes a 5,000-character value in full",
        lambda rec: Config.from_env(env={"VIDREC_SYNOPSES": "9" * 5_000}),
        "config-long-value-message", refused=ConfigError, says_="is not a valid bool"),
    bug("config.py", "a range error quotes a 4,000-digit number in full",
        lambda rec: Config.from_env(env={"VIDREC_FACTORS": "-" + "9" * 4_000}),
        "config-long-number-message",
        refused=ConfigError, says_="factors must be a positive integer, got -999"),
    bug("config.py", "_parse turned the ~user ConfigError into 'is not a valid Path'",
        lambda rec: Config.from_env(env={"VIDREC_HOME": "~nobody-here"}),
        "config-unknown-user-home-says-why",
        refused=ConfigError, says_="cannot expand '~' on this machine"),
    bug("config.py", "a NUL byte in VIDREC_HOME escaped as a plain ValueError",
        lambda rec: Config.from_env(env={"VIDREC_HOME": "~\x00"}),
        "config-nul-in-home", refused=ConfigError, says_="cannot expand '~'"),
    bug("config.py", "a lone surrogate in VIDREC_HOME escaped as UnicodeEncodeError",
        lambda rec: Config.from_env(env={"VIDREC_HOME": "~\ud800/x"}),
        "config-surrogate-in-home", refused=ConfigError, says_="cannot expand '~'"),
]  # fmt: skip


@pytest.mark.parametrize("call, verdict, check", FOUND_BUGS)
def test_found_bug_stays_fixed(rec, call, verdict, check):
    """Each case has one outcome: refused as its verdict says, or accepted and checked."""
    result = settle(verdict, call, rec)
    if verdict is None:
        assert check(result), repr(result)[:300]
