"""Ratings as files: export a viewer's ratings to CSV or JSON and import them back, checked.

An import is all or nothing: every row is checked against the catalog, every problem found is
listed in one DataError, and only a fully valid file yields ratings. Uploads are parsed as text
with ``csv`` and ``json``; nothing in them is ever executed or unpickled.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from typing import NamedTuple

import pandas as pd

from vidrec.data.schema import parse_stars
from vidrec.errors import DataError
from vidrec.viewer.store import MAX_RATINGS

FORMAT, VERSION = "vidrec-ratings", 1  # marker and version written in every JSON export
COLUMNS = ("video_id", "title", "stars")
MAX_BYTES = 1_000_000  # an upload larger than this is refused before it is decoded
MAX_ROWS = MAX_RATINGS  # so an accepted import can always be saved
SHOWN = 5  # problems listed per kind in a message; the rest are only counted
CLIP = 60  # characters of a title or cell echoed back in a message
_FORMULA = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet evaluates cells starting with these
_DIGITS = re.compile(r"\d{1,18}", re.ASCII)


class _Row(NamedTuple):
    where: str  # "line 3" or "item 3", for messages
    video_id: object
    title: object
    stars: object


class _Problems:
    """Row problems grouped by kind, so one message can show a few of each and count the rest."""

    def __init__(self):
        self.by_kind: dict[str, list[str]] = {}

    def add(self, kind: str, item: str) -> None:
        self.by_kind.setdefault(kind, []).append(item)

    def raise_any(self, name: str) -> None:
        """Raise one DataError listing every kind of problem, if there were any."""
        if not self.by_kind:
            return
        lines = [f"{name}: nothing was imported; fix these rows and try again:"]
        for kind, items in self.by_kind.items():
            more = f" … and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
            lines.append(f"- {kind} ({len(items)}): {'; '.join(items[:SHOWN])}{more}")
        raise DataError("\n".join(lines))


# ---- export --------------------------------------------------------------------------------
def export_csv(ratings: Mapping, catalog: pd.DataFrame) -> str:
    """Ratings as CSV (video_id, title, stars), with titles that a spreadsheet will not run."""
    out = io.StringIO()
    # RFC 4180 line ends: the writer quotes any field holding "\r" or "\n", so a title with a
    # stray carriage return cannot split its row on import.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for vid, title, stars in _rated(ratings, catalog):
        writer.writerow([vid, _defused(title), repr(stars)])
    return out.getvalue()


def export_json(ratings: Mapping, catalog: pd.DataFrame) -> str:
    """Ratings as JSON with a format marker and version, so an import knows what it reads."""
    rows = [dict(zip(COLUMNS, row)) for row in _rated(ratings, catalog)]
    doc = {"format": FORMAT, "version": VERSION, "ratings": rows}
    return json.dumps(doc, ensure_ascii=False, indent=2)


def _rated(ratings: Mapping, catalog: pd.DataFrame) -> list[tuple[int, str, float]]:
    """(id, title, stars) in the order given (the order rated), so an import restores it too;
    a video missing from the catalog gets an empty title."""
    titles = dict(zip(catalog["video_id"].astype(int), catalog["title"].astype(str)))
    return [(int(v), titles.get(int(v), ""), float(s)) for v, s in ratings.items()]


def _defused(title: str) -> str:
    """A leading quote keeps a spreadsheet from reading a title as a formula (CSV injection)."""
    return f"'{title}" if title.startswith(_FORMULA) else title


# ---- import --------------------------------------------------------------------------------
def parse_import(data: bytes, filename: str, catalog: pd.DataFrame) -> dict[int, float]:
    """Ratings from an uploaded CSV or JSON file, all valid, or one DataError listing every problem.

    Rows match by ``video_id`` when it is given, else by exact title (case and spacing ignored).
    """
    name = _clip(filename)
    if len(data) > MAX_BYTES:
        raise DataError(f"{name} is {len(data):,} bytes; the limit is {MAX_BYTES:,}")
    try:
        text = bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"{name} is not UTF-8 text (byte {e.start}); save it as UTF-8") from None
    rows = _json_rows(text, name) if _is_json(filename, text) else _csv_rows(text, name)
    if not rows:
        raise DataError(f"{name} has no ratings in it")
    problems = _Problems()
    ratings = _matched(rows, catalog, problems)
    problems.raise_any(name)
    return ratings


def _is_json(filename: str, text: str) -> bool:
    """By extension; a file named neither .json nor .csv is JSON when it starts like JSON."""
    suffix = str(filename).lower().rsplit(".", 1)[-1]
    if suffix in ("json", "csv"):
        return suffix == "json"
    return text.lstrip()[:1] in ("{", "[")


def _csv_rows(text: str, name: str) -> list[_Row]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        columns = _columns([h.strip().lower() for h in next(reader, [])], name)
        rows = []
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            _check_rows(len(rows) + 1, name)
            cells = [record[i] if i is not None and i < len(record) else None for i in columns]
            rows.append(_Row(f"line {reader.line_num}", *cells))
    except csv.Error as e:
        raise DataError(f"{name} is not readable CSV (line {reader.line_num}): {e}") from None
    return rows


def _columns(header: list[str], name: str) -> list[int | None]:
    """Where video_id, title and stars are in a CSV header (None when absent)."""
    doubled = sorted({h for h in header if h in COLUMNS and header.count(h) > 1})
    if doubled:
        raise DataError(f"{name}: column(s) {', '.join(doubled)} appear more than once")
    if "stars" not in header or not {"video_id", "title"} & set(header):
        found = ", ".join(_clip(h) for h in header[:10]) or "none"
        raise DataError(
            f"{name} needs a header row with a stars column and a video_id or title column "
            f"(found: {found})"
        )
    return [header.index(c) if c in header else None for c in COLUMNS]


def _json_rows(text: str, name: str) -> list[_Row]:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise DataError(f"{name} is not valid JSON: {_clip(e)}") from None
    items = _json_items(doc, name)
    _check_rows(len(items), name)
    rows = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise DataError(f'{name}: item {number} is not like {{"video_id": 1, "stars": 4}}')
        fields = {str(k).strip().lower(): v for k, v in item.items()}
        rows.append(_Row(f"item {number}", *(fields.get(c) for c in COLUMNS)))
    return rows


def _json_items(doc: object, name: str) -> list:
    """The list of rating objects in an export (or in a bare list), checked for its format."""
    if isinstance(doc, list):
        return doc
    if not isinstance(doc, dict) or not isinstance(doc.get("ratings"), list):
        raise DataError(f'{name} should hold {{"format": "{FORMAT}", "ratings": [...]}}')
    if doc.get("format", FORMAT) != FORMAT:
        raise DataError(f"{name} is in format {_clip(doc['format'])}, not {FORMAT}")
    version = doc.get("version", VERSION)
    if type(version) is not int or not 1 <= version <= VERSION:
        raise DataError(f"{name} is format version {_clip(version)}; this app reads {VERSION}")
    return doc["ratings"]


def _check_rows(count: int, name: str) -> None:
    if count > MAX_ROWS:
        raise DataError(f"{name} has more than {MAX_ROWS:,} ratings")


# ---- matching ------------------------------------------------------------------------------
def _matched(rows: list[_Row], catalog: pd.DataFrame, problems: _Problems) -> dict[int, float]:
    """Each row's video and stars; problems collected, conflicting duplicates among them."""
    ids = set(catalog["video_id"].astype(int))
    by_title: dict[str, list[int]] = {}
    for vid, title in zip(catalog["video_id"].astype(int), catalog["title"].astype(str)):
        by_title.setdefault(_title_key(title), []).append(vid)
    out: dict[int, tuple[float, str]] = {}
    for row in rows:
        vid = _video(row, ids, by_title, problems)
        stars = parse_stars(row.stars, text=True)
        if stars is None:
            problems.add("stars not a number from 0.5 to 5", f"{row.where}: {_shown(row.stars)}")
        if vid is None or stars is None:
            continue
        first = out.setdefault(vid, (stars, row.where))
        if first[0] != stars:
            problems.add(
                "videos rated twice with different stars",
                f"video {vid}: {first[0]:g} ({first[1]}) and {stars:g} ({row.where})",
            )
    return {vid: stars for vid, (stars, _) in out.items()}


def _video(
    row: _Row, ids: set[int], by_title: dict[str, list[int]], problems: _Problems
) -> int | None:
    """The catalog id a row names, by id when it has one, else by title; None after a problem."""
    if not _blank(row.video_id):
        vid = _whole_number(row.video_id)
        if vid is None:
            problems.add(
                "video ids that are not whole numbers", f"{row.where}: {_clip(row.video_id)}"
            )
        elif vid not in ids:
            problems.add("unknown video ids", f"{row.where}: {vid}")
        return vid if vid in ids else None
    if _blank(row.title):
        problems.add("rows with neither a video_id nor a title", row.where)
        return None
    found = by_title.get(_title_key(str(row.title)), [])
    if len(found) != 1:
        kind = "unknown titles" if not found else "titles of several videos (give the video_id)"
        problems.add(kind, f"{row.where}: {_clip(row.title)}")
        return None
    return found[0]


def _whole_number(value: object) -> int | None:
    """An id from a JSON integer or a cell of digits (not a float, bool or other text)."""
    if type(value) is int:
        return value if 0 <= value < 2**63 else None
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value.strip())
    return None


def _title_key(title: str) -> str:
    """A title for matching: export quoting undone, case and runs of whitespace ignored."""
    if title.startswith("'") and title[1:].startswith(_FORMULA):
        title = title[1:]
    return " ".join(title.split()).casefold()


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _shown(value: object) -> str:
    return "missing" if _blank(value) else _clip(value)


def _clip(value: object) -> str:
    """A value quoted for a message, cut to CLIP characters, control characters escaped."""
    text = str(value)
    return repr(text if len(text) <= CLIP else text[:CLIP] + "…")
