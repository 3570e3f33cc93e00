"""The viewer store: saved state survives a restart, concurrent sessions, damaged files, bad ids."""

import logging
import math
import sqlite3
import threading
import time

import numpy as np
import pytest

from vidrec.data.schema import ADDED_ID_START, parse_stars
from vidrec.errors import DataError
from vidrec.viewer.store import (
    MAX_ADDED,
    SCHEMA_VERSION,
    SavedVideo,
    ViewerStore,
    new_viewer_id,
    valid_id,
)

SEED = {50: 5.0, 181: 4.0}


@pytest.fixture
def path(tmp_path):
    return tmp_path / "home" / "viewers.sqlite3"


@pytest.fixture
def store(path):
    return ViewerStore(path)


@pytest.fixture
def viewer(store):
    vid = new_viewer_id()
    store.start(vid, "persona", "scifi-fan", "Sci-fi fan", SEED)
    return vid


def test_file_uses_wal_and_a_schema_version(store, path):
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2


def test_a_new_viewer_starts_from_the_seed(store, viewer):
    saved = store.load(viewer)
    assert (saved.kind, saved.key, saved.label) == ("persona", "scifi-fan", "Sci-fi fan")
    assert saved.seed == SEED and saved.ratings == SEED and saved.added == ()


def test_state_survives_a_server_restart(store, viewer, path):
    store.set_rating(viewer, 1, 3.5)
    store.set_rating(viewer, 1, 2)
    store.remove_rating(viewer, 50)
    store.remove_rating(viewer, 999)  # never rated: no error
    store.add_video(viewer, ADDED_ID_START, "Robot Opera", "Robots sing.", ["Sci-Fi", "Musical"])
    store.add_video(viewer, ADDED_ID_START + 1, "Quiet Farm", "", "Drama|Western")
    restarted = ViewerStore(path)
    saved = restarted.load(viewer)
    assert list(saved.ratings.items()) == [(181, 4.0), (1, 2.0)]  # in the order made
    assert saved.seed == SEED
    assert saved.added == (
        SavedVideo(ADDED_ID_START, "Robot Opera", "Robots sing.", ("Sci-Fi", "Musical")),
        SavedVideo(ADDED_ID_START + 1, "Quiet Farm", "", ("Drama", "Western")),
    )
    assert restarted.load(viewer) == store.load(viewer)


def test_reset_restores_the_seed_and_drops_added_videos(store, viewer):
    store.set_rating(viewer, 7, 1)
    store.remove_rating(viewer, 181)
    store.add_video(viewer, ADDED_ID_START, "Robot Opera", "", ["Sci-Fi"])
    store.reset(viewer)
    saved = store.load(viewer)
    assert saved.ratings == SEED and saved.added == ()


def test_starting_again_replaces_identity_seed_ratings_and_added(store, viewer):
    store.set_rating(viewer, 7, 1)
    store.add_video(viewer, ADDED_ID_START, "Robot Opera", "", ["Sci-Fi"])
    store.start(viewer, "movielens", "42", "MovieLens user 42", {3: 3.0})
    saved = store.load(viewer)
    assert (saved.kind, saved.key, saved.seed, saved.ratings, saved.added) == (
        "movielens",
        "42",
        {3: 3.0},
        {3: 3.0},
        (),
    )


def test_replace_ratings_is_all_or_nothing(store, viewer):
    store.replace_ratings(viewer, {1: 1.0, 2: 4.5})
    assert store.load(viewer).ratings == {1: 1.0, 2: 4.5}
    with pytest.raises(DataError, match="stars go from 0.5 to 5"):
        store.replace_ratings(viewer, {3: 4.0, 4: 9.0})
    assert store.load(viewer).ratings == {1: 1.0, 2: 4.5}


@pytest.mark.parametrize("stars", [0, 0.4, 5.5, math.nan, math.inf, -math.inf, "x", None, True])
def test_bad_stars_are_rejected_and_nothing_is_written(store, viewer, stars):
    with pytest.raises(DataError):
        store.set_rating(viewer, 1, stars)
    assert store.load(viewer).ratings == SEED


def test_stars_accept_numbers_and_numeric_text_in_range():
    assert [parse_stars(s, text=True) for s in (0.5, 5, "3.5", " 4 ")] == [0.5, 5.0, 3.5, 4.0]
    assert parse_stars(10**400, text=True) is None  # too large for a float


def test_one_star_parser_refuses_text_unless_asked_and_never_takes_booleans():
    assert [parse_stars(s) for s in ("4", True, np.float32(4.5), 0.25, float("nan"))] == [
        None, None, 4.5, None, None,
    ]  # fmt: skip
    assert parse_stars(0.5, low=1.0) is None and parse_stars(1, low=1.0) == 1.0


@pytest.mark.parametrize("video_id", [-1, 1.5, "12", None, True, 2**64])
def test_bad_video_ids_are_rejected(store, viewer, video_id):
    with pytest.raises(DataError, match="video id"):
        store.set_rating(viewer, video_id, 4)


def test_new_ids_are_url_safe_unique_and_valid():
    ids = {new_viewer_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(valid_id(i) for i in ids)


@pytest.mark.parametrize(
    "bad",
    ["", "abc", "x" * 23, "' OR '1'='1' --xxxxxxxx", "a/b?c=d&e#fghijklmnopq", None, 12, b"x" * 22],
)
def test_malformed_ids_are_not_viewers(store, viewer, bad):
    assert not valid_id(bad)
    assert store.load(bad) is None
    with pytest.raises(DataError, match="not a viewer id"):
        store.set_rating(bad, 1, 4)
    with pytest.raises(DataError, match="not a viewer id"):
        store.start(bad, "new", "", "New viewer", {})
    assert store.load(viewer).ratings == SEED  # nothing else touched


def test_unknown_ids_load_as_none_and_cannot_be_changed(store):
    stranger = new_viewer_id()
    assert store.load(stranger) is None
    with pytest.raises(DataError, match="no saved viewer"):
        store.set_rating(stranger, 1, 4)
    with pytest.raises(DataError, match="no saved viewer"):
        store.reset(stranger)
    assert store.load(stranger) is None


def test_text_with_sql_is_stored_as_text(store, viewer, path):
    title = "Robert'); DROP TABLE viewers; --"
    store.add_video(viewer, ADDED_ID_START, title, "'; DELETE FROM ratings; --", ["Drama"])
    assert store.load(viewer).added[0].title == title
    assert ViewerStore(path).load(viewer).ratings == SEED


def test_eight_concurrent_sessions_all_land(store):
    ids = [new_viewer_id() for _ in range(12)]
    errors = []

    def session(vid: str, n: int) -> None:
        try:
            store.start(vid, "new", "", f"viewer {n}", {})
            for video in range(1, 31):
                store.set_rating(vid, video, 1 + (video + n) % 5)
            store.add_video(vid, ADDED_ID_START + n, f"Film {n}", "", ["Drama"])
        except Exception as e:  # noqa: BLE001 - reported below, a thread cannot raise into pytest
            errors.append(e)

    threads = [threading.Thread(target=session, args=(v, n)) for n, v in enumerate(ids)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for n, vid in enumerate(ids):
        saved = store.load(vid)
        assert saved.label == f"viewer {n}" and saved.added[0].video_id == ADDED_ID_START + n
        assert saved.ratings == {v: float(1 + (v + n) % 5) for v in range(1, 31)}


def test_a_writer_waits_for_another_transaction_instead_of_failing(store, viewer, path):
    """The write lands, and only after the transaction holding the lock has committed."""
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    events, errors = [], []

    def write() -> None:
        try:
            store.set_rating(viewer, 1, 4)
            events.append("write")
        except Exception as e:  # noqa: BLE001 - reported below, a thread cannot raise into pytest
            errors.append(e)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        writer.join(0.3)  # while the lock is held the writer cannot finish
        waiting = writer.is_alive()
    finally:
        events.append("commit")
        blocker.execute("COMMIT")
    writer.join()
    blocker.close()
    assert waiting and errors == [] and events == ["commit", "write"]
    assert store.load(viewer).ratings[1] == 4.0


def _garbage(path):
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database\x00" * 200)


def _damaged_page(path):
    store = ViewerStore(path)
    for _ in range(20):
        store.start(new_viewer_id(), "new", "", "x" * 150, dict.fromkeys(range(1, 200), 3.0))
    with path.open("r+b") as f:  # the file header stays valid; the first table's root page does not
        f.seek(4096)
        f.write(b"\xff" * 4096)


@pytest.mark.parametrize("damage", [_garbage, _damaged_page])
def test_a_damaged_file_is_moved_aside_and_a_fresh_store_starts(path, caplog, damage):
    damage(path)
    before = path.read_bytes()
    with caplog.at_level(logging.WARNING, logger="vidrec.viewer.store"):
        store = ViewerStore(path)
    kept = list(path.parent.glob("viewers.sqlite3.corrupt-*"))
    assert [p.read_bytes() for p in kept] == [before]  # nothing lost
    assert "damaged" in caplog.text and kept[0].name in caplog.text
    vid = new_viewer_id()
    store.start(vid, "new", "", "New viewer", {1: 3.0})
    assert ViewerStore(path).load(vid).ratings == {1: 3.0}


def test_a_database_from_a_newer_version_is_refused_untouched(path):
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    before = path.read_bytes()
    with pytest.raises(DataError, match="schema version 99"):
        ViewerStore(path)
    assert path.read_bytes() == before


def test_another_apps_database_is_refused(path):
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(DataError, match="not a viewer store"):
        ViewerStore(path)


@pytest.mark.parametrize(
    "video_id, title, description, genres, message",
    [
        (5, "Film", "", ["Drama"], "start at"),
        (ADDED_ID_START, "  ", "", ["Drama"], "title"),
        (ADDED_ID_START, "x" * 301, "", ["Drama"], "title"),
        (ADDED_ID_START, "Film", "x" * 5001, ["Drama"], "description"),
        (ADDED_ID_START, "Film", "", ["Drama", "Opera"], "unknown genre"),
    ],
)
def test_added_videos_are_checked(store, viewer, video_id, title, description, genres, message):
    with pytest.raises(DataError, match=message):
        store.add_video(viewer, video_id, title, description, genres)
    assert store.load(viewer).added == ()


def test_added_video_ids_are_unique_and_their_number_is_capped(store, viewer):
    store.add_video(viewer, ADDED_ID_START, "Film", "", [])
    with pytest.raises(DataError, match="already"):
        store.add_video(viewer, ADDED_ID_START, "Another", "", [])
    for n in range(1, MAX_ADDED):
        store.add_video(viewer, ADDED_ID_START + n, f"Film {n}", "", [])
    with pytest.raises(DataError, match=f"at most {MAX_ADDED}"):
        store.add_video(viewer, ADDED_ID_START + MAX_ADDED, "One too many", "", [])
    assert len(store.load(viewer).added) == MAX_ADDED


@pytest.mark.parametrize(
    "kind, key, label", [("admin", "", "x"), ("new", "k" * 101, "x"), ("new", "", None)]
)
def test_identity_is_checked(store, kind, key, label):
    with pytest.raises(DataError, match="viewer"):
        store.start(new_viewer_id(), kind, key, label, {})


def test_ratings_come_back_in_the_order_they_were_made_not_by_id(store, viewer, path):
    """Regression (issue 25): after a reload "Your ratings" came back in video-id order."""
    for video, stars in ((300, 4), (7, 2), (120, 5)):
        store.set_rating(viewer, video, stars)
    store.set_rating(viewer, 50, 3)  # a seed video re-rated becomes the newest, as in a session
    assert list(ViewerStore(path).load(viewer).ratings) == [181, 300, 7, 120, 50]
    store.remove_rating(viewer, 300)
    store.set_rating(viewer, 300, 1)  # rated again after removal: newest again
    assert list(store.load(viewer).ratings) == [181, 7, 120, 50, 300]


def test_imports_seeds_and_resets_keep_the_order_given(store, viewer):
    store.replace_ratings(viewer, {9: 1.0, 3: 2.0, 6: 3.0})
    assert list(store.load(viewer).ratings) == [9, 3, 6]
    store.start(viewer, "persona", "p", "P", {181: 4.0, 50: 5.0, 2: 1.0})
    store.set_rating(viewer, 1, 4)
    store.reset(viewer)
    saved = store.load(viewer)
    assert list(saved.seed) == list(saved.ratings) == [181, 50, 2]


def test_a_version_1_store_is_upgraded_in_place_and_keeps_everything(path):
    """A store from before ratings kept their order: same rows, ordered by when they were made."""
    path.parent.mkdir(parents=True)
    vid = new_viewer_id()
    with sqlite3.connect(path) as conn:
        for statement in V1_SCHEMA:
            conn.execute(statement)
        conn.execute("INSERT INTO viewers VALUES (?, 'new', '', 'New viewer', 1.0, 3.0)", (vid,))
        conn.executemany(
            "INSERT INTO ratings VALUES (?, ?, ?, ?)", [(vid, 9, 4.0, 2.0), (vid, 5, 3.0, 1.0)]
        )
    store = ViewerStore(path)
    assert list(store.load(vid).ratings.items()) == [(5, 3.0), (9, 4.0)]
    store.set_rating(vid, 1, 2)
    assert list(ViewerStore(path).load(vid).ratings) == [5, 9, 1]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


V1_SCHEMA = (  # what version 1 created, verbatim
    "CREATE TABLE viewers (id TEXT PRIMARY KEY, kind TEXT NOT NULL, key TEXT NOT NULL,"
    " label TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL)",
    "CREATE TABLE seed_ratings (viewer_id TEXT NOT NULL REFERENCES viewers(id),"
    " video_id INTEGER NOT NULL, stars REAL NOT NULL CHECK (stars BETWEEN 0.5 AND 5),"
    " PRIMARY KEY (viewer_id, video_id)) WITHOUT ROWID",
    "CREATE TABLE ratings (viewer_id TEXT NOT NULL REFERENCES viewers(id),"
    " video_id INTEGER NOT NULL, stars REAL NOT NULL CHECK (stars BETWEEN 0.5 AND 5),"
    " updated REAL NOT NULL, PRIMARY KEY (viewer_id, video_id)) WITHOUT ROWID",
    "CREATE TABLE added_videos (viewer_id TEXT NOT NULL REFERENCES viewers(id),"
    " video_id INTEGER NOT NULL, position INTEGER NOT NULL, title TEXT NOT NULL,"
    " description TEXT NOT NULL, genres TEXT NOT NULL,"
    " PRIMARY KEY (viewer_id, video_id)) WITHOUT ROWID",
    "PRAGMA user_version = 1",
)


# ---- forgetting ----------------------------------------------------------------------------
def _files(path) -> bytes:
    """Every byte SQLite keeps for the store: the file and any WAL, index or journal beside it."""
    parts = [path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))]
    return b"".join(p.read_bytes() for p in parts if p.exists())


def _crowded(store) -> list[str]:
    """Twenty viewers with hundreds of ratings and long added videos: tables of many pages, and
    a WAL holding several versions of each."""
    ids = [new_viewer_id() for _ in range(20)]
    for n, vid in enumerate(ids):
        store.start(vid, "persona", f"p{n}", f"Persona {n}", dict.fromkeys(range(1, 120), 4.0))
        store.replace_ratings(vid, {v: 1.0 + v % 5 for v in range(1, 180)})
        store.set_rating(vid, 7, 5)
        for k in range(3):
            title = f"Secret film {n:02d}-{k} of viewer {vid}"
            store.add_video(vid, ADDED_ID_START + k, title, "plot " * 200, ["Drama"])
    return ids


def test_forget_erases_the_viewer_from_every_byte_of_the_files(store, path):
    """Issue 25: after forget, neither the id nor its titles are anywhere in the files."""
    ids = _crowded(store)
    gone, kept = ids[11], ids[12]
    titles = [v.title.encode() for v in store.load(gone).added]
    assert gone.encode() in _files(path) and all(t in _files(path) for t in titles)
    assert store.forget(gone) is True
    data = _files(path)
    assert gone.encode() not in data
    assert not any(t in data for t in titles)
    assert b"Secret film 11-" not in data  # no fragment of a title either
    assert store.load(gone) is None
    assert len(store.load(kept).added) == 3 and len(ViewerStore(path).load(kept).ratings) == 179


def test_forget_an_unknown_or_malformed_id(store, viewer):
    assert store.forget(new_viewer_id()) is False
    with pytest.raises(DataError, match="not a viewer id"):
        store.forget("' OR 1=1 --")
    assert store.load(viewer).ratings == SEED  # nobody else touched
    with pytest.raises(DataError, match="no saved viewer"):
        store.set_rating(viewer if store.forget(viewer) else "", 1, 4)  # forgotten: cannot change


def _age(path, viewer_id: str, days: float) -> None:
    """Make a viewer's last change ``days`` old (a fake clock, kept in the file)."""
    with sqlite3.connect(path) as conn:
        when = time.time() - days * 86_400
        conn.execute("UPDATE viewers SET updated = ? WHERE id = ?", (when, viewer_id))


def test_forget_idle_erases_only_viewers_unchanged_for_that_long(store, path):
    old, recent, fresh = (new_viewer_id() for _ in range(3))
    for vid in (old, recent, fresh):
        store.start(vid, "new", "", "New viewer", {1: 3.0})
        store.add_video(vid, ADDED_ID_START, f"Home movie of {vid}", "", ["Drama"])
    _age(path, old, 31)
    _age(path, recent, 29)
    assert store.forget_idle(0) == 0  # 0 keeps everyone
    assert store.forget_idle(30) == 1
    assert store.load(old) is None and old.encode() not in _files(path)
    assert store.load(recent) is not None and store.load(fresh) is not None
    store.set_rating(recent, 2, 4)  # a change makes it active again
    assert store.forget_idle(1) == 0 and store.forget_idle(30) == 0
