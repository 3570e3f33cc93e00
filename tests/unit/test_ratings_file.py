"""Ratings export and import: round trips, and imports that list every problem and apply nothing."""

import json

import pandas as pd
import pytest

from vidrec.errors import DataError
from vidrec.viewer.ratings_file import (
    CLIP,
    FORMAT,
    MAX_BYTES,
    MAX_ROWS,
    SHOWN,
    export_csv,
    export_json,
    parse_import,
)

CATALOG = pd.DataFrame(
    {
        "video_id": [1, 2, 3, 4, 5, 6],
        "title": [
            "Toy Story (1995)",
            "GoldenEye (1995)",
            "Four Rooms (1995)",
            '=HYPERLINK("http://evil")',
            "Hamlet (1996)",
            "Hamlet (1996)",
        ],
        "genres": ["Animation", "Action", "Comedy", "Drama", "Drama", "Drama"],
        "year": [1995, 1995, 1995, 2000, 1996, 1996],
    }
)
RATINGS = {1: 5.0, 2: 3.5, 4: 0.5, 6: 4.0}


def _problems(data: str, filename: str = "mine.csv") -> str:
    with pytest.raises(DataError) as caught:
        parse_import(data.encode(), filename, CATALOG)
    return str(caught.value)


@pytest.mark.parametrize("export, name", [(export_csv, "r.csv"), (export_json, "r.json")])
def test_export_then_import_gives_back_the_same_ratings(export, name):
    assert parse_import(export(RATINGS, CATALOG).encode(), name, CATALOG) == RATINGS


def test_csv_export_has_the_columns_and_defuses_formula_titles():
    lines = export_csv(RATINGS, CATALOG).splitlines()
    assert lines[0] == "video_id,title,stars"
    assert lines[1] == "1,Toy Story (1995),5.0"
    assert lines[3].startswith("4,\"'=HYPERLINK(")  # a spreadsheet shows it, does not run it


def test_json_export_carries_its_format_and_version():
    doc = json.loads(export_json({1: 4.0}, CATALOG))
    assert doc == {
        "format": FORMAT,
        "version": 1,
        "ratings": [{"video_id": 1, "title": "Toy Story (1995)", "stars": 4.0}],
    }


def test_titles_match_ignoring_case_and_spacing_when_there_is_no_id():
    data = 'Title,Stars\n  toy   STORY (1995) ,4\n\'=hyperlink("http://evil"),2\n'
    assert parse_import(data.encode(), "mine.csv", CATALOG) == {1: 4.0, 4: 2.0}


def test_an_id_wins_over_a_title_and_blank_ids_fall_back_to_the_title():
    data = "video_id,title,stars\n2,Toy Story (1995),3\n,Four Rooms (1995),1\n"
    assert parse_import(data.encode(), "mine.csv", CATALOG) == {2: 3.0, 3: 1.0}


def test_a_byte_order_mark_and_crlf_lines_are_fine():
    data = "\ufeffvideo_id,stars\r\n1,4\r\n\r\n3,2\r\n".encode()
    assert parse_import(data, "excel.csv", CATALOG) == {1: 4.0, 3: 2.0}


def test_a_file_without_a_known_extension_is_sniffed():
    bare = json.dumps([{"video_id": 1, "stars": 2}]).encode()
    assert parse_import(bare, "upload", CATALOG) == {1: 2.0}
    assert parse_import(b"video_id,stars\n1,2\n", "upload", CATALOG) == {1: 2.0}


def test_identical_duplicates_are_fine():
    assert parse_import(b"video_id,stars\n1,4\n1,4.0\n", "mine.csv", CATALOG) == {1: 4.0}


def test_every_problem_is_listed_in_one_error():
    message = _problems(
        "video_id,title,stars\n"
        "1,,4\n"  # fine
        "99,,4\n"  # unknown id
        ",No Such Film,4\n"  # unknown title
        ",Hamlet (1996),4\n"  # two videos have this title
        "2,,6\n"  # out of range
        "3,,nan\n"  # not finite
        "3,,abc\n"  # not a number
        "5,,\n"  # missing
        "x1,,3\n"  # not an id
        ",,3\n"  # neither id nor title
        "1,,2\n"  # conflicts with line 2
    )
    assert message.startswith("'mine.csv': nothing was imported")
    for expected in [
        "unknown video ids (1): line 3: 99",
        "unknown titles (1): line 4: 'No Such Film'",
        "titles of several videos (give the video_id) (1): line 5: 'Hamlet (1996)'",
        "stars not a number from 0.5 to 5 (4): line 6: '6'; line 7: 'nan'; line 8: 'abc'; "
        "line 9: missing",
        "video ids that are not whole numbers (1): line 10: 'x1'",
        "rows with neither a video_id nor a title (1): line 11",
        "videos rated twice with different stars (1): video 1: 4 (line 2) and 2 (line 12)",
    ]:
        assert expected in message


def test_json_rows_are_checked_the_same_way():
    doc = {"format": FORMAT, "version": 1, "ratings": [{"video_id": 1, "stars": float("inf")}]}
    message = _problems(json.dumps(doc), "mine.json")
    assert "item 1: 'inf'" in message
    message = _problems('[{"video_id": 1, "stars": true}, {"title": 5, "stars": 3}]', "m.json")
    assert "item 1: 'True'" in message and "unknown titles (1): item 2: '5'" in message


def test_long_lists_show_a_few_and_count_the_rest():
    rows = "".join(f"{1000 + n},3\n" for n in range(40))
    message = _problems("video_id,stars\n" + rows)
    assert "unknown video ids (40)" in message
    assert f"… and {40 - SHOWN} more" in message
    assert "1004" in message and "1005" not in message


def test_huge_titles_are_not_echoed_back():
    message = _problems("title,stars\n" + "A" * 100_000 + ",4\n")
    assert "A" * CLIP in message and "A" * (CLIP + 1) not in message
    assert len(message) < 500


def test_oversize_files_are_refused_before_reading():
    message = _problems("video_id,stars\n" + "1,4\n" * (MAX_BYTES // 4 + 1))
    assert "the limit is 1,000,000" in message


def test_too_many_rows_are_refused():
    rows = "1,4\n" * (MAX_ROWS + 1)
    assert f"more than {MAX_ROWS:,}" in _problems("video_id,stars\n" + rows)
    doc = json.dumps([{"video_id": 1, "stars": 4}] * (MAX_ROWS + 1))
    assert f"more than {MAX_ROWS:,}" in _problems(doc, "m.json")


@pytest.mark.parametrize(
    "data, filename, message",
    [
        ("video_id,title\n1,x\n", "m.csv", "needs a header row with a stars column"),
        ("stars\n4\n", "m.csv", "and a video_id or title column"),
        ("stars,stars,video_id\n4,4,1\n", "m.csv", "stars appear more than once"),
        ("", "m.csv", "needs a header row"),
        ("video_id,stars\n", "m.csv", "no ratings"),
        ('{"ratings": [', "m.json", "not valid JSON"),
        ("[" * 100_000, "m.json", "not valid JSON"),
        ('{"format": "other", "ratings": []}', "m.json", "format 'other'"),
        (
            '{"format": "vidrec-ratings", "version": 2, "ratings": []}',
            "m.json",
            "format version '2'",
        ),
        ('{"rows": []}', "m.json", "should hold"),
        ("[1, 2]", "m.json", "item 1 is not like"),
        ("[]", "m.json", "no ratings"),
    ],
)
def test_malformed_files_get_a_clear_error(data, filename, message):
    assert message in _problems(data, filename)


def test_text_that_is_not_utf8_is_refused():
    with pytest.raises(DataError, match="not UTF-8"):
        parse_import("video_id,stars\n1,4\n".encode("utf-16"), "m.csv", CATALOG)


def test_a_pickle_is_just_bad_data():
    data = b"\x80\x04\x95\x15\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x94\x8c\x06system\x94\x93."
    with pytest.raises(DataError):
        parse_import(data, "ratings.pkl", CATALOG)
