"""Property-based fuzzing of every user-facing input path.

The contract: for any input a function returns a valid result or raises a ``VidrecError``
subclass whose message a person can read; no other exception type escapes. Where there is a real
invariant (recommend never returns a rated video, an export imports back unchanged) it is checked
too. Every test is derandomised, so CI sees the same cases on every run.
"""

from __future__ import annotations

import codecs
import copy
import csv
import io
import json
import math
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_VIDEOS, tiny_catalog
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
from vidrec.session import ViewerSession
from vidrec.store import ViewerStore, new_viewer_id, valid_id
from vidrec.transfer import export_csv, export_json, parse_import

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


def accepted(fn, *args, **kwargs) -> bool:
    """Whether fn ran without error; False when it raised a readable VidrecError."""
    try:
        fn(*args, **kwargs)
    except VidrecError as err:
        readable(err)
        return False
    return True


def outcome(fn, *args, **kwargs):
    """fn's result, or None when it raised a readable VidrecError; anything else propagates."""
    try:
        return fn(*args, **kwargs)
    except VidrecError as err:
        readable(err)
        return None


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


@st.composite
def table(draw, required: list[str], optional: list[str], ids: list[str] | None):
    """A header and mostly plausible rows; a noisy table also has junk cells and columns.

    ``ids`` None makes a catalog numbered 1, 2, …; otherwise the video ids ratings point at.
    """
    noisy = draw(st.booleans())
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
def catalog_and_ratings(draw, catalog_columns, optional, rating_columns):
    """Two tables that fit together (ratings point at catalog ids) unless noise breaks them."""
    videos = draw(table(catalog_columns, optional, None))
    ids = [str(n) for n in range(1, len(videos))] or ["1"]
    ratings = draw(table(rating_columns, ["timestamp"], ids))
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


def load_files(files: dict[str, bytes]):
    """Write files into a fresh folder and load it: a checked Dataset or None after a DataError."""
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in files.items():
            (Path(tmp) / name).write_bytes(data)
        dataset = outcome(load_folder, Path(tmp))
    if currently_in_test_context():  # shown by --hypothesis-show-statistics
        event("loaded" if dataset is not None else "DataError")
    if dataset is not None:
        check_dataset(dataset)
    return dataset


@settings(FUZZ, max_examples=150 * SCALE)
@given(
    catalog_and_ratings(
        ["video_id", "title"],
        ["year", "genres", "description", "tags"],
        ["user_id", "video_id", "rating"],
    ),
    st.booleans(),
    st.booleans(),
)
def test_own_format_random_tables_load_or_raise_data_error(tables, bom, crlf):
    videos, ratings = tables
    load_files(
        {"videos.csv": csv_bytes(videos, bom, crlf), "ratings.csv": csv_bytes(ratings, bom, crlf)}
    )


@settings(FUZZ, max_examples=60 * SCALE)
@given(catalog_and_ratings(["movieId", "title", "genres"], [], ["userId", "movieId", "rating"]))
def test_ml_latest_random_tables_load_or_raise_data_error(tables):
    movies, ratings = tables
    load_files(
        {
            "movies.csv": csv_bytes(movies, False, False),
            "ratings.csv": csv_bytes(ratings, False, False),
        }
    )


def separated(rows: list[list[str]], sep: str) -> bytes:
    return "".join(sep.join(row) + "\n" for row in rows).encode("latin-1", "replace")


@st.composite
def ml100k_files(draw) -> dict[str, bytes]:
    """u.item, u.data and maybe u.user in GroupLens' layout, noisy half of the time."""
    noisy = draw(st.booleans())

    def row(valid: list) -> list[str]:
        out = [
            draw(cells(v if isinstance(v, st.SearchStrategy) else st.just(v), noisy)) for v in valid
        ]
        if noisy and not draw(st.integers(0, 9)):
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


@settings(FUZZ, max_examples=60 * SCALE)
@given(ml100k_files())
def test_ml100k_random_files_load_or_raise_data_error(files):
    load_files(files)


@settings(FUZZ, max_examples=100 * SCALE)
@given(
    st.sampled_from([b"", b"video_id,title\n", b"video_id,title\n1,"]),
    st.binary(max_size=80),
    st.sampled_from([b"", b"user_id,video_id,rating\n", b"user_id,video_id,rating\n1,1,"]),
    st.binary(max_size=80),
)
def test_binary_junk_loads_or_raises_data_error(video_head, video_junk, rating_head, rating_junk):
    load_files({"videos.csv": video_head + video_junk, "ratings.csv": rating_head + rating_junk})


@pytest.mark.parametrize(
    "videos, ratings",
    [
        (b"", b""),
        (codecs.BOM_UTF8, codecs.BOM_UTF8),
        (b"video_id,title\n", b"user_id,video_id,rating\n"),
        (b"\n\n\n", b" \r\n\t"),
        (b"\x00" * 64, b"\xff\xfe" * 32),
        (b"video_id,title\n" + b"1," + b"x" * HUGE + b"\n", b"user_id,video_id,rating\n1,1,3\n"),
        (b"video_id," + b"t" * HUGE + b"\n1,A\n", b"user_id,video_id,rating\n1,1,3\n"),
        (b"video_id,title\n" + b"9" * HUGE + b",A\n", b"user_id,video_id,rating\n1,1,3\n"),
        (b"video_id,title\n1,A\n1,B\n", b"user_id,video_id,rating\n1,1,3\n"),
        (b"video_id,title\n1,A\n", b"user_id,video_id,rating\n1,1,nan\n1,1,-inf\n"),
        (b"video_id,title\n1,A\n", b"user_id,video_id,rating\n1,1,3\n1,1,4\n2,1,1e308\n"),
        (b'video_id,title\n1,"A\n', b"user_id,video_id,rating\n1,1,3\n"),
        (b"video_id,title\n1,A\n", b"user_id,video_id,rating,timestamp\n1,1,3,1e300\n"),
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
def test_edge_files_load_or_raise_data_error(videos, ratings):
    load_files({"videos.csv": videos, "ratings.csv": ratings})


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


def check_import(data: bytes, filename: str) -> None:
    """parse_import gives valid ratings for catalog videos, or a readable DataError."""
    got = outcome(parse_import, data, filename, IMPORT_CATALOG)
    if got is None:
        return
    assert got, "an import that succeeds has ratings in it"
    assert set(got) <= set(IMPORT_CATALOG["video_id"])
    assert all(type(s) is float and 0.5 <= s <= 5 for s in got.values())


@settings(FUZZ, max_examples=150 * SCALE)
@given(st.binary(max_size=200), FILENAMES)
def test_import_of_arbitrary_bytes(data, filename):
    check_import(data, filename)


@settings(FUZZ, max_examples=150 * SCALE)
@given(JSON_DOC, st.sampled_from(["r.json", "r", "r.csv"]))
def test_import_of_arbitrary_json(doc, filename):
    check_import(json.dumps(doc).encode(), filename)


@settings(FUZZ, max_examples=150 * SCALE)
@given(
    st.lists(st.sampled_from(["video_id", "title", "stars", "Stars", "x", ""]), max_size=4),
    st.lists(st.lists(st.one_of(SMALL_ID, NUMBER_TEXT, CELL), max_size=4), max_size=6),
    st.booleans(),
)
def test_import_of_arbitrary_csv(header, rows, bom):
    check_import(csv_bytes([header, *rows], bom, crlf=False), "r.csv")


@pytest.mark.parametrize(
    "data",
    [
        b"[" * 100_000,
        b'{"ratings": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        b"video_id,stars\n1," + b"9" * HUGE + b"\n",
        b"title,stars\n" + b"x" * HUGE + b",3\n",
        b"stars," + b"h" * HUGE + b"\n3,x\n",
        b"video_id,stars\n" + b"1,3\n" * 30_000,
        b"\x00" * 1_000,
        b'video_id,stars\n1,"3\n',
        b"\xef\xbb\xbf[]",
        b'[{"video_id": 1e999, "stars": NaN}, {"video_id": -1, "stars": Infinity}]',
        b"x" * 1_000_001,
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
def test_import_edge_files(data):
    check_import(data, "r.json" if data.lstrip(b"\xef\xbb\xbf")[:1] in b"[{" else "r.csv")


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


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return ViewerStore(tmp_path_factory.mktemp("store") / "viewers.sqlite3")


@settings(FUZZ, max_examples=100 * SCALE)
@given(
    st.one_of(st.builds(new_viewer_id), TEXT, st.sampled_from([None, 7, b"x" * 22, "A" * 22])),
    st.one_of(st.sampled_from(["persona", "movielens", "new"]), TEXT),
    STORE_TEXT,
    STORE_TEXT,
    st.dictionaries(VIDEO_IDS, STARS, max_size=4),
)
def test_store_start_saves_exactly_what_it_accepts(store, viewer_id, kind, key, label, seed):
    if not accepted(store.start, viewer_id, kind, key, label, seed):
        return
    saved = store.load(viewer_id)
    assert (saved.kind, saved.key, saved.label) == (kind, key, label)
    expected = {int(v): float(s) for v, s in seed.items()}
    assert saved.seed == expected and saved.ratings == expected and saved.added == ()


@settings(FUZZ, max_examples=100 * SCALE)
@given(VIDEO_IDS, STARS, VIDEO_IDS)
def test_store_rating_changes_apply_or_raise_data_error(store, video_id, stars, removed):
    viewer = new_viewer_id()
    store.start(viewer, "new", "", "New viewer", {})
    outcome(store.set_rating, viewer, video_id, stars)
    ratings = store.load(viewer).ratings
    assert len(ratings) <= 1 and all(0.5 <= s <= 5 for s in ratings.values())
    if ratings:
        assert ratings == {int(video_id): float(stars)}
    outcome(store.remove_rating, viewer, removed)
    outcome(store.replace_ratings, viewer, {video_id: stars, removed: stars})
    assert all(0.5 <= s <= 5 for s in store.load(viewer).ratings.values())


@settings(FUZZ, max_examples=100 * SCALE)
@given(
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
def test_store_add_video_keeps_what_it_accepts(store, video_id, title, description, genres):
    viewer = new_viewer_id()
    store.start(viewer, "new", "", "New viewer", {})
    if not accepted(store.add_video, viewer, video_id, title, description, genres):
        assert store.load(viewer).added == ()
        return
    (video,) = store.load(viewer).added
    assert (video.video_id, video.title, video.description) == (video_id, title, description)


@settings(FUZZ, max_examples=60 * SCALE)
@given(st.one_of(TEXT, VIDEO_IDS, st.builds(new_viewer_id), st.just("x" * HUGE)))
def test_store_load_of_any_value_is_none_or_a_viewer(store, value):
    saved = outcome(store.load, value)
    assert saved is None or valid_id(value)


@settings(FUZZ, max_examples=100 * SCALE)
@given(VIDEO_IDS, STARS)
def test_session_rate_stores_a_valid_rating_or_raises_data_error(video_id, stars):
    session = ViewerSession.start("new", "", "New viewer", {})
    if accepted(session.rate, video_id, stars):
        assert session.ratings == {int(video_id): float(stars)}
    assert all(type(v) is int for v in session.ratings)
    assert all(math.isfinite(s) and 1 <= s <= 5 for s in session.ratings.values())
    accepted(session.unrate, video_id)
    assert session.ratings == {}


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


@settings(FUZZ, max_examples=200 * SCALE)
@given(st.dictionaries(st.sampled_from(ENV_NAMES), ENV_VALUES, max_size=4))
def test_config_from_env_gives_a_config_or_raises_config_error(env):
    config = outcome(Config.from_env, env=env)
    if config is not None:
        assert 0 <= config.alpha <= 1 and 0 <= config.item_item_weight <= 1
        assert min(config.factors, config.embed_batch, config.max_tokens, config.mf_epochs) >= 1


# ---- 4. text paths -----------------------------------------------------------------------------
def assert_one_clean_line(text: str) -> None:
    assert isinstance(text, str)
    assert not CONTROL.search(text), repr(text)
    assert text == text.strip() and "  " not in text, repr(text)


@settings(FUZZ, max_examples=200 * SCALE)
@given(st.one_of(TEXT, st.none(), st.floats(), st.integers()))
def test_clean_text_is_one_trimmed_line(value):
    cleaned = clean_text(value)
    assert isinstance(cleaned, str) and not CONTROL.search(cleaned) and encodable(cleaned)
    assert cleaned == cleaned.strip()


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
def rec(tmp_path_factory):
    """conftest's tiny catalog (eight videos, real MiniLM), built once for the whole module."""
    config = tiny_catalog(tmp_path_factory.mktemp("fuzz"))
    return load_recommender(config)


KNOWN = st.sampled_from([v[0] for v in TINY_VIDEOS])
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


@settings(FUZZ, max_examples=200 * SCALE)
@given(st.dictionaries(RATING_KEYS, RATING_VALUES, max_size=6))
def test_check_ratings_accepts_only_known_ids_and_valid_stars(rec, ratings):
    clean = outcome(rec.check_ratings, ratings)
    if clean is None:
        return
    assert clean == {int(v): float(s) for v, s in ratings.items()}
    assert not any(isinstance(v, (bool, str, float)) for v in ratings)  # only whole-number ids
    assert not any(isinstance(s, bool) for s in ratings.values())
    assert all(type(v) is int and v in rec._row and 0.5 <= s <= 5 for v, s in clean.items())


@settings(FUZZ, max_examples=150 * SCALE)
@given(
    st.one_of(VIEWER, st.dictionaries(RATING_KEYS, RATING_VALUES, max_size=3)),
    st.one_of(
        st.integers(1, 12), st.sampled_from([0, -1, 1001, 10**30, 3.0, "5", None, True, np.int8(4)])
    ),
    st.one_of(st.none(), st.floats(0, 1), st.floats()),
    st.one_of(st.floats(0, 1), st.floats(), st.sampled_from(["x", None, True])),  # diversity
    st.one_of(st.none(), st.lists(st.booleans(), min_size=8, max_size=8)),
)
def test_recommend_returns_at_most_k_unrated_distinct_videos(
    rec, viewer, k, alpha, diversity, allowed
):
    mask = None if allowed is None else np.array(allowed)
    got = outcome(rec.recommend, viewer, k=k, alpha=alpha, diversity=diversity, allowed=mask)
    if got is None:
        return
    ids = got["video_id"].tolist()
    rated = {int(v) for v in viewer}  # check_ratings accepted them, so they are whole numbers
    candidates = set(rec.video_ids if mask is None else rec.video_ids[mask]) - rated
    assert len(ids) == min(int(k), len(candidates)) and len(set(ids)) == len(ids)
    assert set(ids) <= candidates  # never a rated video, never one the filter hides
    parts = got[["content_score", "collab_score", "popularity_score"]].to_numpy()
    assert np.isfinite(got["score"]).all() and np.isfinite(parts).all()
    np.testing.assert_allclose(parts.sum(axis=1), got["score"], atol=1e-4)
    assert got["predicted_rating"].between(1, 5).all()


IDS = st.one_of(KNOWN, st.integers(-(2**70), 2**70), st.sampled_from([np.int64(2), 0, -5]))


@settings(FUZZ, max_examples=100 * SCALE)
@given(VIEWER, st.lists(IDS, max_size=5))
def test_predict_gives_stars_for_known_ids_or_names_the_unknown(rec, viewer, video_ids):
    stars = outcome(rec.predict, viewer, video_ids)
    known = all(int(v) in rec._row for v in video_ids)
    if stars is None:
        assert not known
        return
    assert known and stars.shape == (len(video_ids),)
    assert np.isfinite(stars).all() and ((stars >= 1) & (stars <= 5)).all()


@settings(FUZZ, max_examples=100 * SCALE)
@given(IDS, st.one_of(st.integers(1, 10), st.sampled_from([0, 1001, 2.5, None])))
def test_similar_never_returns_the_video_itself(rec, video_id, k):
    got = outcome(rec.similar, video_id, k)
    if got is None:
        return
    ids = got["video_id"].tolist()
    assert int(video_id) not in ids and len(set(ids)) == len(ids) and len(ids) <= k
    sims = got["similarity"].to_numpy()
    assert np.isfinite(sims).all() and (np.diff(sims) <= 1e-6).all()


SEARCH_TEXT = st.one_of(
    TEXT,
    st.sampled_from(
        [
            "space robots",
            "r\u00f6b\u00f6ts \U0001f916 \u202e\u05d0\u05d1",
            "\x00" * 50,
            "\ud83d",  # half an emoji
            "robot " * (HUGE // 6),
            "\U0001f3ac" * HUGE,
            "e" + "\u0301" * HUGE,
        ]
    ),
    st.sampled_from([None, 3, b"space"]),
)


@settings(FUZZ, max_examples=30 * SCALE)  # each search runs the Transformer
@given(SEARCH_TEXT, st.integers(1, 10))
def test_search_of_any_text_ranks_catalog_videos(rec, text, k):
    got = outcome(rec.search, text, k)
    if got is None:
        return
    ids = got["video_id"].tolist()
    assert 1 <= len(ids) <= k and len(set(ids)) == len(ids) and set(ids) <= set(rec.video_ids)
    sims = got["similarity"].to_numpy()
    assert np.isfinite(sims).all() and (np.abs(sims) <= 1.001).all()


@settings(FUZZ, max_examples=100 * SCALE)
@given(st.one_of(PRINTABLE, TRICKY_UTF8, st.sampled_from(["space", "MOON BASE", " Horror"])))
def test_find_title_returns_a_catalog_id_or_unknown_video_error(rec, text):
    found = outcome(rec.find_title, text)
    if found is not None:
        title = rec.catalog.loc[rec.catalog["video_id"] == found, "title"].iat[0]
        assert text.strip().lower() in title.lower()


GENRE_LISTS = st.one_of(
    st.lists(st.sampled_from(["Drama", "Sci-Fi", "Horror", "Comedy"]), max_size=4),
    st.lists(TEXT, max_size=2),
    TEXT,
)


@settings(FUZZ, max_examples=50 * SCALE)
@given(
    st.one_of(TEXT, st.just("T" * HUGE), st.sampled_from([None, 5])),
    st.one_of(TEXT, st.just("\u202e" * HUGE), st.sampled_from([None, 5])),
    GENRE_LISTS,
)
def test_new_video_from_any_text_is_embedded_or_refused(rec, title, description, genres):
    video = outcome(new_video, rec, title, description, genres)
    if video is None:
        return
    assert_one_clean_line(video.text)
    assert video.title == clean_text(video.title) and 1 <= len(video.title) <= MAX_TITLE
    assert encodable(video.title) and encodable(video.description)
    assert set(filter(None, video.genres.split("|"))) <= set(GENRES)
    assert np.isclose(np.linalg.norm(video.embedding), 1, atol=1e-4)
    assert np.isfinite(video.factors).all() and math.isfinite(video.bias)


# ---- 6. regressions: inputs this suite found crashing or silently misread, now each refused ------
def bug(file: str, problem: str, call, name: str, refused: bool = False):
    """A case that once failed in ``file`` as ``problem`` says; call(rec) runs on the tiny rec."""
    return pytest.param(call, refused, id=name)


def recommender_with(rec, **changes):
    """A shallow copy of the shared recommender with some settings changed."""
    view = copy.copy(rec)
    view.config = rec.config.replace(**changes)
    return view


def distinct_ids(frame: pd.DataFrame) -> pd.DataFrame:
    assert frame["video_id"].is_unique, frame["video_id"].tolist()
    return frame


def expect(words: str, fn, *args, **kwargs):
    """fn(*args, **kwargs), whose VidrecError must mention ``words`` (the reason, not a guess)."""
    with pytest.raises(VidrecError, match=words) as err:
        fn(*args, **kwargs)
    raise err.value


FOUND_BUGS = [
    bug("recommender.py", "check_ratings: int(inf) raises OverflowError",
        lambda rec: rec.check_ratings({math.inf: 3.0}), "check_ratings-inf-id"),
    bug("recommender.py", "check_ratings: float(10**400) raises OverflowError",
        lambda rec: rec.check_ratings({1: 10**400}), "check_ratings-huge-stars"),
    bug("recommender.py", "check_ratings: int(1.5) silently rates video 1",
        lambda rec: rec.check_ratings({1.5: 4.0}), "check_ratings-fractional-id", refused=True),
    bug("recommender.py", "check_ratings: True is taken as video 1",
        lambda rec: rec.check_ratings({True: 4.0}), "check_ratings-bool-id", refused=True),
    bug("recommender.py", "check_ratings: stars True is taken as 1 star",
        lambda rec: rec.check_ratings({1: True}), "check_ratings-bool-stars", refused=True),
    bug("recommender.py", "recommend: float('x') raises ValueError",
        lambda rec: rec.recommend({1: 5.0}, alpha="x"), "recommend-text-alpha"),
    bug("recommender.py", "recommend: diversity unchecked; max('x', 0.3) raises TypeError",
        lambda rec: rec.recommend({}, diversity="x"), "recommend-text-diversity"),
    bug("recommender.py", "recommend: diversity=inf makes MMR gains NaN; video 5 listed 5 times",
        lambda rec: distinct_ids(rec.recommend({1: 5.0}, diversity=math.inf)),
        "recommend-inf-diversity"),
    bug("recommender.py", "recommend: an allowed mask of the wrong length is used silently",
        lambda rec: rec.recommend({1: 5.0}, allowed=np.ones(3, bool)),
        "recommend-short-mask", refused=True),
    bug("recommender.py", "rows_of: int(nan) raises ValueError",
        lambda rec: rec.predict({}, [math.nan]), "predict-nan-id"),
    bug("recommender.py", "rows_of: int('abc') raises ValueError",
        lambda rec: rec.predict({}, ["abc"]), "predict-text-id"),
    bug("recommender.py", "rows_of: a nested list reaches int() and raises TypeError",
        lambda rec: rec.predict({}, [[1, 2], [3, 4]]), "predict-2d-ids"),
    bug("recommender.py", "rows_of: int(None) raises TypeError",
        lambda rec: rec.similar(None), "similar-none-id"),
    bug("recommender.py", "rows_of: int(1.5) silently finds video 1",
        lambda rec: rec.similar(1.5), "similar-fractional-id", refused=True),
    bug("recommender.py", "find_title: pandas cannot encode a lone surrogate (UnicodeEncodeError)",
        lambda rec: rec.find_title("\ud800"), "find_title-surrogate"),
    bug("recommender.py", "find_title: the message quotes a 100 KB query in full",
        lambda rec: rec.find_title("x" * HUGE), "find_title-100k-message"),
    bug("recommender.py + config.py", "popularity_weight divides by popularity_fade "
        "(ZeroDivisionError); Config accepts VIDREC_POPULARITY_FADE=0",
        lambda rec: recommender_with(rec, popularity_fade=0.0).recommend({1: 5.0}),
        "recommend-zero-popularity-fade"),
    bug("coldstart.py", "_checked: iterating genres=None raises TypeError",
        lambda rec: new_video(rec, "Robot Opera", "", None), "new_video-none-genres"),
    bug("coldstart.py", "new_video: int('abc') raises ValueError",
        lambda rec: new_video(rec, "Robot Opera", video_id="abc"), "new_video-text-id"),
    bug("coldstart.py", "_checked: the message quotes a 100 KB unknown genre in full",
        lambda rec: new_video(rec, "Robot Opera", "", ["x" * HUGE]), "new_video-100k-genre"),
    bug("coldstart.py", "with_videos passes the 8x8 item-item weights to a 9-video recommender: "
        "DataError('item-item weights cover 8 videos') for any added video",
        lambda rec: with_videos(rec, [new_video(rec, "Robot Opera")]).recommend({1: 5.0}),
        "with_videos-item-item", refused=None),
    bug("config.py", "Path('~nobody-here').expanduser() raises RuntimeError",
        lambda rec: Config.from_env(env={"VIDREC_HOME": "~nobody-here"}),
        "config-unknown-user-home"),
    bug("config.py", "the message quotes a 5,000-character value in full",
        lambda rec: Config.from_env(env={"VIDREC_SYNOPSES": "9" * 5_000}),
        "config-long-value-message"),
    bug("config.py", "a range error quotes a 4,000-digit number in full",
        lambda rec: Config.from_env(env={"VIDREC_FACTORS": "-" + "9" * 4_000}),
        "config-long-number-message", refused=True),
    bug("config.py", "_parse turned the ~user ConfigError into 'is not a valid Path'",
        lambda rec: expect("expand", Config.from_env, env={"VIDREC_HOME": "~nobody-here"}),
        "config-unknown-user-home-says-why"),
]  # fmt: skip


@pytest.mark.parametrize("call, refused", FOUND_BUGS)
def test_found_bug_stays_fixed(rec, call, refused):
    """refused True: the call must raise a VidrecError; None: it must simply work."""
    if refused is None:
        call(rec)
        return
    try:
        result = call(rec)
    except VidrecError as err:
        readable(err)
        return
    assert not refused, f"accepted: {result!r}"
