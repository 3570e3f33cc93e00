"""Saved viewers: each viewer's identity, ratings and added videos in SQLite, one change at a time.

A viewer is keyed by a random id carried in the page URL, so a reload, a second tab or a server
restart finds the same state. Added videos are kept as the inputs that re-create them
(``coldstart.new_video``), never as arrays or pickles. Every call opens its own connection, so
one store is safe to share between Streamlit's session threads; WAL lets readers run beside the
single writer, and the busy timeout makes concurrent writers wait instead of failing.

A file at the path that is not a readable SQLite database is moved aside to
``<name>.corrupt-<timestamp>`` (never deleted) and a fresh store is created, with a warning.

Ratings load in the order they were made (a re-rating counts as new), as a session keeps them.
``forget`` erases a viewer for good: every connection runs with ``secure_delete``, so deleted
rows are overwritten with zeros, and a WAL checkpoint then truncates the log that still held
older copies of those pages. ``forget_idle`` does the same for viewers unchanged for N days.
"""

from __future__ import annotations

import logging
import re
import secrets
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from vidrec.data.schema import (
    ADDED_ID_START,
    GENRES,
    MAX_DESCRIPTION,
    MAX_STARS,
    MAX_TITLE,
    MIN_STARS,
    genre_list,
    parse_stars,
)
from vidrec.errors import DataError, video_id_of

log = logging.getLogger(__name__)
STORE_FILE = "viewers.sqlite3"  # the store's file name under the data home
SCHEMA_VERSION = 2  # PRAGMA user_version of the tables below
BUSY_TIMEOUT_S = 10.0  # a writer waits this long for another session's transaction to end
KINDS = ("persona", "movielens", "new")
MAX_KEY, MAX_LABEL = 100, 200
MAX_RATINGS = 20_000  # per bulk write; far above any catalog a demo serves
MAX_ADDED = 100  # added videos per viewer; each is re-embedded when the viewer comes back
_ID_BYTES = 16  # secrets.token_urlsafe(16): 128 random bits, 22 URL-safe characters
_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{22}")
_CORRUPT = (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT)
_DAY_S = 86_400.0  # seconds in a day, for retention

_VIEWER = "viewer_id TEXT NOT NULL REFERENCES viewers(id)"
_STARS = "stars REAL NOT NULL CHECK (stars BETWEEN 0.5 AND 5)"
_POSITION = "position INTEGER NOT NULL DEFAULT 0"  # rating order; version 1 rows keep 0
_SCHEMA = (
    "CREATE TABLE viewers (id TEXT PRIMARY KEY, kind TEXT NOT NULL, key TEXT NOT NULL,"
    " label TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL)",
    f"CREATE TABLE seed_ratings ({_VIEWER}, video_id INTEGER NOT NULL, {_STARS},"
    f" {_POSITION}, PRIMARY KEY (viewer_id, video_id)) WITHOUT ROWID",
    f"CREATE TABLE ratings ({_VIEWER}, video_id INTEGER NOT NULL, {_STARS},"
    f" updated REAL NOT NULL, {_POSITION}, PRIMARY KEY (viewer_id, video_id)) WITHOUT ROWID",
    f"CREATE TABLE added_videos ({_VIEWER}, video_id INTEGER NOT NULL, position INTEGER NOT NULL,"
    " title TEXT NOT NULL, description TEXT NOT NULL, genres TEXT NOT NULL,"
    " PRIMARY KEY (viewer_id, video_id)) WITHOUT ROWID",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
)
_UPGRADES = {  # from version -> statements that bring it to SCHEMA_VERSION
    1: (
        f"ALTER TABLE seed_ratings ADD COLUMN {_POSITION}",
        f"ALTER TABLE ratings ADD COLUMN {_POSITION}",
        f"PRAGMA user_version = {SCHEMA_VERSION}",
    ),
}


@dataclass(frozen=True)
class SavedVideo:
    """The inputs that re-create an added video with ``coldstart.new_video``."""

    video_id: int
    title: str
    description: str
    genres: tuple[str, ...]


@dataclass(frozen=True)
class SavedViewer:
    """A saved viewer as plain data: who they are, their seed and current ratings, added videos."""

    kind: str
    key: str
    label: str
    seed: dict[int, float]  # in the order given
    ratings: dict[int, float]  # in the order they were made, oldest first
    added: tuple[SavedVideo, ...]  # in the order they were added


def new_viewer_id() -> str:
    """A fresh, unguessable viewer id that is safe in a URL."""
    return secrets.token_urlsafe(_ID_BYTES)


def valid_id(viewer_id: object) -> bool:
    """Whether a value (e.g. from the page URL) has the form of a viewer id."""
    return isinstance(viewer_id, str) and _ID_PATTERN.fullmatch(viewer_id) is not None


class ViewerStore:
    """Viewers saved in one SQLite file; every change is one transaction."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        problem = self._damage()
        if problem:
            self._move_aside(problem)
        self._migrate()

    # ---- changes ---------------------------------------------------------------------------
    def start(self, viewer_id: str, kind: str, key: str, label: str, seed: Mapping) -> None:
        """Save who a viewer is and their seed, starting afresh: ratings = seed, nothing added."""
        identity = _checked_identity(kind, key, label)
        rows = _checked_ratings(seed)
        _check_id(viewer_id)
        now = time.time()
        with self._db(write=True) as conn:
            conn.execute(
                "INSERT INTO viewers (id, kind, key, label, created, updated)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
                " kind = excluded.kind, key = excluded.key, label = excluded.label,"
                " updated = excluded.updated",
                (viewer_id, *identity, now, now),
            )
            conn.execute("DELETE FROM seed_ratings WHERE viewer_id = ?", (viewer_id,))
            conn.executemany(
                "INSERT INTO seed_ratings (viewer_id, video_id, stars, position)"
                " VALUES (?, ?, ?, ?)",
                [(viewer_id, v, s, n) for n, (v, s) in enumerate(rows, 1)],
            )
            _reset(conn, viewer_id, now)

    def set_rating(self, viewer_id: str, video_id: int, stars: float) -> None:
        """Record (or change) one rating; either way it becomes the viewer's newest."""
        row = (viewer_id, video_id_of(video_id), _checked_stars(stars, video_id))
        with self._change(viewer_id) as (conn, now):
            conn.execute(
                "INSERT OR REPLACE INTO ratings (viewer_id, video_id, stars, updated, position)"
                " VALUES (?, ?, ?, ?, (SELECT coalesce(max(position), 0) + 1 FROM ratings"
                " WHERE viewer_id = ?))",
                (*row, now, viewer_id),
            )

    def remove_rating(self, viewer_id: str, video_id: int) -> None:
        """Forget one rating (no error if there was none)."""
        vid = video_id_of(video_id)
        with self._change(viewer_id) as (conn, _):
            conn.execute(
                "DELETE FROM ratings WHERE viewer_id = ? AND video_id = ?", (viewer_id, vid)
            )

    def replace_ratings(self, viewer_id: str, ratings: Mapping) -> None:
        """Swap in a whole set of ratings (an import), kept in the order given: all or none."""
        rows = _checked_ratings(ratings)
        with self._change(viewer_id) as (conn, now):
            conn.execute("DELETE FROM ratings WHERE viewer_id = ?", (viewer_id,))
            conn.executemany(
                "INSERT INTO ratings (viewer_id, video_id, stars, updated, position)"
                " VALUES (?, ?, ?, ?, ?)",
                [(viewer_id, v, s, now, n) for n, (v, s) in enumerate(rows, 1)],
            )

    def reset(self, viewer_id: str) -> None:
        """Back to the seed ratings, with no added videos."""
        with self._change(viewer_id) as (conn, now):
            _reset(conn, viewer_id, now)

    def add_video(
        self, viewer_id: str, video_id: int, title: str, description: str, genres: Sequence[str]
    ) -> None:
        """Keep the inputs of a viewer-added video, after those added before it."""
        row = _checked_video(video_id, title, description, genres)
        with self._change(viewer_id) as (conn, _):
            taken = conn.execute(
                "SELECT count(*), max(position), sum(video_id = ?) FROM added_videos"
                " WHERE viewer_id = ?",
                (row[0], viewer_id),
            ).fetchone()
            if taken[2]:
                raise DataError(f"video id {row[0]} is already one of this viewer's videos")
            if taken[0] >= MAX_ADDED:
                raise DataError(f"a viewer can add at most {MAX_ADDED} videos")
            position = 0 if taken[1] is None else taken[1] + 1
            conn.execute(
                "INSERT INTO added_videos"
                " (viewer_id, video_id, position, title, description, genres)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (viewer_id, row[0], position, *row[1:]),
            )

    # ---- forgetting ------------------------------------------------------------------------
    def forget(self, viewer_id: str) -> bool:
        """Erase a viewer: identity, ratings and added videos, overwritten in the file.

        Returns False when no viewer has this id; DataError for a malformed id.
        """
        _check_id(viewer_id)
        with self._db(write=True) as conn:
            found = _delete(conn, "id = ?", (viewer_id,))
        if found:
            self._scrub()
        return bool(found)

    def forget_idle(self, days: float) -> int:
        """Erase every viewer unchanged for ``days`` days (0 keeps everyone); how many went."""
        if not days > 0:
            return 0
        cutoff = time.time() - days * _DAY_S
        with self._db(write=True) as conn:
            gone = _delete(conn, "updated < ?", (cutoff,))
        if gone:
            self._scrub()
            log.info("forgot %d viewer(s) idle for %g days or more", gone, days)
        return gone

    def _scrub(self) -> None:
        """Fold the WAL into the file and truncate it, so no older copy of a page stays there."""
        try:
            with closing(self._connect()) as conn:
                busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except sqlite3.Error as e:
            raise DataError(f"the viewer store {self.path} failed: {e}") from e
        if busy:  # a reader held an old snapshot past the busy timeout
            log.warning(
                "viewer store %s: a reader kept the WAL in use, so older copies of erased rows "
                "stay in its -wal file until a later checkpoint",
                self.path,
            )

    # ---- reading ---------------------------------------------------------------------------
    def load(self, viewer_id: object) -> SavedViewer | None:
        """A saved viewer's state, or None for an id that is malformed or not saved here."""
        if not valid_id(viewer_id):
            return None
        with self._db(write=False) as conn:
            who = conn.execute(
                "SELECT kind, key, label FROM viewers WHERE id = ?", (viewer_id,)
            ).fetchone()
            if who is None:
                return None
            seed = _ratings(conn, "seed_ratings", viewer_id)
            ratings = _ratings(conn, "ratings", viewer_id)
            added = conn.execute(
                "SELECT video_id, title, description, genres FROM added_videos"
                " WHERE viewer_id = ? ORDER BY position",
                (viewer_id,),
            ).fetchall()
        videos = tuple(SavedVideo(v, t, d, tuple(genre_list(g))) for v, t, d, g in added)
        return SavedViewer(*who, seed=seed, ratings=ratings, added=videos)

    # ---- connections -----------------------------------------------------------------------
    @contextmanager
    def _db(self, write: bool) -> Iterator[sqlite3.Connection]:
        """A new connection inside one transaction; sqlite errors become DataError."""
        try:
            with closing(self._connect()) as conn:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield conn
                    conn.execute("COMMIT")
                finally:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
        except sqlite3.Error as e:
            raise DataError(f"the viewer store {self.path} failed: {e}") from e

    @contextmanager
    def _change(self, viewer_id: str) -> Iterator[tuple[sqlite3.Connection, float]]:
        """One write transaction on a viewer that must already be saved; marks it updated."""
        _check_id(viewer_id)
        now = time.time()
        with self._db(write=True) as conn:
            touched = conn.execute(
                "UPDATE viewers SET updated = ? WHERE id = ?", (now, viewer_id)
            ).rowcount
            if not touched:
                raise DataError(f"no saved viewer has id {viewer_id}; start a new viewer")
            yield conn, now

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA secure_delete = ON")  # deleted rows are zeroed, not left as free space
        return conn

    # ---- opening ---------------------------------------------------------------------------
    def _damage(self) -> str | None:
        """Why the existing file is not a readable SQLite database, or None when it is fine."""
        if not self.path.exists():
            return None
        try:
            with closing(self._connect()) as conn:
                found = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
        except sqlite3.DatabaseError as e:
            if getattr(e, "sqlite_errorcode", None) in _CORRUPT:
                return str(e)
            raise DataError(f"cannot open the viewer store {self.path}: {e}") from e
        return None if found == ["ok"] else "; ".join(found[:3])

    def _move_aside(self, problem: str) -> None:
        """Keep a damaged file (and its WAL files) under a new name so a fresh store can start."""
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            part = Path(f"{self.path}{suffix}")
            if part.exists():
                part.rename(f"{target}{suffix}")
        log.warning("viewer store %s is damaged (%s); moved to %s", self.path, problem, target)

    def _migrate(self) -> None:
        """Create the tables in an empty file, refuse files that are not ours, then turn on WAL."""
        with self._db(write=True) as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if version == 0 and tables == 0:
                for statement in _SCHEMA:
                    conn.execute(statement)
            elif version in _UPGRADES:
                for statement in _UPGRADES[version]:
                    conn.execute(statement)
            elif version != SCHEMA_VERSION:
                raise DataError(
                    f"{self.path} is not a viewer store this version of vidrec can use "
                    f"(schema version {version}, expected {SCHEMA_VERSION}); "
                    "move it away or set VIDREC_HOME to another folder"
                )
        try:
            with closing(self._connect()) as conn:  # journal_mode cannot change in a transaction
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.Error as e:
            raise DataError(f"cannot switch the viewer store {self.path} to WAL: {e}") from e
        if mode != "wal":
            raise DataError(f"the viewer store {self.path} cannot use WAL (got {mode})")


def _reset(conn: sqlite3.Connection, viewer_id: str, now: float) -> None:
    """Ratings back to the seed, added videos dropped (inside the caller's transaction)."""
    conn.execute("DELETE FROM ratings WHERE viewer_id = ?", (viewer_id,))
    conn.execute(
        "INSERT INTO ratings (viewer_id, video_id, stars, updated, position)"
        " SELECT viewer_id, video_id, stars, ?, position FROM seed_ratings WHERE viewer_id = ?",
        (now, viewer_id),
    )
    conn.execute("DELETE FROM added_videos WHERE viewer_id = ?", (viewer_id,))


def _delete(conn: sqlite3.Connection, which: str, args: tuple) -> int:
    """Delete the viewers matching ``which`` and all their rows; how many viewers there were."""
    chosen = f"SELECT id FROM viewers WHERE {which}"
    for table in ("added_videos", "ratings", "seed_ratings"):
        conn.execute(f"DELETE FROM {table} WHERE viewer_id IN ({chosen})", args)
    return conn.execute(f"DELETE FROM viewers WHERE {which}", args).rowcount


def _ratings(conn: sqlite3.Connection, table: str, viewer_id: str) -> dict[int, float]:
    """Ratings in the order they were made (version 1 rows, all at 0, by time, then by id)."""
    query = (
        f"SELECT video_id, stars FROM {table} WHERE viewer_id = ?"
        f" ORDER BY position, {'updated, ' if table == 'ratings' else ''}video_id"
    )
    return {int(v): float(s) for v, s in conn.execute(query, (viewer_id,))}


def _check_id(viewer_id: object) -> None:
    if not valid_id(viewer_id):
        raise DataError("that is not a viewer id; start a new viewer to get one")


def _checked_identity(kind: object, key: object, label: object) -> tuple[str, str, str]:
    if kind not in KINDS:
        raise DataError(f"viewer kind must be one of {', '.join(KINDS)}")
    for name, value, limit in (("key", key, MAX_KEY), ("label", label, MAX_LABEL)):
        if not _is_text(value, limit):
            raise DataError(f"a viewer {name} must be text of at most {limit} characters")
    return kind, key, label


def _is_text(value: object, limit: int) -> bool:
    """Whether a value is text SQLite can store (no lone surrogates) of at most limit characters."""
    if not isinstance(value, str) or len(value) > limit:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _checked_ratings(ratings: Mapping) -> list[tuple[int, float]]:
    """Every (id, stars) pair validated before anything is written."""
    if not isinstance(ratings, Mapping):
        raise DataError(f"ratings must map video ids to stars, got {type(ratings).__name__}")
    if len(ratings) > MAX_RATINGS:
        raise DataError(f"{len(ratings)} ratings; a viewer can have at most {MAX_RATINGS}")
    return [(video_id_of(v), _checked_stars(s, v)) for v, s in dict(ratings).items()]


def _checked_stars(stars: object, video_id: object) -> float:
    value = parse_stars(stars, text=True)
    if value is None:
        raise DataError(
            f"rating for video {video_id} is {str(stars)[:40]!r}; "
            f"stars go from {MIN_STARS:g} to {MAX_STARS:g}"
        )
    return value


def _checked_video(video_id, title, description, genres) -> tuple[int, str, str, str]:
    """An added video's inputs checked against the limits ``coldstart.new_video`` enforces."""
    vid = video_id_of(video_id)
    if vid < ADDED_ID_START:
        raise DataError(f"added video ids start at {ADDED_ID_START}, got {vid}")
    if not _is_text(title, MAX_TITLE) or not title.strip():
        raise DataError(f"an added video needs a title of 1 to {MAX_TITLE} characters")
    if not _is_text(description, MAX_DESCRIPTION):
        raise DataError(f"a description must be text of at most {MAX_DESCRIPTION} characters")
    if not isinstance(genres, (str, Sequence)):
        raise DataError(f"genres must be names like 'Drama', got {type(genres).__name__}")
    names = genre_list(genres) if isinstance(genres, str) else list(genres)  # "A|B" or ["A", "B"]
    unknown = [str(g)[:40] for g in names if g not in GENRES]
    if unknown:
        raise DataError(f"unknown genre(s): {', '.join(unknown[:5])}")
    return vid, title, description, "|".join(names)
